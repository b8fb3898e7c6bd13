"""What one evaluation asks of a Ray node, and how many fit on each node (pure; no ray)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from codeevo.config import RunConfig
from codeevo.errors import CodeevoError
from codeevo.problem import Problem

_EPS = 1e-9


class ClusterError(CodeevoError):
    """The Ray cluster is unreachable, or no node of it can ever run an evaluation."""

    exit_code = 2


@dataclass(frozen=True)
class JobDemand:
    """Ray resources of one evaluation slot, and why (for messages)."""

    cpus: float
    gpus: float
    why: str

    def describe(self) -> str:
        gpu = f" and {self.gpus:g} GPU" if self.gpus else ""
        return f"{self.cpus:g} CPU{gpu} ({self.why})"


@dataclass(frozen=True)
class NodeInfo:
    """One node as Ray lists it."""

    node_id: str
    address: str
    name: str
    cpus: float
    gpus: float
    alive: bool

    @property
    def label(self) -> str:
        """Short and unique: nodes of one machine share their address."""
        return f"{self.name or self.address}/{self.node_id[:6]}"

    def describe(self) -> str:
        return f"{self.label} ({self.cpus:g} CPU, {self.gpus:g} GPU)"

    @classmethod
    def from_ray(cls, row: dict[str, Any]) -> NodeInfo:
        res = row.get("Resources") or {}
        return cls(
            node_id=str(row.get("NodeID", "")),
            address=str(row.get("NodeManagerAddress", "")),
            name=str(row.get("NodeName") or ""),
            cpus=float(res.get("CPU", 0.0)),
            gpus=float(res.get("GPU", 0.0)),
            alive=bool(row.get("Alive", False)),
        )


def job_demand(config: RunConfig, problem: Problem, cluster_gpus: float) -> JobDemand:
    """CPUs (``sandbox.cpus``) and GPUs one evaluation asks for.

    GPUs: ``executor.gpus_per_job`` when set; otherwise ``1 / sandbox.gpu_concurrency`` for
    ``--sandbox docker-gpu``, and for ``auto`` on a problem whose profile is docker-gpu when the
    cluster has any GPU (as the local ``auto`` falls back to CPU where there is none); else 0.
    """
    cpus = config.sandbox.cpus
    ex = config.executor
    if ex.gpus_per_job is not None:
        return JobDemand(cpus, ex.gpus_per_job, "executor.gpus_per_job")
    kind = config.sandbox.kind
    share = 1.0 / config.sandbox.gpu_concurrency
    if kind == "docker-gpu":
        return JobDemand(cpus, share, "--sandbox docker-gpu")
    if kind == "auto" and problem.config.sandbox_profile == "docker-gpu" and cluster_gpus > 0:
        return JobDemand(cpus, share, f"problem {problem.name} asks for docker-gpu")
    return JobDemand(cpus, 0.0, f"sandbox {kind}")


def node_slots(node: NodeInfo, demand: JobDemand, per_node: int | None) -> int:
    """Evaluations `node` can run at once (0: it cannot run one). ``per_node`` caps it and
    never asks more of a node than it has."""
    if node.cpus + _EPS < demand.cpus or node.gpus + _EPS < demand.gpus:
        return 0
    fit = math.floor((node.cpus + _EPS) / demand.cpus) if demand.cpus > 0 else 1 << 16
    if demand.gpus > 0:
        fit = min(fit, math.floor((node.gpus + _EPS) / demand.gpus))
    return fit if per_node is None else min(per_node, fit)


def check_satisfiable(
    demand: JobDemand, nodes: list[NodeInfo], per_node: int | None, where: str
) -> None:
    """Raise ClusterError when no alive node can run one evaluation."""
    alive = [n for n in nodes if n.alive]
    if any(node_slots(n, demand, per_node) > 0 for n in alive):
        return
    listed = "; ".join(n.describe() for n in alive) or "none alive"
    raise ClusterError(
        f"no node of the Ray cluster at {where} can run an evaluation: each asks for "
        f"{demand.describe()}; nodes: {listed}. Add a node with those resources, or lower "
        "sandbox.cpus / executor.gpus_per_job"
    )
