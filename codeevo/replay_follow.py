"""Following a recorded run (``codeevo replay``): the engine starts the recording's candidates
in its order, each once as many candidates are recorded as when it started, so a concurrent
run's lineage comes back commit for commit (the stamps are in ``codeevo.schedule``).

A mixin of ``codeevo.engine.Engine``: it reads and drives the engine's own state, declared
below for the type checker.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from codeevo.config import RunConfig
from codeevo.schedule import Planned, ReplayPlan


class FollowRecording:
    """The engine's replay side; see the module docstring."""

    config: RunConfig
    seq: int
    _tasks: set[asyncio.Task[None]]
    _stop_reason: str | None
    _pending_after: float
    _seq_changed: asyncio.Event

    if TYPE_CHECKING:  # the engine's, which this mixin calls
        def _reseed(self, epoch: int) -> None: ...
        def _budget_reason(self, starting: bool) -> str | None: ...
        def _finish(self, reason: str) -> None: ...
        async def _steering_ready(self) -> bool: ...
        def _start_one(self, planned: Planned | None = None) -> None: ...
        def _progressed(self) -> None: ...
        async def _wait_some(self) -> None: ...
        def stop(self, reason: str = "stopped by user", cancel: bool = True) -> None: ...
        def _reap(self, task: asyncio.Task[None]) -> None: ...

    async def _follow(self, plan: ReplayPlan) -> None:
        """Start the recorded run's candidates in its order, each once as many candidates are
        recorded as when it started (codeevo.schedule); then let them drain."""
        for session in plan.sessions:
            if session.epoch is not None:  # the recorded run was resumed here
                if not await self._recorded_at_least(session.epoch):
                    return
                self._reseed(session.epoch)
            for planned in session.starts:
                # No candidate is recorded past this start's `after` before it has started.
                self._pending_after = planned.stamp.after
                if not await self._recorded_at_least(planned.stamp.after):
                    return
                reason = self._budget_reason(starting=True)
                if reason is not None:
                    self._finish(reason)
                    return
                if not await self._steering_ready():
                    return
                self._start_one(planned)
                self._pending_after = float("inf")
                self._progressed()
        self._pending_after = float("inf")
        self._progressed()
        if self.config.budget.max_evaluations is not None:
            return  # asked to go past the recording: the run goes on (and misses at once)
        while self._tasks and self._stop_reason is None:
            await self._wait_some()
        if self._stop_reason is None:
            self._finish(f"replayed the recorded run ({plan.candidates} candidates)")

    async def _recorded_at_least(self, n: int) -> bool:
        """Wait until `n` candidates are recorded; False when the run stops first or nothing
        left in flight can get it there (the replay left its recording)."""
        while self.seq < n and self._stop_reason is None:
            if not self._tasks:
                self.stop(f"replay diverged: {self.seq} candidates recorded, the recording "
                          f"started its next candidate after {n}")
                return False
            waiter = asyncio.ensure_future(self._seq_changed.wait())
            done, _ = await asyncio.wait({*self._tasks, waiter},
                                         return_when=asyncio.FIRST_COMPLETED)
            waiter.cancel()
            for task in done:
                if task is not waiter:
                    self._reap(task)  # type: ignore[arg-type]
        return self._stop_reason is None
