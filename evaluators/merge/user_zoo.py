"""Bring your own zoo: real checkpoints plus an evaluation script you supply.

A user zoo is a folder::

    my_zoo/
      base.safetensors           the pre-trained model
      experts/*.safetensors      the fine-tuned models (sorted by file name = expert order)
      evaluate.py                your scorer (contract below)
      data/...                   anything evaluate.py reads (secret: never shown to candidates)

Set ``evaluator.config.user_zoo: /abs/path/to/my_zoo`` in problem.yaml (or ``--set``). The
prepare hook (host) converts the checkpoints to float32 ``.npz`` and ships ``evaluate.py`` and
``data/`` as secret assets. ``evaluate.py`` must define::

    def load(folder: pathlib.Path) -> object
        # called once in setup, before the assets are deleted: read your data into memory
    def score(state, weights: dict[str, torch.Tensor], split: str) -> float | dict
        # split is "val" or "test"; higher is better (e.g. normalized accuracy in [0, 1]);
        # a dict needs "score" and may add "worst" (worst task) and other float metrics

The fair protocol applies unchanged: λ picked on ``score(.., "val")``, reported on "test".
It runs inside the sandbox (torch 1.13 / numpy 1.24 in the Docker image; no safetensors).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import torch


def load_user(folder: Path) -> tuple[Any, Any]:
    """(module, state) of the user's evaluate.py, loaded from the assets folder."""
    spec = importlib.util.spec_from_file_location("merge_user_evaluate", folder / "evaluate.py")
    if spec is None or spec.loader is None:
        raise ImportError(f"{folder / 'evaluate.py'}: cannot be imported")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    for fn in ("load", "score"):
        if not callable(getattr(mod, fn, None)):
            raise TypeError(f"user evaluate.py must define {fn}()")
    return mod, mod.load(folder)


def _value(out: Any) -> tuple[float, dict[str, float]]:
    if isinstance(out, dict):
        return float(out["score"]), {k: float(v) for k, v in out.items() if k != "score"}
    return float(out), {}


def score_user(mod: Any, state: Any, base: dict[str, torch.Tensor],
               merged: dict[str, torch.Tensor], scales: tuple[float, ...]) -> dict[str, float]:
    """Metrics for one merged model under the fair protocol (λ on val, reported on test)."""
    best: tuple[float, float] | None = None
    for lam in scales:
        w = {n: base[n] + lam * (merged[n] - base[n]) for n in base}
        val, _ = _value(mod.score(state, w, "val"))
        if best is None or val > best[1] + 1e-12:
            best = (lam, val)
    assert best is not None
    w = {n: base[n] + best[0] * (merged[n] - base[n]) for n in base}
    test, extra = _value(mod.score(state, w, "test"))
    pre, _ = _value(mod.score(state, base, "test"))
    den = 1.0 - pre
    return {
        "normalized_acc": test, "pretrained_acc": pre, "scale": best[0],
        "gap_closed": (test - pre) / den if abs(den) > 1e-9 else 0.0,
        "worst_task": extra.pop("worst", test), **extra,
    }
