"""NodeEvaluator: the Ray actor that holds one node's sandbox (through its host process).

One per node, pinned there (hard node affinity) and holding that node's slots' worth of CPUs
and GPUs, so Ray's accounting stays true. It starts the keeper and host through a HostLink,
hands the host the run's evaluator bundle once (fetched from the object store only then) and
forwards each job. It never reads the bundle's content and never logs it.
"""

from __future__ import annotations

from typing import Any

import ray

from codeevo.distributed.host_link import HostLink
from codeevo.sandbox.base import SandboxJob


class NodeEvaluator:
    """Forwards jobs to this node's sandbox host."""

    def __init__(self, config: dict[str, Any], problem: Any, slots: int) -> None:
        self._config = config
        self._problem = problem
        self._slots = slots
        self._link = HostLink()

    async def ready(self) -> dict[str, Any]:
        """Start the host and its sandbox; what it said about itself (raises NodeSetupError
        naming what the node lacks)."""
        if self._link.hello is None:
            gpus = [str(g) for g in ray.get_gpu_ids()]
            await self._link.start(self._config, self._problem, gpus, self._slots)
        assert self._link.hello is not None
        return {**self._link.hello, "node_id": ray.get_runtime_context().get_node_id()}

    async def evaluate(self, job: SandboxJob, key: str, box: list[Any]) -> dict[str, Any]:
        """Score `job`; `box` holds the bundle's object ref, read only if this node has not
        unpacked that bundle yet (a ref inside a list is not fetched by Ray on its own)."""

        async def fetch() -> bytes:
            data: bytes = await box[0]
            return data

        return await self._link.evaluate(job, key, fetch)

    async def close(self) -> bool:
        """Close the node's sandbox; True once its keeper (and all below it) ended."""
        return await self._link.close()
