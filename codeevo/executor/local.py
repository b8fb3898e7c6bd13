"""LocalExecutor: jobs run in this machine's sandbox, at most `slots` at a time.

This is the path every run took before executors existed, unchanged: a semaphore of
``engine.eval_slots`` in front of one sandbox (which may keep its own warm runners).
"""

from __future__ import annotations

import asyncio
import time

from codeevo.executor.base import Evaluation, EventSink, NodeUsage, SlotUsage
from codeevo.sandbox.base import Sandbox, SandboxJob

LOCAL_NODE = "local"


class LocalExecutor:
    """Scores jobs in `sandbox` on this machine, `slots` at a time."""

    name = "local"

    def __init__(self, sandbox: Sandbox, slots: int) -> None:
        if slots < 1:
            raise ValueError("an executor needs at least one slot")
        self.sandbox = sandbox
        self.sandbox_name = str(getattr(sandbox, "name", "?"))
        self.slots = slots
        self.on_event: EventSink | None = None
        self._sem: asyncio.Semaphore | None = None
        self._busy = 0

    async def start(self) -> None:
        return None

    def usage(self) -> SlotUsage:
        node = NodeUsage(LOCAL_NODE, self.slots, self._busy)
        return SlotUsage(nodes=1, slots=self.slots, busy=self._busy, per_node=(node,))

    async def evaluate(self, job: SandboxJob) -> Evaluation:
        if self._sem is None:
            self._sem = asyncio.Semaphore(self.slots)
        t0 = time.monotonic()
        async with self._sem:
            queued = time.monotonic() - t0
            self._busy += 1
            try:
                result = await self.sandbox.evaluate(job)
            finally:
                self._busy -= 1
        return Evaluation(result, LOCAL_NODE, queued=queued)

    async def close(self) -> None:
        await self.sandbox.close()
