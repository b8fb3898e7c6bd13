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
