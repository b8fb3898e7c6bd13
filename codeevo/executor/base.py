"""The executor seam: the engine hands a `SandboxJob` to an Executor and gets an `Evaluation`.

The engine never knows where a job ran. `LocalExecutor` scores jobs in this machine's sandbox;
the Ray executor (``codeevo.distributed``, the only package that imports ray) scores them in
the sandboxes of a cluster's nodes. Candidate faults come back as the result's status; a job
the infrastructure could not run (its node died and the bounded re-issues were spent, no node
left that can run it) comes back with status ``infra``: not the candidate's fault, so the
engine records it apart and never inserts it. Only the driver writes the lineage.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from codeevo.candidate import EvalResult, Status
from codeevo.sandbox.base import SandboxJob

# kind, fields: how an executor reports what happens to its nodes (joined, lost, re-issues).
EventSink = Callable[..., Any]


@dataclass(frozen=True)
class Evaluation:
    """A job's result and where it was scored.

    Attributes:
        result: what the sandbox returned (status ``infra`` when no node could score it).
        node: the node that scored it ("local" for this machine).
        attempts: tries it took; more than one when a node was lost under it.
        queued: seconds it waited for a free slot.
    """

    result: EvalResult
    node: str
    attempts: int = 1
    queued: float = 0.0


@dataclass(frozen=True)
class NodeUsage:
    """One node's evaluation slots."""

    node: str
    slots: int
    busy: int


@dataclass(frozen=True)
class SlotUsage:
    """Evaluation capacity now: nodes able to take jobs, their slots, the slots in use."""

    nodes: int
    slots: int
    busy: int
    per_node: tuple[NodeUsage, ...] = field(default=())

    def fields(self) -> dict[str, Any]:
        """A progress event's share: ``nodes``, ``slots``, ``busy`` and, on a cluster,
        ``per_node`` (node label → ``[busy, slots]``)."""
        out: dict[str, Any] = {"nodes": self.nodes, "slots": self.slots, "busy": self.busy}
        if any(n.node != "local" for n in self.per_node):
            out["per_node"] = {n.node: [n.busy, n.slots] for n in self.per_node}
        return out


def per_node_usage(value: Any) -> dict[str, tuple[int, int]]:
    """A progress event's ``per_node`` read back (label → (busy, slots)); what is malformed
    is left out, as a view must not fail on an old or foreign event log."""
    if not isinstance(value, dict):
        return {}
    out: dict[str, tuple[int, int]] = {}
    for label, pair in value.items():
        if (isinstance(pair, list | tuple) and len(pair) == 2
                and all(isinstance(x, int) and not isinstance(x, bool) for x in pair)):
            out[str(label)] = (int(pair[0]), int(pair[1]))
    return out


def occupancy_text(per_node: dict[str, tuple[int, int]]) -> str:
    """Each node's slots in use, in label order: ``10.0.0.7/ab12cd 2/2, 10.0.0.8/ef34ab 0/2``."""
    return ", ".join(f"{label} {busy}/{slots}" for label, (busy, slots) in sorted(per_node.items()))


@runtime_checkable
class Executor(Protocol):
    """Runs sandbox jobs somewhere and says how much it can run at once."""

    name: str  # "local" | "ray"
    sandbox_name: str  # the sandbox kind jobs run in (per node for Ray)
    on_event: EventSink | None  # set by the engine: ``on_event(kind, **fields)``

    async def start(self) -> None:
        """Connect and check that jobs can run at all; raises a CodeevoError (naming what is
        missing) when no node can ever run one. Idempotent."""
        ...

    def usage(self) -> SlotUsage:
        """Slots now (they follow the cluster as nodes join and leave) and those in use."""
        ...

    async def evaluate(self, job: SandboxJob) -> Evaluation:
        """Score `job`, waiting for a free slot; never raises for candidate or node faults."""
        ...

    async def close(self) -> None:
        """Stop everything this executor started, on every node."""
        ...


def infra_result(reason: str, elapsed: float = 0.0) -> EvalResult:
    """The result of a job the infrastructure could not run."""
    return EvalResult(status=Status.INFRA, stage="infra", reason=reason[:1000], elapsed=elapsed)
