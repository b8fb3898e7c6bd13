"""Shared fixtures: the default zoo (built once, cached content-addressed like a real run)."""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
EVALUATOR = ROOT / "evaluators" / "merge"
PROBLEM = ROOT / "problems" / "merge"

if str(EVALUATOR) not in sys.path:
    sys.path.insert(0, str(EVALUATOR))


def load_program(path: Path) -> ModuleType:
    """Import a baseline program (trusted test input) as a module."""
    spec = importlib.util.spec_from_file_location(f"_prog_{path.stem}", path)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="session")
def cache_dir() -> Path:
    """The real cache (CODEEVO_CACHE or ~/.cache/codeevo): zoos are content-addressed."""
    from codeevo.assets import cache_root

    root = cache_root() / "assets"
    root.mkdir(parents=True, exist_ok=True)
    return root


@pytest.fixture(scope="session")
def default_assets(cache_dir: Path) -> Path:
    import prepare  # type: ignore[import-not-found]

    return Path(prepare.prepare({}, cache_dir))


@pytest.fixture(scope="session")
def default_zoos(default_assets: Path) -> list[Any]:
    import json

    import numpy as np
    from scoring import expert_accuracies, load_zoo  # type: ignore[import-not-found]

    manifest = json.loads((default_assets / "manifest.json").read_text())
    out = []
    for i, info in enumerate(manifest["zoos"]):
        with np.load(default_assets / f"weights_{i}.npz") as w, \
                np.load(default_assets / f"eval_{i}.npz") as e:
            arrays = {**{k: w[k] for k in w.files}, **{k: e[k] for k in e.files}}
        zoo = load_zoo(arrays, info["names"], info["tasks"], "cpu")
        out.append((zoo, {s: expert_accuracies(zoo, s) for s in ("val", "test")}))
    return out


os.environ.setdefault("OMP_NUM_THREADS", "2")


def load_zoos(assets: Path, calibration: bool = False) -> list[Any]:
    """(zoo, expert accuracies[, Calibration]) per zoo of a prepared assets folder."""
    import json

    import numpy as np
    import torch
    from models import Calibration  # type: ignore[import-not-found]
    from scoring import expert_accuracies, load_zoo  # type: ignore[import-not-found]

    manifest = json.loads((assets / "manifest.json").read_text())
    out = []
    for i, info in enumerate(manifest["zoos"]):
        with np.load(assets / f"weights_{i}.npz") as w, np.load(assets / f"eval_{i}.npz") as e:
            arrays = {**{k: w[k] for k in w.files}, **{k: e[k] for k in e.files}}
        zoo = load_zoo(arrays, info["names"], info["tasks"], "cpu", info.get("model"))
        entry: tuple[Any, ...] = (zoo, {s: expert_accuracies(zoo, s) for s in ("val", "test")})
        if calibration:
            k = len(info["tasks"])
            with np.load(assets / f"calib_{i}.npz") as c:
                calib = Calibration(
                    zoo.model, [torch.from_numpy(c[f"x{t}"]) for t in range(k)],
                    [(torch.from_numpy(c[f"head{t}/W"]), torch.from_numpy(c[f"head{t}/b"]))
                     for t in range(k)])
            entry = (*entry, calib)
        out.append(entry)
    return out


def merged_by(program: ModuleType, zoo: Any, calib: Any = None) -> dict[str, Any]:
    """What a baseline program returns on one zoo (data-assisted ones get `calib`)."""
    import torch

    if calib is not None:
        merged = program.merge_model(zoo.base, zoo.experts, calib)
        return {n: t.detach() for n, t in merged.items()}
    with torch.no_grad():
        return {n: program.merge_tensor(zoo.base[n], [e[n] for e in zoo.experts], n)
                for n in zoo.names}
