"""A node's sandbox host behind its keeper, without Ray: jobs, bundles once, and nothing left
running when its owner dies (SIGKILL) or the host itself is killed."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from codeevo.config import RunConfig
from codeevo.distributed import bundle
from codeevo.distributed.host_link import HostLink, NodeSetupError, SandboxFault
from codeevo.distributed.keeper import alive, descendants
from codeevo.problem import Problem, load_problem
from codeevo.sandbox.base import SandboxJob
from tests.ray.helpers import make_toy

ROOT = Path(__file__).resolve().parents[2]
LOCAL = RunConfig.model_validate({"sandbox": {"kind": "local"}}).model_dump(mode="json")


def _job(problem: Problem, program: str | None = None) -> SandboxJob:
    return SandboxJob(
        program=program or problem.seed_program, entry=problem.entry_name,
        evaluator_dir=problem.evaluator_dir, evaluator_module="evaluator",
        stages=tuple(problem.config.stages), evaluator_config=problem.config.evaluator.config,
    )


def _gone(pids: set[int], within: float = 60.0) -> set[int]:
    """The pids of `pids` still alive once they all ended, or `within` seconds passed."""
    end = time.monotonic() + within
    while time.monotonic() < end:
        left = {p for p in pids if alive(p)}
        if not left:
            return set()
        time.sleep(0.05)
    return {p for p in pids if alive(p)}


def test_host_scores_jobs_unpacks_once_and_closes_clean(tmp_path: Path) -> None:
    problem = load_problem(make_toy(tmp_path))
    packed = bundle.pack(problem.evaluator_dir, None)
    fetches = []

    async def fetch() -> bytes:
        fetches.append(1)
        return packed.data

    async def main() -> tuple[list[dict[str, Any]], dict[str, Any], bool]:
        link = HostLink()
        hello = await link.start(LOCAL, problem, [])
        job = replace(_job(problem), evaluator_dir=Path("evaluator"))
        results = await asyncio.gather(*(link.evaluate(job, packed.key, fetch)
                                         for _ in range(3)))
        return list(results), hello, await link.close()

    replies, hello, ended = asyncio.run(main())
    results = [r["result"] for r in replies]
    assert [r["status"] for r in results] == ["ok"] * 3
    assert results[0]["score"] == pytest.approx(-2.0)  # X=1, Y=2: 1 * 2 - (1 - 3) ** 2
    assert len(fetches) == 1  # the bundle crosses once per host, not once per job
    assert hello["name"] == "local" and hello["sandbox"].startswith("sandbox: local")
    assert ended and not alive(hello["keeper"]) and not alive(hello["pid"])
    assert not Path(hello["folder"]).exists()  # the unpacked evaluator went with the host


OWNER = """
import asyncio, json, sys
from dataclasses import replace
from pathlib import Path
from codeevo.distributed import bundle
from codeevo.distributed.host_link import HostLink
from codeevo.problem import load_problem
from tests.ray.test_host import LOCAL, _job

problem = load_problem(sys.argv[1])
packed = bundle.pack(problem.evaluator_dir, None)

async def main():
    link = HostLink()
    hello = await link.start(LOCAL, problem, [])
    print(json.dumps(hello), flush=True)
    job = replace(_job(problem), evaluator_dir=Path("evaluator"))
    async def fetch():
        return packed.data
    await link.evaluate(job, packed.key, fetch)

asyncio.run(main())
"""


def _owner_with_a_lingering_job(tmp_path: Path) -> tuple[subprocess.Popen[str], dict[str, Any],
                                                          set[int]]:
    """An owner process whose host is running a candidate that left a daemon behind; the
    owner, its hello, and every process below the keeper then."""
    problem_dir = make_toy(tmp_path, candidate="linger")
    owner = subprocess.Popen([sys.executable, "-c", OWNER, str(problem_dir)], cwd=ROOT,
                             stdout=subprocess.PIPE, text=True,
                             env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert owner.stdout is not None
    hello = json.loads(owner.stdout.readline())
    keeper = hello["keeper"]
    end = time.monotonic() + 120
    # host, runner, candidate and the candidate's daemon (which left its session)
    while len(descendants(keeper)) < 4:
        assert time.monotonic() < end, f"the job never started: {descendants(keeper)}"
        time.sleep(0.05)
    time.sleep(0.3)
    return owner, hello, set(descendants(keeper)) | {keeper}


def test_owner_killed_then_nothing_is_left(tmp_path: Path) -> None:
    """The Ray actor's process is killed with SIGKILL (its driver died, its node went): the
    keeper sees the lifeline close and removes everything, daemons included."""
    owner, hello, below = _owner_with_a_lingering_job(tmp_path)
    owner.kill()
    owner.wait()
    assert _gone(below) == set()
    assert not Path(hello["folder"]).exists()


def test_host_killed_then_the_keeper_sweeps_its_orphans(tmp_path: Path) -> None:
    owner, hello, below = _owner_with_a_lingering_job(tmp_path)
    try:
        os.kill(hello["pid"], signal.SIGKILL)  # no clean-up of its own: only the keeper's
        assert _gone(below) == set()
        assert not Path(hello["folder"]).exists()
    finally:
        owner.kill()
        owner.wait()


def test_a_node_without_the_sandbox_says_why(tmp_path: Path) -> None:
    problem = load_problem(make_toy(tmp_path))
    config = RunConfig.model_validate(
        {"sandbox": {"kind": "docker", "image": "codeevo-no-such-image:0"}})

    before = _keepers()

    async def main() -> None:
        link = HostLink()
        with pytest.raises(NodeSetupError, match="DockerUnavailableError: Docker"):
            await link.start(config.model_dump(mode="json"), problem, [])
        # the keeper and host ended before start() gave up (nothing to clean later)
        assert _keepers() <= before
        await link.close()

    asyncio.run(main())


def _keepers() -> set[int]:
    """Living keeper (and host) processes on this machine."""
    found = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit() and alive(int(entry)):
            try:
                cmd = Path(f"/proc/{entry}/cmdline").read_bytes()
            except OSError:
                continue
            if b"codeevo.distributed.keeper" in cmd:
                found.add(int(entry))
    return found


def test_a_job_the_sandbox_raises_on_is_a_fault_and_the_host_stays(tmp_path: Path) -> None:
    problem = load_problem(make_toy(tmp_path))
    packed = bundle.pack(problem.evaluator_dir, None)

    async def fetch() -> bytes:
        return packed.data

    async def main() -> dict[str, Any]:
        link = HostLink()
        await link.start(LOCAL, problem, [])
        job = replace(_job(problem), evaluator_dir=Path("evaluator"))
        link._sent.add("never-sent")  # the host has no such bundle: its sandbox step raises
        with pytest.raises(SandboxFault, match="KeyError"):
            await link.evaluate(job, "never-sent", fetch)
        result = await link.evaluate(job, packed.key, fetch)  # the host is still up
        assert await link.close()
        return result

    assert asyncio.run(main())["result"]["status"] == "ok"


def test_jobs_beyond_the_slots_wait_on_the_node(tmp_path: Path) -> None:
    """The driver sends a node more jobs than its slots (prefetch): they wait on the node,
    and say how long."""
    problem = load_problem(make_toy(tmp_path, sleep=0.3))
    packed = bundle.pack(problem.evaluator_dir, None)

    async def fetch() -> bytes:
        return packed.data

    async def main() -> list[dict[str, Any]]:
        link = HostLink()
        await link.start(LOCAL, problem, [], slots=1)
        job = replace(_job(problem), evaluator_dir=Path("evaluator"))
        replies = await asyncio.gather(*(link.evaluate(job, packed.key, fetch)
                                         for _ in range(3)))
        assert await link.close()
        return list(replies)

    waits = sorted(r["queued"] for r in asyncio.run(main()))
    assert waits[0] < 0.25 and waits[1] >= 0.3 and waits[2] >= 0.6  # one at a time
