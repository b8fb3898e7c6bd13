"""Score merged backbones on a zoo's tasks (runs inside the sandbox: torch 1.13, numpy 1.24).

The fair protocol, identical for every method: the merged task vector ``merged - base`` is
scaled by each λ of a small grid; λ is chosen by mean normalized accuracy on the validation
split and the result is reported on the test split. Normalized accuracy of a task = merged
accuracy / expert accuracy (test split for test, validation split for validation).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from models import features  # type: ignore[import-not-found]

DEFAULT_SCALES = (0.5, 0.75, 1.0, 1.25, 1.5, 2.0)


@dataclass(frozen=True)
class Zoo:
    """One zoo in memory: weights, frozen heads and per-task val/test data (on `device`)."""

    names: list[str]
    base: dict[str, torch.Tensor]
    experts: list[dict[str, torch.Tensor]]
    heads: list[tuple[torch.Tensor, torch.Tensor]]
    data: dict[str, list[tuple[torch.Tensor, torch.Tensor]]]  # "val"/"test" -> per task (x, y)
    tasks: list[str]
    model: dict[str, Any] = field(default_factory=lambda: {"family": "mlp"})  # see models.py


def load_zoo(arrays: Any, names: list[str], tasks: list[str], device: str,
             model: dict[str, Any] | None = None) -> Zoo:
    """Build a Zoo from the arrays of a zoo.npz (a mapping name -> array)."""

    def t(key: str) -> torch.Tensor:
        return torch.from_numpy(np.array(arrays[key])).to(device)

    k = len(tasks)
    return Zoo(
        names=names,
        base={n: t(f"base/{n}") for n in names},
        experts=[{n: t(f"expert{i}/{n}") for n in names} for i in range(k)],
        heads=[(t(f"head{i}/W"), t(f"head{i}/b")) for i in range(k)],
        data={s: [(t(f"{s}{i}/x"), t(f"{s}{i}/y")) for i in range(k)] for s in ("val", "test")},
        tasks=tasks,
        model=dict(model or {"family": "mlp"}),
    )


def forward(zoo: Zoo, weights: dict[str, torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    """Backbone features in batches (bounded memory for the transformer zoos)."""
    return torch.cat([features(zoo.model, weights, x[i : i + 1024])
                      for i in range(0, len(x), 1024)])


@torch.no_grad()
def accuracies(zoo: Zoo, weights: dict[str, torch.Tensor], split: str) -> list[float]:
    """Accuracy of one backbone on every task of the zoo (each with its frozen head)."""
    out = []
    for (w, b), (x, y) in zip(zoo.heads, zoo.data[split], strict=False):
        pred = (forward(zoo, weights, x) @ w.t() + b).argmax(1)
        out.append(float((pred == y).float().mean()))
    return out


@dataclass(frozen=True)
class ZooScore:
    """Test results of one merged model on one zoo, at the λ chosen on validation."""

    scale: float
    normalized: float  # mean over tasks of merged / expert test accuracy
    pretrained: float  # same for the pre-trained backbone
    per_task: list[float]  # normalized test accuracy per task

    @property
    def gap_closed(self) -> float:
        """Share of the pre-trained → experts gap that merging closes (1 = expert level)."""
        den = 1.0 - self.pretrained
        return (self.normalized - self.pretrained) / den if den > 1e-9 else 0.0

    @property
    def worst(self) -> float:
        return min(self.per_task)


@torch.no_grad()
def expert_accuracies(zoo: Zoo, split: str) -> list[float]:
    out = []
    for k, (w, b) in enumerate(zoo.heads):
        x, y = zoo.data[split][k]
        pred = (forward(zoo, zoo.experts[k], x) @ w.t() + b).argmax(1)
        out.append(max(float((pred == y).float().mean()), 1e-6))
    return out


@torch.no_grad()
def score_merged(
    zoo: Zoo,
    merged: dict[str, torch.Tensor],
    scales: tuple[float, ...] = DEFAULT_SCALES,
    experts: dict[str, list[float]] | None = None,
) -> ZooScore:
    """Choose λ on validation, report on test (the fair protocol)."""
    experts = experts or {s: expert_accuracies(zoo, s) for s in ("val", "test")}
    best: tuple[float, float] | None = None
    for lam in scales:
        w = {n: zoo.base[n] + lam * (merged[n] - zoo.base[n]) for n in zoo.names}
        accs = accuracies(zoo, w, "val")
        val = float(np.mean([a / e for a, e in zip(accs, experts["val"], strict=False)]))
        if best is None or val > best[1] + 1e-12:
            best = (lam, val)
    assert best is not None
    lam = best[0]
    w = {n: zoo.base[n] + lam * (merged[n] - zoo.base[n]) for n in zoo.names}
    per_task = [a / e for a, e in zip(accuracies(zoo, w, "test"), experts["test"], strict=False)]
    pre = [a / e for a, e in zip(accuracies(zoo, zoo.base, "test"), experts["test"], strict=False)]
    return ZooScore(lam, float(np.mean(per_task)), float(np.mean(pre)), per_task)


def check_merged(zoo: Zoo, merged: Any) -> str | None:
    """None when `merged` is a complete, finite, well-shaped state dict; else the reason."""
    if not isinstance(merged, dict):
        return f"merged model is a {type(merged).__name__}, expected a dict of tensors"
    for n in zoo.names:
        if n not in merged:
            return f"merged model lacks tensor {n!r}"
        t = merged[n]
        if not isinstance(t, torch.Tensor):
            return f"tensor {n!r} is a {type(t).__name__}, not a torch.Tensor"
        if tuple(t.shape) != tuple(zoo.base[n].shape):
            return f"tensor {n!r} has shape {tuple(t.shape)}, expected {tuple(zoo.base[n].shape)}"
        if not bool(torch.isfinite(t).all()):
            return f"tensor {n!r} holds NaN or infinite values"
    return None


def finite(x: float) -> float:
    return x if math.isfinite(x) else 0.0
