"""No container outlives its driver: Ctrl-C and SIGTERM remove them on the way out; after
SIGKILL they end themselves (tests/sandbox/test_driver_death.py) and the next sandbox to start
reaps whatever is left. The driver runs in a real subprocess."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

from codeevo.config import SandboxConfig
from codeevo.sandbox.docker import DockerSandbox
from tests.sandbox.conftest import containers_of

pytestmark = pytest.mark.docker

REPO = Path(__file__).resolve().parents[2]

DRIVER = """
import asyncio, sys
from pathlib import Path
from codeevo.config import SandboxConfig, StageConfig
from codeevo.sandbox.base import SandboxJob
from codeevo.sandbox.docker import DockerSandbox

image, warm, evaluator = sys.argv[1], sys.argv[2] == "warm", Path(sys.argv[3])
job = SandboxJob(program="x = 1\\n", entry="program.py", evaluator_dir=evaluator,
                 evaluator_module="evaluator",
                 stages=(StageConfig(name="s", function="hang", timeout=300),))

async def main():
    sb = DockerSandbox(SandboxConfig(warm_pool=warm, memory_mb=256), image)
    try:
        await asyncio.gather(sb.evaluate(job), sb.evaluate(job))
    finally:
        await sb.close()

asyncio.run(main())
"""

EVALUATOR = """
import time
def hang(ctx):
    time.sleep(300)
    return {"score": 0.0}
"""


def driver_containers(client: Any, pid: int) -> list[str]:
    return containers_of(client, pid)


def start_driver(tmp_path: Path, image: str, warm: bool, client: Any) -> subprocess.Popen[bytes]:
    (tmp_path / "evaluator.py").write_text(textwrap.dedent(EVALUATOR))
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(DRIVER), image, "warm" if warm else "fresh",
         str(tmp_path)],
        env=env,
    )
    deadline = time.monotonic() + 60
    while len(driver_containers(client, proc.pid)) < 2:
        assert proc.poll() is None, "driver exited early"
        assert time.monotonic() < deadline, "driver never started its containers"
        time.sleep(0.2)
    time.sleep(0.5)  # let the evaluations get under way
    return proc


@pytest.mark.parametrize(
    ("sig", "warm"),
    [(signal.SIGINT, False), (signal.SIGTERM, False), (signal.SIGTERM, True)],
    ids=["sigint", "sigterm", "sigterm-warm"],
)
def test_interrupt_leaves_no_container(tmp_path: Path, cpu_image: str, docker_client: Any,
                                       sig: signal.Signals, warm: bool) -> None:
    proc = start_driver(tmp_path, cpu_image, warm, docker_client)
    t0 = time.monotonic()
    proc.send_signal(sig)
    try:
        proc.wait(timeout=30)
    finally:
        proc.kill()
    assert time.monotonic() - t0 < 20, "shutdown waited for the evaluations' deadlines"
    assert proc.returncode != 0
    assert driver_containers(docker_client, proc.pid) == []


def test_sigkill_leftovers_are_reaped_at_next_start(tmp_path: Path, cpu_image: str,
                                                    docker_client: Any) -> None:
    proc = start_driver(tmp_path, cpu_image, True, docker_client)
    proc.kill()
    proc.wait(timeout=30)
    # kill -9 runs no clean-up in the driver; its runners end themselves (AutoRemove), and
    # whatever is still listed (a removal under way, a container stuck) is the reaper's.
    sb = DockerSandbox(SandboxConfig(), cpu_image, client=docker_client)  # the next start
    try:
        assert driver_containers(docker_client, proc.pid) == []
    finally:
        sb._close_sync()
