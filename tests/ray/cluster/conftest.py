"""A real three-node Ray cluster on 127.0.0.1 for the checks in this folder.

These modules run only inside a private network namespace (tests/ray/test_cluster.py starts
each one that way); collected anywhere else they stop at once. The cluster: a head with
1 CPU, a worker with 2 CPUs and a worker with 2 CPUs and 1 GPU (declared, so GPU routing is
tested without a GPU). At the end of a module the cluster is shut down and, in a private PID
namespace, nothing but this pytest may be left alive.
"""

from __future__ import annotations

import asyncio
import os
import socket
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from codeevo.config import RunConfig
from codeevo.distributed.keeper import alive, descendants
from codeevo.events import read_events
from codeevo.session import open_session


@pytest.fixture(scope="session", autouse=True)
def _private_network() -> None:
    """(A fixture, not a configure hook: the outer `pytest` loads this conftest too.)"""
    names = [name for _, name in socket.if_nameindex()]
    if names != ["lo"]:
        pytest.exit(f"the Ray cluster checks run only in a private network namespace (found "
                    f"interfaces {names}); run them through tests/ray/test_cluster.py",
                    returncode=3)


def pid_namespace_is_ours() -> bool:
    return os.getpid() == 1


def living(exclude: set[int] | None = None) -> dict[int, str]:
    """pid → command line of every living process in /proc (zombies left out)."""
    out = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) in (exclude or set()):
            continue
        try:
            state = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[0]
            cmd = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except (OSError, IndexError):
            continue
        if state != "Z":
            out[int(entry)] = cmd.strip()
    return out


def keepers() -> list[int]:
    """Keeper processes of node sandbox hosts (the host is a fork of its keeper)."""
    procs = living()
    found = [p for p, cmd in procs.items() if "codeevo.distributed.keeper" in cmd]
    return [p for p in found if _ppid(p) not in found]


def _ppid(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError):
        return 0


def node_trees() -> set[int]:
    """Every keeper and every process below one."""
    out: set[int] = set()
    for k in keepers():
        out |= {k, *descendants(k)}
    return out


def wait_gone(pids: set[int], within: float = 90.0) -> set[int]:
    """Those of `pids` still alive once all ended or `within` seconds passed."""
    end = time.monotonic() + within
    while time.monotonic() < end:
        if not any(alive(p) for p in pids):
            return set()
        time.sleep(0.1)
    return {p for p in pids if alive(p)}


@dataclass
class LocalCluster:
    cluster: Any
    head: Any
    workers: list[Any]
    address: str
    client_port: int
    added: list[Any] = field(default_factory=list)

    def label(self, node: Any) -> str:
        from codeevo.distributed.cluster import list_nodes

        for info in list_nodes():
            if info.node_id == node.node_id:
                return info.label
        raise KeyError(node.node_id)

    def add(self, **resources: Any) -> Any:
        node = self.cluster.add_node(**resources)
        self.cluster.wait_for_nodes()
        self.added.append(node)
        return node

    def remove(self, node: Any) -> None:
        self.cluster.remove_node(node)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def cluster() -> Iterator[LocalCluster]:
    import ray
    from ray.cluster_utils import Cluster

    port = _free_port()
    c = Cluster(initialize_head=True,
                head_node_args={"num_cpus": 1, "ray_client_server_port": port})
    workers = [c.add_node(num_cpus=2), c.add_node(num_cpus=2, num_gpus=1)]
    c.wait_for_nodes()
    ray.init(address=c.address, log_to_driver=False)
    try:
        yield LocalCluster(c, c.head_node, workers, c.address, port)
    finally:
        ray.shutdown()
        c.shutdown()
    if pid_namespace_is_ours():
        end = time.monotonic() + 60
        while (left := living({1})) and time.monotonic() < end:
            time.sleep(0.2)
        assert not left, f"left running after the cluster shut down: {left}"


@dataclass
class Ran:
    outcome: Any
    events: list[dict[str, Any]]
    session: Any
    run: Path

    def evaluated(self) -> list[dict[str, Any]]:
        return [e for e in self.events if e["kind"] == "evaluated"]

    def of_kind(self, kind: str) -> list[dict[str, Any]]:
        return [e for e in self.events if e["kind"] == kind]


def run_engine(problem_dir: Path, run: Path, settings: dict[str, Any],
               during: Callable[[Any], Awaitable[None]] | None = None) -> Ran:
    """A whole run through open_session (as the CLI starts one), on the cluster;
    `during(engine)` runs beside it."""
    from codeevo.problem import load_problem

    problem = load_problem(problem_dir)
    base = {"sandbox": {"kind": "local"}, "executor": {"kind": "ray"},
            "operators": {"mix": {"ast": 1.0}}, "engine": {"proposal_slots": 2}}
    config = RunConfig.model_validate(_merge(base, settings))

    async def main() -> tuple[Any, Any]:
        session = await open_session(problem, config, run)
        side = asyncio.create_task(during(session.engine)) if during else None
        try:
            outcome = await session.run_to_end()
        finally:
            if side is not None:
                if not side.done():
                    side.cancel()
                try:
                    await side
                except asyncio.CancelledError:
                    pass
        return outcome, session

    outcome, session = asyncio.run(main())
    return Ran(outcome, list(read_events(run / "events.jsonl")), session, run)


def _merge(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    out = dict(a)
    for k, v in b.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


async def when_scoring(engine: Any, label: str, within: float = 300.0) -> set[int]:
    """Return once node `label` is in the middle of a candidate's job (the seed is recorded,
    the node's host has started a runner): its keeper and every process below it then."""
    end = time.monotonic() + within
    while True:
        node = next((n for n in engine.executor.nodes() if n.label == label), None)
        if engine.seq > 0 and node is not None and node.busy > 0 and node.keeper is not None:
            below = set(descendants(node.keeper))
            if len(below) >= 2:  # the host, and a runner under it
                return {node.keeper, *below}
        assert time.monotonic() < end, f"{label} never got a job: {engine.executor.nodes()}"
        await asyncio.sleep(0.02)
