"""A problem that needs an optional extra says which, in one line, exit 2 (no traceback)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# Run the CLI with torch made unimportable, as after a plain `pip install -e .`.
NO_TORCH = ("import sys; sys.modules['torch'] = None; from codeevo.cli import main; "
            "sys.exit(main(sys.argv[1:]))")


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-c", NO_TORCH, *args], capture_output=True,
                          text=True, timeout=120, cwd=ROOT, env=env)


def test_eval_and_run_of_the_merge_problem_without_torch(tmp_path: Path) -> None:
    for args in (["eval", "problems/merge", "--sandbox", "local"],
                 ["run", "problems/merge", "--out", str(tmp_path / "m")]):
        r = _cli(*args)
        assert r.returncode == 2, r.stderr
        assert r.stderr.strip() == ("codeevo: error: problem merge needs torch, not installed "
                                    "here: pip install 'codeevo[merge]'")
    assert not (tmp_path / "m").exists()


def test_any_command_reaching_an_extra_module_names_the_extra(tmp_path: Path) -> None:
    for name in ("base", "a"):
        (tmp_path / f"{name}.safetensors").write_bytes(b"")
    r = _cli("merge", "--method", "problems/merge/baselines/task_arithmetic.py",
             "--base", str(tmp_path / "base.safetensors"),
             "--experts", str(tmp_path / "a.safetensors"), "--out", str(tmp_path / "m.st"))
    assert r.returncode == 2, r.stderr
    assert "pip install 'codeevo[merge]'" in r.stderr and "Traceback" not in r.stderr
