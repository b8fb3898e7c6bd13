"""A driver killed with SIGKILL takes its runners along: within 2 s no candidate process and
no running container of it is left (local, Docker fresh and warm). The driver is a real
subprocess; its candidate is found by its program's name (template children carry it in
their command line)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.sandbox.conftest import containers_of
from tests.sandbox.hostile.harness import processes_mentioning

REPO = Path(__file__).resolve().parents[2]
LIMIT_S = 2.0  # issue 12: the runner ends itself and its container within 2 s

DRIVER = """
import asyncio, os, sys
from pathlib import Path
from codeevo.config import SandboxConfig, StageConfig
from codeevo.sandbox.base import SandboxJob

kind, warm, evaluator = sys.argv[1], sys.argv[2] == "warm", Path(sys.argv[3])
entry = os.environ["PROBE_ENTRY"]  # not on our own command line: the probe looks there
job = SandboxJob(program="import time\\ndef f():\\n    time.sleep(300)\\n", entry=entry,
                 evaluator_dir=evaluator, evaluator_module="evaluator",
                 stages=(StageConfig(name="s", function="run", timeout=300),))

async def main():
    cfg = SandboxConfig(warm_pool=warm, memory_mb=256)
    if kind == "local":
        from codeevo.sandbox.local import LocalSandbox
        sb = LocalSandbox(cfg)
    else:
        from codeevo.sandbox.docker import DockerSandbox
        sb = DockerSandbox(cfg, kind)
    await sb.evaluate(job)

asyncio.run(main())
"""

EVALUATOR = """
def run(ctx):
    ctx.run_candidate("f", timeout=290)
    return {"score": 0.0}
"""


def start_driver(tmp_path: Path, kind: str, warm: bool) -> tuple[subprocess.Popen[bytes], str]:
    (tmp_path / "evaluator.py").write_text(textwrap.dedent(EVALUATOR))
    entry = f"orphan_probe_{uuid.uuid4().hex[:8]}.py"
    proc = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(DRIVER), kind, "warm" if warm else "fresh",
         str(tmp_path)],
        env={**os.environ, "PYTHONPATH": str(REPO), "PROBE_ENTRY": entry},
    )
    deadline = time.monotonic() + 120
    while not processes_mentioning(entry):
        assert proc.poll() is None, "driver exited early"
        assert time.monotonic() < deadline, "the candidate never started"
        time.sleep(0.1)
    return proc, entry


def running_containers(client: Any, pid: int) -> list[str]:
    return [cid for cid in containers_of(client, pid)
            if client.api.inspect_container(cid)["State"].get("Running")]


def gone_within(check: Any, seconds: float) -> float | None:
    """Seconds until `check()` is empty, or None if it never was within `seconds`."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < seconds:
        if not check():
            return time.monotonic() - t0
        time.sleep(0.05)
    return None


def test_local_runner_dies_with_its_driver(tmp_path: Path) -> None:
    proc, entry = start_driver(tmp_path, "local", warm=True)
    proc.kill()
    proc.wait(timeout=30)
    took = gone_within(lambda: processes_mentioning(entry), LIMIT_S)
    assert took is not None, f"candidate {entry} still running {LIMIT_S} s after kill -9"


@pytest.mark.docker
@pytest.mark.parametrize("warm", [False, True], ids=["fresh", "warm"])
def test_container_ends_with_its_driver(tmp_path: Path, cpu_image: str, docker_client: Any,
                                        warm: bool) -> None:
    proc, entry = start_driver(tmp_path, cpu_image, warm)
    assert containers_of(docker_client, proc.pid)
    proc.kill()
    proc.wait(timeout=30)
    took = gone_within(lambda: processes_mentioning(entry)
                       or running_containers(docker_client, proc.pid), LIMIT_S)
    assert took is not None, "the container kept running after its driver was killed"
    # AutoRemove: nothing is left for the next start to reap either.
    assert gone_within(lambda: containers_of(docker_client, proc.pid), 30) is not None
