"""The evaluator + assets bundle: one tar, a content key, unpacked private."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from codeevo.distributed import bundle


def test_pack_unpack_round_trip(tmp_path: Path) -> None:
    ev = tmp_path / "ev"
    (ev / "pkg" / "__pycache__").mkdir(parents=True)
    (ev / "evaluator.py").write_text("def f(ctx): ...\n")
    (ev / "pkg" / "helper.py").write_text("X = 1\n")
    (ev / "pkg" / "__pycache__" / "helper.pyc").write_bytes(b"junk")
    os.symlink("/etc/passwd", ev / "link")
    assets = tmp_path / "assets"
    assets.mkdir()
    (assets / "secret.bin").write_bytes(b"\x00secret")
    packed = bundle.pack(ev, assets)
    assert packed.has_assets and len(packed.key) == 32
    assert bundle.pack(ev, assets).key == packed.key  # content-addressed
    evaluator, got_assets = bundle.unpack(packed.data, tmp_path / "out" / packed.key)
    assert (evaluator / "evaluator.py").read_text() == "def f(ctx): ...\n"
    assert (evaluator / "pkg" / "helper.py").read_text() == "X = 1\n"
    assert not (evaluator / "pkg" / "__pycache__").exists()
    assert not (evaluator / "link").exists()  # no symlink travels
    assert got_assets is not None and (got_assets / "secret.bin").read_bytes() == b"\x00secret"
    mode = stat.S_IMODE((tmp_path / "out" / packed.key).stat().st_mode)
    assert mode == 0o700

    only = bundle.pack(ev, None)
    assert not only.has_assets and only.key != packed.key
    assert bundle.unpack(only.data, tmp_path / "o2")[1] is None
