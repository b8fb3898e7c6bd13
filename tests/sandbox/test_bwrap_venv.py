"""A virtualenv made under /tmp keeps the local sandbox's minimal filesystem: its interpreter is
bound into the sandbox's private /tmp (it used to be hidden by it; the runner then failed to
start and the sandbox fell back to a confinement that showed the host's files)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import pytest

from tests.sandbox.conftest import bwrap_missing

REPO = Path(__file__).resolve().parents[2]

DRIVER = """
import asyncio, json, sys
from pathlib import Path
from codeevo.config import SandboxConfig, StageConfig
from codeevo.sandbox.base import SandboxJob
from codeevo.sandbox.local import LocalSandbox

async def main():
    sb = LocalSandbox(SandboxConfig(memory_mb=256))
    job = SandboxJob(program="x = 1\\n", entry="p.py", evaluator_dir=Path(sys.argv[1]),
                     evaluator_module="evaluator",
                     stages=(StageConfig(name="main", function="main", timeout=30),),
                     evaluator_config={"secret": sys.argv[2]})
    try:
        r = await sb.evaluate(job)
        print(json.dumps({"how": await sb.describe(), "status": r.status.value,
                          "seen": r.artifacts.get("seen", "")}))
    finally:
        await sb.close()

asyncio.run(main())
"""

EVALUATOR = """
def main(ctx):
    try:
        seen = open(ctx.config["secret"]).read()
    except OSError as exc:
        seen = "denied: " + type(exc).__name__
    return {"score": 1.0, "artifacts": {"seen": seen}}
"""


def test_an_interpreter_under_tmp_keeps_the_minimal_filesystem() -> None:
    bwrap_missing()
    if os.geteuid() != 0:
        pytest.skip("the fresh-uid confinement under test needs root")
    scratch = Path(tempfile.mkdtemp(prefix="codeevo-venv-", dir="/tmp"))
    try:
        scratch.chmod(0o755)
        venv = scratch / "venv"
        subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", "--without-pip",
                        str(venv)], check=True)
        (scratch / "ev").mkdir()
        (scratch / "ev" / "evaluator.py").write_text(textwrap.dedent(EVALUATOR))
        secret = scratch / "host.txt"
        secret.write_text("host-secret-7c1")
        secret.chmod(0o644)
        out = subprocess.run(
            [str(venv / "bin" / "python"), "-c", DRIVER, str(scratch / "ev"), str(secret)],
            env={**os.environ, "PYTHONPATH": str(REPO)}, capture_output=True, text=True,
            timeout=120)
        assert out.returncode == 0, out.stderr[-2000:]
        got = json.loads(out.stdout.strip().splitlines()[-1])
        assert "bubblewrap" in got["how"], got
        assert got["status"] == "ok", got
        assert "host-secret" not in got["seen"], got
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
