"""RayExecutor: the engine's jobs run in the sandboxes of a Ray cluster's nodes.

Each alive node that can run a job gets one NodeEvaluator actor, pinned to it and holding
``slots × per-job`` CPUs and GPUs; the executor's slots are the sum over ready nodes, and
follow the cluster as nodes join and leave (checked every ``POLL_S``). The evaluator folder
and assets go into Ray's object store once per run (``bundle``), and each node unpacks them
once. A job whose node dies, or stops answering, is re-issued on another node up to
``executor.max_retries`` times and then comes back as ``infra``; only the driver (the engine)
records anything.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import ray
from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

from codeevo import __version__
from codeevo.candidate import EvalResult
from codeevo.config import RunConfig
from codeevo.distributed import bundle
from codeevo.distributed.actor import NodeEvaluator
from codeevo.distributed.cluster import connect, describe_address, list_nodes
from codeevo.distributed.demand import (
    ClusterError,
    JobDemand,
    NodeInfo,
    check_satisfiable,
    job_demand,
    node_slots,
)
from codeevo.distributed.host_link import SandboxFault
from codeevo.executor.base import Evaluation, EventSink, NodeUsage, SlotUsage, infra_result
from codeevo.problem import Problem
from codeevo.sandbox.base import SandboxJob

POLL_S = 2.0  # how often the node list is read again
NODE_RESTARTS = 3  # actor restarts on a node that stays alive before it is left out
NODE_FAULTS = 3  # sandbox faults in a row on one node before its actor is restarted
_RemoteEvaluator = ray.remote(NodeEvaluator)
_CAUSE = re.compile(r"^[A-Za-z_.]*(Error|Exception|Interrupt)\b.*: ")
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


@dataclass(frozen=True)
class NodeState:
    """A node as the executor sees it (for `doctor`, tests and views).

    Attributes:
        label: address/short node id, as events name it.
        state: starting | ready | gone.
        slots, busy: its evaluation slots and those in use.
        sent: jobs on it now (busy plus those waiting there, up to its prefetch).
        sandbox: the line its host printed about its sandbox.
        keeper, host: pids (on that node) of its sandbox host and the keeper guarding it.
    """

    label: str
    node_id: str
    state: str
    slots: int
    busy: int
    sent: int
    sandbox: str
    keeper: int | None
    host: int | None


@dataclass
class _Node:
    info: NodeInfo
    slots: int
    actor: Any
    state: str = "starting"  # starting | ready | gone
    sent: int = 0  # jobs on the node: running, or waiting there for a slot (prefetch)
    faults: int = 0  # sandbox faults in a row
    hello: dict[str, Any] = field(default_factory=dict)
    ready_task: asyncio.Task[None] | None = field(default=None, repr=False)

    @property
    def label(self) -> str:
        return self.info.label

    @property
    def busy(self) -> int:
        return min(self.sent, self.slots)


class RayExecutor:
    """Scores jobs on a Ray cluster; see the module docstring."""

    name = "ray"

    def __init__(self, config: RunConfig, problem: Problem) -> None:
        self.config = config
        self.problem = problem
        self.sandbox_name: str = config.sandbox.kind
        self._sink: EventSink | None = None
        self._early: list[tuple[str, dict[str, Any]]] = []  # events before a sink was set
        self.demand: JobDemand | None = None
        self._nodes: dict[str, _Node] = {}
        self._left_out: dict[str, str] = {}  # node id → "label: why it gets no actor"
        self._restarts: Counter[str] = Counter()
        self._bundles: dict[tuple[str, str | None], tuple[str, list[Any]]] = {}
        self._bundle_lock: asyncio.Lock | None = None
        self._waiters: list[asyncio.Future[None]] = []
        self._watching: asyncio.Task[None] | None = None
        self._connected_here = False
        self._started = False
        self._closed = False

    @property
    def on_event(self) -> EventSink | None:
        return self._sink

    @on_event.setter
    def on_event(self, sink: EventSink | None) -> None:
        """The engine's event sink; what happened before (nodes joining at start) goes first."""
        self._sink = sink
        if sink is not None:
            early, self._early = self._early, []
            for kind, fields in early:
                sink(kind, **fields)

    def where(self) -> str:
        return describe_address(self.config.executor.ray_address)

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        if self._started:
            return
        self._started = True
        # ray.init wants the main thread (its signal handlers); nothing else runs yet.
        self._connected_here = connect(self.config.executor.ray_address)
        nodes = await asyncio.to_thread(list_nodes)
        gpus = sum(n.gpus for n in nodes if n.alive)
        self.demand = job_demand(self.config, self.problem, gpus)
        check_satisfiable(self.demand, nodes, self.config.executor.slots_per_node, self.where())
        self._reconcile(nodes)
        starting = [n.ready_task for n in self._nodes.values() if n.ready_task is not None]
        if starting:
            await asyncio.wait(starting)
        if not any(n.state == "ready" for n in self._nodes.values()):
            reasons = "; ".join(self._left_out.values())
            raise ClusterError(f"no node of the Ray cluster at {self.where()} could start an "
                               f"evaluator: {reasons or 'no node was able to'}")
        self._watching = asyncio.create_task(self._watch())

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._watching is not None:
            self._watching.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watching
        nodes = [n for n in self._nodes.values() if n.state != "gone" or n.actor is not None]
        for node in nodes:
            if node.ready_task is not None:
                node.ready_task.cancel()
        await asyncio.gather(*(self._stop_actor(n) for n in nodes), return_exceptions=True)
        self._nodes.clear()
        self._bundles.clear()  # the object store frees the bundle with its last reference
        self._wake()
        if self._connected_here:
            await asyncio.to_thread(ray.shutdown)

    async def _stop_actor(self, node: _Node) -> None:
        actor, node.actor = node.actor, None
        if actor is None:
            return
        if node.state == "ready":
            with contextlib.suppress(Exception):
                await asyncio.wait_for(_wait(actor.close.remote()), 60)
        with contextlib.suppress(Exception):
            ray.kill(actor)

    # ------------------------------------------------------------------ capacity

    def usage(self) -> SlotUsage:
        ready = sorted((n for n in self._nodes.values() if n.state == "ready"),
                       key=lambda n: n.label)
        per = tuple(NodeUsage(n.label, n.slots, n.busy) for n in ready)
        return SlotUsage(nodes=len(ready), slots=sum(n.slots for n in ready),
                         busy=sum(n.busy for n in ready), per_node=per)

    def nodes(self) -> list[NodeState]:
        """Every node that got an evaluator this run, in label order."""
        def pid(key: str, node: _Node) -> int | None:
            value = node.hello.get(key)
            return value if isinstance(value, int) else None

        return [
            NodeState(n.label, n.info.node_id, n.state, n.slots, n.busy, n.sent,
                      str(n.hello.get("sandbox", "")), pid("keeper", n), pid("pid", n))
            for n in sorted(self._nodes.values(), key=lambda n: n.label)
        ]

    def _reconcile(self, nodes: list[NodeInfo]) -> None:
        """Actors for alive nodes that have none; nodes that died are given up."""
        assert self.demand is not None
        for info in nodes:
            node = self._nodes.get(info.node_id)
            if not info.alive:
                if node is not None and node.state != "gone":
                    self._lose(node, "the node died")
                continue
            if info.node_id in self._left_out or (node is not None and node.state != "gone"):
                continue
            slots = node_slots(info, self.demand, self.config.executor.slots_per_node)
            if slots < 1:
                self._left_out[info.node_id] = (f"{info.label}: cannot run a job "
                                                f"({self.demand.describe()})")
                continue
            if node is not None:  # its actor failed while the node stayed up: a new one
                self._restarts[info.node_id] += 1
                if self._restarts[info.node_id] > NODE_RESTARTS:
                    self._leave_out(info, f"its evaluator failed {NODE_RESTARTS + 1} times")
                    continue
            self._nodes[info.node_id] = self._spawn(info, slots)

    def _spawn(self, info: NodeInfo, slots: int) -> _Node:
        assert self.demand is not None
        actor = _RemoteEvaluator.options(
            num_cpus=slots * self.demand.cpus,
            num_gpus=slots * self.demand.gpus,
            scheduling_strategy=NodeAffinitySchedulingStrategy(info.node_id, soft=False),
            max_concurrency=slots + self.config.executor.prefetch_per_node + 4,
        ).remote(self._node_config(slots), self.problem, slots)
        node = _Node(info, slots, actor)
        node.ready_task = asyncio.create_task(self._await_ready(node))
        return node

    def _node_config(self, slots: int) -> dict[str, Any]:
        """The run config as that node's sandbox sees it: its slots are the eval slots (a
        sandbox sizes its warm runners by them)."""
        config = self.config.model_dump(mode="json")
        config["engine"]["eval_slots"] = slots
        return config

    async def _await_ready(self, node: _Node) -> None:
        timeout = self.config.executor.ready_timeout_s
        try:
            hello = await asyncio.wait_for(_wait(node.actor.ready.remote()), timeout)
        except TimeoutError:
            self._leave_out(node.info, f"its evaluator did not start within {timeout:g} s "
                            "(are its resources taken by other work?)")
            await self._stop_actor(node)
            return
        except ray.exceptions.RayError as exc:
            # A node that cannot make its sandbox, or cannot import codeevo, is left out.
            cause = exc.cause if isinstance(exc, ray.exceptions.RayTaskError) else exc
            why = _short(cause)
            if "No module named 'codeevo" in str(exc):
                why += " (install the same codeevo on every node: pip install 'codeevo[ray]')"
            self._leave_out(node.info, why)
            await self._stop_actor(node)
            return
        if hello.get("version") != __version__:
            self._leave_out(node.info, f"it runs codeevo {hello.get('version')}, the driver "
                            f"{__version__} (install the same version on every node)")
            await self._stop_actor(node)
            return
        node.hello = dict(hello)
        node.state = "ready"
        self._event("node", node=node.label, state="joined", slots=node.slots,
                    sandbox=str(hello.get("sandbox", "")))
        self._wake()

    def _leave_out(self, info: NodeInfo, why: str) -> None:
        self._left_out[info.node_id] = f"{info.label}: {why}"
        node = self._nodes.get(info.node_id)
        if node is not None:
            node.state = "gone"
        self._event("node", node=info.label, state="left out", reason=why)
        self._event("warning", message=f"node {info.label} left out: {why}")
        self._wake()

    def _lose(self, node: _Node, why: str) -> None:
        if node.state == "gone":
            return
        node.state = "gone"
        self._event("node", node=node.label, state="lost", reason=why)
        self._wake()
        with contextlib.suppress(Exception):
            ray.kill(node.actor)  # its keeper cleans the node up

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(POLL_S)
            try:
                nodes = await asyncio.to_thread(list_nodes)
            except Exception as exc:  # noqa: BLE001 - the GCS may be briefly unreachable
                self._event("warning", message=f"cannot list Ray nodes: {_short(exc)}")
                continue
            self._reconcile(nodes)

    # ------------------------------------------------------------------ jobs

    async def evaluate(self, job: SandboxJob) -> Evaluation:
        key, box = await self._bundle(job)
        lite = replace(job, evaluator_dir=Path(bundle.EVALUATOR),
                       assets_dir=Path(bundle.ASSETS) if job.assets_dir is not None else None)
        ex = self.config.executor
        # Its own deadline, and as many more as jobs it may wait behind on its node.
        own = job.deadline + self.config.sandbox.timeout_slack_s
        deadline = own * (1 + ex.prefetch_per_node) + ex.rpc_margin_s
        failures: list[str] = []
        tried: set[str] = set()
        attempts = 0
        queued = 0.0
        started = time.monotonic()
        while True:
            t0 = time.monotonic()
            node = await self._acquire(avoid=tried)
            queued += time.monotonic() - t0
            if node is None:
                why = f"no node able to run it for {ex.node_wait_s:g} s"
                if failures:
                    why += f" (after: {failures[-1]})"
                return Evaluation(infra_result(why, time.monotonic() - started), "-", attempts,
                                  queued)
            attempts += 1
            tried.add(node.label)
            ref = node.actor.evaluate.remote(lite, key, box)
            fault = False
            try:
                reply = await asyncio.wait_for(_wait(ref), deadline)
                node.faults = 0
                queued += float(reply.get("queued", 0.0))  # waiting on the node for a slot
                return Evaluation(EvalResult.model_validate(reply["result"]), node.label,
                                  attempts, queued)
            except TimeoutError:
                why = f"no answer within {deadline:g} s"
            except ray.exceptions.RayError as exc:
                cause = exc.cause if isinstance(exc, ray.exceptions.RayTaskError) else None
                fault = isinstance(cause, SandboxFault)
                why = _short(cause if fault and cause is not None else exc)
            except asyncio.CancelledError:
                with contextlib.suppress(Exception):
                    ray.cancel(ref)
                raise
            finally:
                node.sent -= 1
                self._wake()
            # A sandbox that raised on one job keeps its node unless it does so repeatedly
            # (one poison job must not take every node down); anything else loses the node.
            node.faults += 1 if fault else 0
            if not fault or node.faults >= NODE_FAULTS:
                self._lose(node, why)
            failures.append(f"{node.label}: {why}")
            if attempts > ex.max_retries:
                reason = f"{attempts} attempts failed: " + "; ".join(failures[-3:])
                return Evaluation(infra_result(reason, time.monotonic() - started),
                                  node.label, attempts, queued)
            self._event("reissued", node=node.label, attempt=attempts, reason=why)

    async def _acquire(self, avoid: set[str]) -> _Node | None:
        """A ready node with room (a free slot first, then room to wait there: its prefetch;
        the least loaded, and not one in `avoid` while another node is ready), waiting for one;
        None once no node at all could take the job for ``executor.node_wait_s``."""
        wait = self.config.executor.node_wait_s
        room = self.config.executor.prefetch_per_node
        empty_since: float | None = None
        while True:
            ready = [n for n in self._nodes.values() if n.state == "ready"]
            if any(n.label not in avoid for n in ready):
                ready = [n for n in ready if n.label not in avoid]
            free = [n for n in ready if n.sent < n.slots + room]
            if free:
                node = max(free, key=lambda n: (n.slots - n.sent, n.label))
                node.sent += 1
                return node
            timeout: float | None = None
            if not ready and not any(n.state == "starting" for n in self._nodes.values()):
                now = time.monotonic()
                empty_since = empty_since or now
                timeout = wait - (now - empty_since)
                if timeout <= 0 or self._closed:
                    return None
            else:
                empty_since = None
            await self._changed(timeout)

    async def _bundle(self, job: SandboxJob) -> tuple[str, list[Any]]:
        """The job's evaluator bundle in the object store: packed and put once per run."""
        where = (str(job.evaluator_dir), str(job.assets_dir) if job.assets_dir else None)
        if where not in self._bundles:
            if self._bundle_lock is None:
                self._bundle_lock = asyncio.Lock()
            async with self._bundle_lock:
                if where not in self._bundles:
                    packed = await asyncio.to_thread(bundle.pack, job.evaluator_dir,
                                                     job.assets_dir)
                    ref = await asyncio.to_thread(ray.put, packed.data)
                    self._bundles[where] = (packed.key, [ref])
        return self._bundles[where]

    # ------------------------------------------------------------------ plumbing

    async def _changed(self, timeout: float | None) -> None:
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(fut)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(fut, timeout)

    def _wake(self) -> None:
        waiters, self._waiters = self._waiters, []
        for fut in waiters:
            if not fut.done():
                fut.set_result(None)

    def _event(self, kind: str, **fields: Any) -> None:
        if self._sink is None:
            self._early.append((kind, fields))
        else:
            self._sink(kind, **fields)


async def _wait(ref: Any) -> Any:
    return await ref


def _short(exc: BaseException) -> str:
    """One line for an event or a reason: Ray's messages open with a generic line and end
    with the cause (``SomeError: what``), which is the line worth keeping."""
    lines = [ln.strip() for ln in str(exc).strip().splitlines() if ln.strip()]
    cause = [ln for ln in lines if _CAUSE.match(ln)]
    died = [ln for ln in lines if "died" in ln]
    text = (cause or died or lines or [""])[-1]
    return f"{type(exc).__name__}: {_ANSI.sub('', text)[:300]}"
