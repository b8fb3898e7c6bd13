"""Host-side hook: build (or reuse) the zoos of the configured split and return the assets folder.

Each zoo is cached under ``<cache_dir>/merge-zoo/<sha of its spec>/``; the assets folder
``<cache_dir>/merge-assets/<sha of the zoo list>/`` holds, per zoo ``i``:
``weights_<i>.npz`` (base + experts: the only thing a data-free candidate receives),
``eval_<i>.npz`` (frozen heads, val/test data: evaluator only), on the data-assisted track
``calib_<i>.npz`` (unlabeled training inputs + heads, see ``calibration.py``) and
``manifest.json``. Zoos of any family (``families.ZooSpecLike``) are built by their spec.
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

import numpy as np  # noqa: E402
from calibration import calibration_set, per_task  # type: ignore[import-not-found]  # noqa: E402
from families import ZooSpecLike  # type: ignore[import-not-found]  # noqa: E402
from presets import split_zoos  # type: ignore[import-not-found]  # noqa: E402


def _private(path: Path) -> Path:
    """Create `path` readable by its owner only: the zoo's data and heads are secret, and a
    local-sandbox candidate runs as another uid."""
    path.mkdir(parents=True, exist_ok=True)
    path.chmod(0o700)
    return path


def spec_hash(data: Any) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:20]


def cached_zoo(spec: ZooSpecLike, cache_dir: Path) -> Path:
    """The folder of a built zoo, building it on a cache miss (atomically, by rename)."""
    final = _private(cache_dir / "merge-zoo") / spec_hash(spec.key())
    if (final / "meta.json").is_file():
        return final
    tmp = final.with_name(final.name + f".tmp{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    import torch

    # One thread: the same zoo on any machine (reductions split over threads round
    # differently), and no spinning second thread on a machine whose cores are busy (a
    # transformer zoo built 10x slower with two threads on two busy cores).
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        spec.build(tmp)
    finally:
        torch.set_num_threads(threads)
    try:
        tmp.rename(final)
    except OSError:  # another process built it first
        shutil.rmtree(tmp, ignore_errors=True)
    return final


def prepare_user_zoo(folder: Path, cache_dir: Path) -> Path:
    """Assets for a bring-your-own zoo (see user_zoo.py): npz weights + the user's scorer."""
    from safetensors.numpy import load_file

    folder = folder.expanduser().resolve()
    base_file = folder / "base.safetensors"
    experts = sorted((folder / "experts").glob("*.safetensors"))
    script = folder / "evaluate.py"
    for need in (base_file, script):
        if not need.is_file():
            raise ValueError(f"user zoo {folder}: missing {need.name}")
    if not experts:
        raise ValueError(f"user zoo {folder}: no experts/*.safetensors")
    files = [base_file, *experts, script, *sorted(p for p in (folder / "data").rglob("*")
                                                  if p.is_file())]
    key = [[str(p), p.stat().st_size, p.stat().st_mtime_ns] for p in files]
    out = _private(cache_dir / "merge-user") / spec_hash(key)
    if (out / "manifest.json").is_file():
        return out
    tmp = out.with_name(out.name + f".tmp{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    (tmp / "user").mkdir(parents=True)
    base = load_file(str(base_file))
    weights = {f"base/{n}": v.astype(np.float32) for n, v in base.items()}
    for k, path in enumerate(experts):
        for n, v in load_file(str(path)).items():
            if n not in base or v.shape != base[n].shape:
                raise ValueError(f"user zoo: {path.name}: tensor {n!r} does not match base")
            weights[f"expert{k}/{n}"] = v.astype(np.float32)
    np.savez(tmp / "weights_0.npz", **weights)
    shutil.copy(script, tmp / "user" / "evaluate.py")
    if (folder / "data").is_dir():
        shutil.copytree(folder / "data", tmp / "user" / "data")
    manifest = {"user": True, "zoos": [{"seed": 0, "names": list(base),
                                        "tasks": [p.stem for p in experts]}]}
    (tmp / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    try:
        tmp.rename(out)
    except OSError:
        shutil.rmtree(tmp, ignore_errors=True)
    return out


def prepare(config: dict[str, Any], cache_dir: Path) -> Path:
    """Assets for the configured split (or for a bring-your-own zoo, ``user_zoo``)."""
    calib = per_task(config)
    if config.get("user_zoo"):
        if calib:
            raise ValueError("evaluator.config.calibration: not available with user_zoo (the "
                             "data-assisted track needs a built-in zoo's forward pass)")
        return prepare_user_zoo(Path(str(config["user_zoo"])), cache_dir)
    labelled = split_zoos(config)
    keys: Any = {"zoos": [s.key() for _, s in labelled], "labels": [label for label, _ in labelled],
                 "manifest": 3}
    if calib:
        keys["calibration"] = calib
    out = _private(cache_dir / "merge-assets") / spec_hash(keys)
    if (out / "manifest.json").is_file():
        return out
    tmp = out.with_name(out.name + f".tmp{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    zoos = []
    for i, (label, spec) in enumerate(labelled):
        folder = cached_zoo(spec, cache_dir)
        meta = json.loads((folder / "meta.json").read_text())
        with np.load(folder / "zoo.npz") as arrays:
            weights = {k: arrays[k] for k in arrays.files if k.startswith(("base/", "expert"))}
            private = {k: arrays[k] for k in arrays.files if k not in weights}
        np.savez(tmp / f"weights_{i}.npz", **weights)
        np.savez(tmp / f"eval_{i}.npz", **private)
        zoos.append({"label": label, "seed": spec.seed, "tasks": meta["tasks"],
                     "names": meta["names"], "model": spec.model(),
                     "expert_acc": meta["expert_acc"], "pretrained_acc": meta["pretrained_acc"]})
        if calib:
            arrays, picked = calibration_set(spec, calib, private)
            np.savez(tmp / f"calib_{i}.npz", **arrays)
            zoos[-1]["calibration_ids"] = picked
    # time_limit and the stage timeouts are for the search split: a split of more zoos (the
    # held-out suite: 10 digits zoos against 5, 8 transformer zoos against 3) gets as much time
    # per zoo (codeevo.assets.time_scale multiplies the stage timeouts, the evaluator time_limit).
    search = (len(split_zoos({**config, "split": "search"}))
              if config.get("split", "search") != "search" else len(labelled))
    manifest = {"zoos": zoos, "calibration": calib,
                "time_scale": max(1.0, len(labelled) / max(1, search))}
    (tmp / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    try:
        tmp.rename(out)
    except OSError:
        shutil.rmtree(tmp, ignore_errors=True)
    return out
