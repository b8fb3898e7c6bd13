"""Host-side hook: build (or reuse) the zoos of the configured split and return the assets folder.

Each zoo is cached under ``<cache_dir>/merge-zoo/<sha of its spec>/``; the assets folder
``<cache_dir>/merge-assets/<sha of the zoo list>/`` holds, per zoo ``i``:
``weights_<i>.npz`` (base + experts: the only thing a candidate ever receives),
``eval_<i>.npz`` (frozen heads, val/test data: evaluator only) and ``manifest.json``.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from presets import zoo_specs  # type: ignore[import-not-found]  # noqa: E402
from zoo import ZooSpec, build_zoo  # type: ignore[import-not-found]  # noqa: E402

import numpy as np  # noqa: E402


def spec_hash(data: Any) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:20]


def cached_zoo(spec: ZooSpec, cache_dir: Path) -> Path:
    """The folder of a built zoo, building it on a cache miss (atomically, by rename)."""
    final = cache_dir / "merge-zoo" / spec_hash(spec.key())
    if (final / "meta.json").is_file():
        return final
    tmp = final.with_name(final.name + f".tmp{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    build_zoo(spec, tmp)
    try:
        tmp.rename(final)
    except OSError:  # another process built it first
        shutil.rmtree(tmp, ignore_errors=True)
    return final


def prepare(config: dict[str, Any], cache_dir: Path) -> Path:
    specs = zoo_specs(config)
    keys = [s.key() for s in specs]
    out = cache_dir / "merge-assets" / spec_hash(keys)
    if (out / "manifest.json").is_file():
        return out
    tmp = out.with_name(out.name + f".tmp{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    zoos = []
    for i, spec in enumerate(specs):
        folder = cached_zoo(spec, cache_dir)
        meta = json.loads((folder / "meta.json").read_text())
        with np.load(folder / "zoo.npz") as arrays:
            weights = {k: arrays[k] for k in arrays.files if k.startswith(("base/", "expert"))}
            private = {k: arrays[k] for k in arrays.files if k not in weights}
        np.savez(tmp / f"weights_{i}.npz", **weights)
        np.savez(tmp / f"eval_{i}.npz", **private)
        zoos.append({"seed": spec.seed, "tasks": meta["tasks"], "names": meta["names"],
                     "expert_acc": meta["expert_acc"], "pretrained_acc": meta["pretrained_acc"]})
    (tmp / "manifest.json").write_text(json.dumps({"zoos": zoos}, indent=1) + "\n")
    try:
        tmp.rename(out)
    except OSError:
        shutil.rmtree(tmp, ignore_errors=True)
    return out
