"""What a job asks of a Ray node, how many fit, and the error when none ever can."""

from __future__ import annotations

from pathlib import Path

import pytest

from codeevo.config import RunConfig
from codeevo.distributed.demand import (
    ClusterError,
    JobDemand,
    NodeInfo,
    check_satisfiable,
    job_demand,
    node_slots,
)
from codeevo.problem import load_problem
from tests.ray.helpers import make_toy


def _node(cpus: float, gpus: float = 0.0, alive: bool = True, nid: str = "abcdef123") -> NodeInfo:
    return NodeInfo(nid, "10.0.0.7", "", cpus, gpus, alive)


def test_demand_follows_the_sandbox_profile(tmp_path: Path) -> None:
    gpu_problem = load_problem(make_toy(tmp_path / "g", profile="docker-gpu"))
    cpu_problem = load_problem(make_toy(tmp_path / "c"))

    def demand(problem: object, gpus: float, **cfg: object) -> tuple[float, float]:
        d = job_demand(RunConfig.model_validate(cfg), problem, gpus)  # type: ignore[arg-type]
        return d.cpus, d.gpus

    assert demand(cpu_problem, 4) == (1.0, 0.0)
    assert demand(gpu_problem, 4) == (1.0, 1.0)  # auto + docker-gpu profile + GPUs present
    assert demand(gpu_problem, 0) == (1.0, 0.0)  # as local auto: CPU where there is no GPU
    assert demand(cpu_problem, 0, sandbox={"kind": "docker-gpu"}) == (1.0, 1.0)
    assert demand(gpu_problem, 2, sandbox={"gpu_concurrency": 4, "cpus": 2}) == (2.0, 0.25)
    assert demand(gpu_problem, 2, sandbox={"kind": "local"}) == (1.0, 0.0)
    assert demand(cpu_problem, 0, executor={"gpus_per_job": 1}) == (1.0, 1.0)


def test_slots_per_node() -> None:
    cpu = JobDemand(1.0, 0.0, "t")
    gpu = JobDemand(1.0, 0.5, "t")
    assert node_slots(_node(8), cpu, None) == 8
    assert node_slots(_node(8), cpu, 3) == 3
    assert node_slots(_node(2), cpu, 5) == 2  # never more than the node has
    assert node_slots(_node(0.5), cpu, None) == 0
    assert node_slots(_node(8, 1), gpu, None) == 2
    assert node_slots(_node(8, 0), gpu, None) == 0
    assert node_slots(_node(1, 4), gpu, None) == 1  # CPUs bound it too


def test_a_job_no_node_can_run_fails_with_what_it_asks_and_what_nodes_have() -> None:
    demand = JobDemand(1.0, 2.0, "executor.gpus_per_job")
    nodes = [_node(2, 1, nid="aaaaaa111"), _node(4, 0, nid="bbbbbb222"),
             _node(8, 8, alive=False, nid="cccccc333")]
    with pytest.raises(ClusterError) as err:
        check_satisfiable(demand, nodes, None, "ray://head:10001")
    text = str(err.value)
    assert "ray://head:10001" in text and "1 CPU and 2 GPU (executor.gpus_per_job)" in text
    assert "10.0.0.7/aaaaaa (2 CPU, 1 GPU)" in text and "cccccc" not in text
    assert err.value.exit_code == 2
    check_satisfiable(JobDemand(1.0, 1.0, "t"), nodes, None, "x")  # the first node can


def test_node_info_from_ray_listing() -> None:
    row = {"NodeID": "f" * 56, "NodeManagerAddress": "127.0.0.1", "NodeName": "127.0.0.1",
           "Alive": True, "Resources": {"CPU": 2.0, "GPU": 1.0, "memory": 1e9}}
    info = NodeInfo.from_ray(row)
    assert (info.cpus, info.gpus, info.alive, info.label) == (2.0, 1.0, True, "127.0.0.1/ffffff")
