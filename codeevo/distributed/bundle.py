"""The evaluator folder and secret assets as one tar, put in Ray's object store once per run.

On a node the tar is unpacked into the node host's private folder (mode 0700, removed when
the host stops) and from there handled exactly as locally: each job's sandbox copies it into
its runner, which deletes ``assets/`` before any candidate process starts.
"""

from __future__ import annotations

import hashlib
import io
import tarfile
from dataclasses import dataclass
from pathlib import Path

EVALUATOR = "evaluator"
ASSETS = "assets"


@dataclass(frozen=True)
class Bundle:
    """A packed evaluator (+ assets): its content key and bytes."""

    key: str
    data: bytes
    has_assets: bool


def pack(evaluator_dir: Path, assets_dir: Path | None) -> Bundle:
    """Tar `evaluator_dir` (no ``__pycache__``, no symlinks) and `assets_dir`."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        _add(tar, evaluator_dir, EVALUATOR)
        if assets_dir is not None:
            _add(tar, assets_dir, ASSETS)
    data = buf.getvalue()
    return Bundle(hashlib.sha256(data).hexdigest()[:32], data, assets_dir is not None)


def _add(tar: tarfile.TarFile, root: Path, arcname: str) -> None:
    info = tarfile.TarInfo(arcname)
    info.type = tarfile.DIRTYPE
    info.mode = 0o700
    tar.addfile(info)
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if "__pycache__" in rel.parts or path.is_symlink():
            continue
        if path.is_dir() or path.is_file():
            tar.add(path, f"{arcname}/{rel.as_posix()}", recursive=False)


def unpack(data: bytes, dest: Path) -> tuple[Path, Path | None]:
    """Unpack into `dest` (made 0700); return the evaluator and assets folders."""
    dest.mkdir(mode=0o700, parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(data), mode="r") as tar:
        tar.extractall(dest, filter="data")
    assets = dest / ASSETS
    return dest / EVALUATOR, assets if assets.is_dir() else None
