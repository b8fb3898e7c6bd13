"""DockerSandbox against the real engine: results, owned deadlines, OOM, capped output, warm
pool reuse and recycling, cancellation and close, the GPU failure path, the reaper."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

from codeevo.candidate import Status
from codeevo.config import SandboxConfig, StageConfig
from codeevo.sandbox import reaper
from codeevo.sandbox.base import SandboxJob
from codeevo.sandbox.docker import DockerSandbox, DockerUnavailableError, gpu_runtime
from tests.sandbox.conftest import our_containers

pytestmark = pytest.mark.docker

EVALUATOR = '''
import json, os, signal, sys, time

def score(ctx):
    run = ctx.run_candidate("f")
    if run.status != "ok":
        return {"score": 0.0, "status": "failed", "reason": run.error or run.status}
    return {"score": float(run.value) + 1, "metrics": {"uid": float(os.getuid())}}

def hang(ctx):
    signal.signal(signal.SIGALRM, signal.SIG_IGN)  # defeat the runner's own stage alarm
    while True:
        try:
            time.sleep(60)
        except BaseException:
            pass

def hog(ctx):
    blocks = []
    while True:
        blocks.append(bytearray(16 * 1024 * 1024))

def flood(ctx):
    chunk = "z" * 65536 + "\\n"
    for _ in range(300):
        sys.stdout.write(chunk)
        sys.stderr.write(chunk)
    return {"score": 1.0}

CALLS = [0]

def counted(ctx):
    CALLS[0] += 1
    run = ctx.run_candidate("f")
    return {"score": 1.0, "metrics": {"calls": float(CALLS[0])},
            "artifacts": {"seen": json.dumps(run.value)}}
'''

# A candidate that leaves a daemon (own session, no marker) and files for the next one.
LEAVE_BEHIND = """
import os, subprocess, sys, time
def f():
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            os.execv(sys.executable, [sys.executable, "-c", "import time; time.sleep(60)"])
        os._exit(0)
    for path in ("planted.txt", "/tmp/planted.txt", "/work/planted.txt"):
        try:
            with open(path, "w") as fh:
                fh.write("x")
        except OSError:
            pass
    time.sleep(0.2)
    return 1
"""

# What a later candidate of the same runner can find of it.
INSPECT = """
import os
def f():
    me = os.getpid()
    strays = []
    for p in os.listdir("/proc"):
        if p.isdigit() and int(p) != me:
            try:
                with open("/proc/" + p + "/cmdline", "rb") as fh:
                    cmd = fh.read()
            except OSError:
                continue
            if b"sleep(60)" in cmd:
                strays.append(cmd.decode(errors="replace"))
    planted = any(os.path.exists(p) for p in ("/tmp/planted.txt", "/work/planted.txt"))
    planted = planted or any("planted" in str(fs) for _, _, fs in os.walk("/work/runs"))
    return {"strays": strays, "planted": planted}
"""


@pytest.fixture(scope="module")
def evaluator_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("evaluator")
    (root / "evaluator.py").write_text(textwrap.dedent(EVALUATOR))
    return root


def job(evaluator_dir: Path, function: str = "score", timeout: float = 20.0,
        program: str = "def f():\n    return 41\n") -> SandboxJob:
    return SandboxJob(
        program=program,
        entry="program.py",
        evaluator_dir=evaluator_dir,
        evaluator_module="evaluator",
        stages=(StageConfig(name="main", function=function, timeout=timeout),),
    )


def cfg(**kw: Any) -> SandboxConfig:
    base: dict[str, Any] = {"memory_mb": 512, "timeout_slack_s": 1.0}
    base.update(kw)
    return SandboxConfig(**base)


async def test_evaluates_in_a_container(cpu_image: str, evaluator_dir: Path, no_leaks: Any) -> None:
    sb = DockerSandbox(cfg(), cpu_image)
    try:
        res = await sb.evaluate(job(evaluator_dir))
    finally:
        await sb.close()
    assert res.status == Status.OK, res
    assert res.score == 42.0
    assert res.metrics["uid"] == 1000.0
    assert res.elapsed > 0


async def test_deadline_kills_the_container(cpu_image: str, evaluator_dir: Path,
                                            no_leaks: Any) -> None:
    sb = DockerSandbox(cfg(), cpu_image)
    t0 = time.monotonic()
    try:
        res = await sb.evaluate(job(evaluator_dir, "hang", timeout=1.0))
    finally:
        await sb.close()
    assert res.status == Status.TIMEOUT, res
    assert "deadline" in (res.reason or "") and res.stage == "main"
    assert time.monotonic() - t0 < 15


async def test_memory_limit_is_oom(cpu_image: str, evaluator_dir: Path, no_leaks: Any) -> None:
    sb = DockerSandbox(cfg(memory_mb=128), cpu_image)
    try:
        res = await sb.evaluate(job(evaluator_dir, "hog"))
    finally:
        await sb.close()
    assert res.status == Status.OOM, res


async def test_output_flood_is_capped(cpu_image: str, evaluator_dir: Path, no_leaks: Any) -> None:
    sb = DockerSandbox(cfg(output_cap_bytes=4096), cpu_image)
    try:
        res = await sb.evaluate(job(evaluator_dir, "flood"))
    finally:
        await sb.close()
    assert res.status == Status.OK and res.score == 1.0, res
    assert all(len(v) < 20_000 for v in res.artifacts.values())


async def test_warm_pool_reuses_cleans_and_recycles(cpu_image: str, evaluator_dir: Path,
                                                    no_leaks: Any) -> None:
    sb = DockerSandbox(cfg(warm_pool=True, warm_pool_max_uses=3), cpu_image)
    pool = sb.pool
    try:
        first = await sb.evaluate(job(evaluator_dir, "counted", program=LEAVE_BEHIND))
        assert first.status == Status.OK and first.metrics["calls"] == 1.0, first
        assert pool.idle() == 1
        second = await sb.evaluate(job(evaluator_dir, "counted", program=INSPECT))
        assert second.status == Status.OK, second
        # Same runner (its evaluator state went on), but nothing the previous candidate left.
        assert second.metrics["calls"] == 2.0
        assert json.loads(second.artifacts["seen"]) == {"strays": [], "planted": False}
        third = await sb.evaluate(job(evaluator_dir, "counted"))
        assert third.metrics["calls"] == 3.0
        fourth = await sb.evaluate(job(evaluator_dir, "counted"))
        assert fourth.metrics["calls"] == 1.0  # replaced after warm_pool_max_uses
        idle = pool.idle()
        timeout = await sb.evaluate(job(evaluator_dir, "hang", timeout=1.0))
        assert timeout.status == Status.TIMEOUT
        assert pool.idle() == idle  # (another evaluator: its own runner) not kept
    finally:
        await sb.close()


async def test_warm_pool_detects_oom(cpu_image: str, evaluator_dir: Path, no_leaks: Any) -> None:
    sb = DockerSandbox(cfg(warm_pool=True, memory_mb=128), cpu_image)
    try:
        res = await sb.evaluate(job(evaluator_dir, "hog"))
        assert res.status == Status.OOM, res
        assert sb.pool.idle() == 0
        ok = await sb.evaluate(job(evaluator_dir))
        assert ok.score == 42.0
    finally:
        await sb.close()


@pytest.mark.parametrize("warm", [False, True])
async def test_cancel_kills_the_evaluation(cpu_image: str, evaluator_dir: Path, warm: bool,
                                           no_leaks: Any) -> None:
    sb = DockerSandbox(cfg(warm_pool=warm), cpu_image)
    task = asyncio.create_task(sb.evaluate(job(evaluator_dir, "hang", timeout=120)))
    await asyncio.sleep(2.0)
    assert our_containers(no_leaks), "the evaluation should be running in a container"
    t0 = time.monotonic()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await sb.close()
    assert time.monotonic() - t0 < 10


async def test_gpu_without_nvidia_runtime_fails_clearly(cpu_image: str, evaluator_dir: Path,
                                                        no_leaks: Any) -> None:
    if gpu_runtime(no_leaks):
        pytest.skip("this engine has an NVIDIA runtime (see test_gpu_container_sees_a_gpu)")
    sb = DockerSandbox(cfg(), cpu_image, gpu=True)
    try:
        with pytest.raises(DockerUnavailableError, match="NVIDIA") as err:
            sb.check()
        assert "--sandbox docker" in str(err.value)
        assert our_containers(no_leaks) == []  # the half-created container is gone
        with pytest.raises(DockerUnavailableError, match="NVIDIA"):
            await sb.evaluate(job(evaluator_dir))
        assert our_containers(no_leaks) == []
    finally:
        await sb.close()


@pytest.mark.gpu
def test_gpu_container_sees_a_gpu(docker_client: Any) -> None:
    if not gpu_runtime(docker_client):
        pytest.skip("no NVIDIA runtime on this engine")
    from codeevo.sandbox.images import RECIPES

    sb = DockerSandbox(cfg(), RECIPES["gpu"].tag, gpu=True, client=docker_client)
    cid = sb.create(["python3", "-c", "import torch; assert torch.cuda.is_available()"])
    try:
        sb.start(cid)
        assert docker_client.api.wait(cid, timeout=300)["StatusCode"] == 0
    finally:
        sb.remove(cid)


def test_reaper_removes_only_dead_drivers_containers(cpu_image: str, no_leaks: Any) -> None:
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    sb = DockerSandbox(cfg(), cpu_image, client=no_leaks)
    orphan = sb.create(["sleep", "60"])
    alive = sb.create(["sleep", "60"])
    labels = {**sb.labels(), reaper.LABEL_PID: dead.stdout.strip(), reaper.LABEL_START: "1"}
    # Re-create the orphan with the dead driver's labels (labels cannot be edited in place).
    sb.remove(orphan)
    spec = sb.spec(["sleep", "60"])
    spec["labels"] = labels
    spec["host_config"] = no_leaks.api.create_host_config(**spec["host_config"])
    orphan = no_leaks.api.create_container(**spec)["Id"]
    try:
        removed = reaper.reap(no_leaks)
        assert orphan in removed
        assert alive not in removed
        ids = [c["Id"] for c in no_leaks.api.containers(all=True)]
        assert orphan not in ids and alive in ids
    finally:
        sb.remove(alive)
        sb.remove(orphan)


def test_pid_reuse_counts_as_dead() -> None:
    import os

    labels = reaper.driver_labels("r", "docker")
    assert reaper.driver_alive(labels)
    assert not reaper.driver_alive({**labels, reaper.LABEL_START: "12345"})
    assert reaper.driver_alive({**labels, reaper.LABEL_HOST: "elsewhere"})
    assert labels[reaper.LABEL_PID] == str(os.getpid())


async def test_torch_image_runs_torch_evaluators(torch_image: str, tmp_path: Path,
                                                 no_leaks: Any) -> None:
    """The merge problem's image: the evaluator and the candidate both import torch."""
    (tmp_path / "evaluator.py").write_text(textwrap.dedent('''
        import torch

        def score(ctx):
            run = ctx.run_candidate("f")
            assert run.status == "ok", run.error
            return {"score": float(torch.tensor(run.value).sum())}
    '''))
    program = "import torch\n\ndef f():\n    return torch.ones(3).tolist()\n"
    sb = DockerSandbox(cfg(memory_mb=1024), torch_image)
    try:
        res = await sb.evaluate(job(tmp_path, program=program, timeout=60))
    finally:
        await sb.close()
    assert res.status == Status.OK and res.score == 3.0, res
