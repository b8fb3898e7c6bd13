"""Docker sandboxes on the nodes: each node's host runs jobs in that node's containers, and
a node removed mid-job leaves no container behind. (This module keeps the host's PID
namespace: containers are labelled with the pid of the process that made them.)"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest

from tests.ray.cluster.conftest import LocalCluster, run_engine
from tests.ray.helpers import make_toy
from tests.sandbox.conftest import docker_missing


@pytest.fixture(scope="module")
def docker() -> Any:
    from codeevo.sandbox.docker import DockerUnavailableError, connect, image_version
    from codeevo.sandbox.images import RECIPES

    try:
        client = connect(timeout=30)
    except DockerUnavailableError as exc:
        docker_missing(str(exc))
    if image_version(client, RECIPES["cpu"].tag) != RECIPES["cpu"].version:
        docker_missing(f"image {RECIPES['cpu'].tag} missing or stale (.ci/docker-setup.sh)")
    return client


def _containers_of(client: Any, pids: set[int]) -> list[str]:
    from codeevo.sandbox import reaper

    return [c["Id"] for c in client.api.containers(all=True, filters={"label": reaper.LABEL})
            if (c.get("Labels") or {}).get(reaper.LABEL_PID) in {str(p) for p in pids}]


def test_docker_on_the_nodes_and_a_lost_node_leaves_no_container(
    cluster: LocalCluster, docker: Any, tmp_path: Path
) -> None:
    victim = cluster.add(num_cpus=2)
    label = cluster.label(victim)
    hosts: set[int] = set()
    seen: dict[str, Any] = {}

    async def during(engine: Any) -> None:
        executor = engine.executor
        while not any(n.label == label and n.busy for n in executor.nodes()):
            await asyncio.sleep(0.02)
        hosts.update(n.host for n in executor.nodes() if n.host is not None)
        victim_host = next(n.host for n in executor.nodes() if n.label == label)
        end = time.monotonic() + 120
        while not _containers_of(docker, {victim_host}):  # its job's container is up
            assert time.monotonic() < end
            await asyncio.sleep(0.05)
        seen["host"] = victim_host
        await asyncio.to_thread(cluster.remove, victim)
        end = time.monotonic() + 120
        while _containers_of(docker, {victim_host}):
            assert time.monotonic() < end, "the lost node's container stayed"
            await asyncio.sleep(0.1)
        seen["gone"] = True

    ran = run_engine(make_toy(tmp_path, sleep=4.0), tmp_path / "run",
                     {"budget": {"max_evaluations": 10},
                      "sandbox": {"kind": "docker", "image": "codeevo-cpu:latest"}},
                     during=during)
    assert ran.outcome.finished and ran.outcome.evaluations == 10
    assert seen.get("gone")
    joined = [e for e in ran.of_kind("node") if e["state"] == "joined"]
    assert joined and all(e["sandbox"].startswith("sandbox: docker") for e in joined)
    assert any(e["node"] == label for e in ran.of_kind("reissued"))
    ok = [e for e in ran.evaluated() if e["status"] == "ok"]
    assert ok
    assert _containers_of(docker, hosts) == []  # nothing of the run's nodes is left
