"""Runners as the driver sees them, and the pool that keeps them warm (both sandboxes).

A `RunnerHandle` is one live runner (a local process tree or a container) behind a transport
that feeds it the runner's stdout/stderr; it sends jobs and reads the result channel through
`ResultStream`. A `RunnerPool` keeps, per evaluator key (evaluator code, config, assets, warm
imports), runners that have imported the evaluator and run its setup, and hands them one job at
a time. A runner is retired after ``warm_pool_max_uses`` jobs, after any timeout, OOM, crash,
tampering or cancellation, and whenever the runner itself asks (a candidate of its timed out,
ran out of memory or was killed). With ``warm_pool: false`` every job gets a fresh runner.
When a healthy runner retires, its replacement starts at once in the background, so the next
job finds it ready.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from codeevo.candidate import EvalResult, Status
from codeevo.config import SandboxConfig
from codeevo.errors import CodeevoError
from codeevo.sandbox.base import (
    Outcome,
    ResultStream,
    SandboxJob,
    evaluator_key,
    job_payload,
    outcome_result,
)
from codeevo.sandbox.stream import TailCapture, terminal_safe

log = logging.getLogger(__name__)
READY_TIMEOUT_S = 300.0  # warm imports (torch) on a loaded machine
_HEALTHY = (Status.OK, Status.FAILED)


class RunnerStartError(CodeevoError):
    """A runner did not come up (its ready line never came)."""


class RunnerHandle:
    """One live runner; subclasses provide the transport (`_write`, `_kill`, `_exit_code`)
    and call `_stdout`, `_stderr` and `_eof` as bytes arrive (on the event loop)."""

    def __init__(self, cfg: SandboxConfig, key: str) -> None:
        self.cfg = cfg
        self.key = key
        self.uses = 0
        self.stream = ResultStream()
        self.err = TailCapture(cfg.output_cap_bytes)
        self.ended = False
        self.startup = 0.0
        self._changed = asyncio.Event()

    # -- transport hooks
    async def _write(self, data: bytes) -> None:
        raise NotImplementedError

    async def _kill(self) -> None:
        raise NotImplementedError

    async def _exit_code(self) -> int | None:
        return None

    async def _oom(self) -> bool:
        return False

    def _stdout(self, data: bytes) -> None:
        self.stream.feed(data)
        self._changed.set()

    def _stderr(self, data: bytes) -> None:
        self.err.feed(data)

    def _eof(self) -> None:
        self.stream.finish()
        self.ended = True
        self._changed.set()

    # -- protocol
    async def start(self, preamble: bytes) -> None:
        t0 = time.monotonic()
        await self._write(preamble)
        await self._wait(lambda: self.stream.ready is not None or self.ended
                         or self.stream.tampered is not None, t0 + READY_TIMEOUT_S)
        ready = self.stream.ready
        if ready is None or "error" in ready:
            why = (ready or {}).get("error") or self.err.text()[-2000:] or "no ready line"
            await self.kill()
            raise RunnerStartError(f"sandbox runner did not start: {why}")
        if ready.get("failed"):
            log.warning("warm imports failed in the sandbox: %s", ready["failed"])
        self.startup = time.monotonic() - t0

    async def run(self, payload: bytes, nonce: str, deadline: float,
                  memory_mb: int) -> Outcome:
        """Send one job and wait for its result line (or the runner's end, or the deadline)."""
        self.stream.expect(nonce)
        self.err.mark()
        self.uses += 1
        end = time.monotonic() + deadline
        try:
            await self._write(payload)
        except OSError:
            pass  # the runner is gone; its end says why
        timed_out = not await self._wait(
            lambda: self.stream.result_line is not None or self.ended
            or self.stream.tampered is not None, end)
        out = Outcome(self.stream, timed_out=timed_out, deadline=deadline,
                      memory_mb=memory_mb)
        if timed_out or self.stream.result_line is None:
            if not timed_out:  # let it end on its own first: how it ended tells why
                await self._wait(lambda: self.ended, time.monotonic() + 2.0)
                out.oom = self.ended and await self._oom()
            await self.kill()
            out.exit_code = await self._exit_code()
        out.ended = self.ended
        out.stderr = self.err.since_mark()
        return out

    async def _wait(self, done: Callable[[], bool], end: float) -> bool:
        while not done():
            left = end - time.monotonic()
            if left <= 0:
                return False
            self._changed.clear()
            if done():
                break
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), left)
        return True

    async def wait_end(self, seconds: float) -> None:
        """Let a one-job runner exit on its own; anything it writes meanwhile counts."""
        await self._wait(lambda: self.ended, time.monotonic() + seconds)

    async def kill(self) -> None:
        with contextlib.suppress(Exception):
            await self._kill()


StartRunner = Callable[[SandboxJob, str, int], Awaitable[RunnerHandle]]


@dataclass
class _Slot:
    idle: list[RunnerHandle]
    starting: int = 0


class RunnerPool:
    """Runners per evaluator key; see the module docstring."""

    def __init__(self, cfg: SandboxConfig, start: StartRunner) -> None:
        self.cfg = cfg
        self._start = start
        self._slots: dict[str, _Slot] = {}
        self._busy: set[RunnerHandle] = set()
        self._ahead: set[asyncio.Task[None]] = set()  # runners started ahead of need
        self._ending: set[asyncio.Task[None]] = set()  # runners being killed in the background
        self._closed = False

    @property
    def max_jobs(self) -> int:
        return self.cfg.warm_pool_max_uses if self.cfg.warm_pool else 1

    async def evaluate(self, job: SandboxJob) -> EvalResult:
        if self._closed:  # closed while the caller was on its way here
            return EvalResult(status=Status.CRASHED, reason="the sandbox was closed")
        t0 = time.monotonic()
        key = evaluator_key(job)
        runner, fresh = await self._take(job, key)
        if self._closed:  # closed while this runner was starting: it never runs the job
            await runner.kill()
            return EvalResult(status=Status.CRASHED, reason="the sandbox was closed")
        deadline = job.deadline + self.cfg.timeout_slack_s
        payload, nonce = job_payload(job, self.cfg, with_evaluator=runner.uses == 0, key=key,
                                     seq=runner.uses + 1)
        self._busy.add(runner)
        keep = answered = False
        try:
            out = await runner.run(payload, nonce, deadline, self.cfg.memory_mb)
            if fresh:
                out.startup = runner.startup
            if not self.cfg.warm_pool and not out.timed_out and out.stream.result_line:
                await runner.wait_end(5.0)  # a fresh runner exits after its one job
                out.ended = runner.ended
            result, reusable = outcome_result(out)
            # A runner that answered (even "recycle me") has already swept its candidates:
            # ending it can happen in the background. One that did not is killed now.
            answered = (out.stream.result_line is not None and out.stream.tampered is None
                        and not out.timed_out)
            keep = (answered and reusable and self.cfg.warm_pool and not runner.ended
                    and result.status in _HEALTHY and runner.uses < self.max_jobs)
        except BaseException:
            keep = answered = False
            raise
        finally:
            self._busy.discard(runner)
            if keep:
                self._give(runner)
            elif answered:
                self._spawn_kill(runner)
                if self.cfg.warm_pool and not self._closed:
                    self._start_ahead(job, key)
            else:
                await runner.kill()
        result = self._finish(result, time.monotonic() - t0)
        return result

    def _finish(self, result: EvalResult, elapsed: float) -> EvalResult:
        update: dict[str, Any] = {"elapsed": elapsed}
        if not self.cfg.raw_artifacts:
            update["artifacts"] = {k: terminal_safe(v) for k, v in result.artifacts.items()}
            if result.reason:
                update["reason"] = terminal_safe(result.reason)
        return result.model_copy(update=update)

    async def _take(self, job: SandboxJob, key: str) -> tuple[RunnerHandle, bool]:
        """An idle runner for `key`, or a new one (True: this job waited for its start)."""
        slot = self._slots.setdefault(key, _Slot([]))
        if self.cfg.warm_pool:
            if not slot.idle and slot.starting:
                # A replacement is on its way; waiting for it beats starting another.
                for _ in range(int(READY_TIMEOUT_S / 0.01)):
                    if slot.idle or not slot.starting:
                        break
                    await asyncio.sleep(0.01)
            if slot.idle:
                return slot.idle.pop(), False
        return await self._start(job, key, self.max_jobs), True

    def _give(self, runner: RunnerHandle) -> None:
        slot = self._slots.setdefault(runner.key, _Slot([]))
        if self._closed or len(slot.idle) >= max(self.cfg.warm_pool_size, len(self._busy) + 1):
            self._spawn_kill(runner)
        else:
            slot.idle.append(runner)

    def _spawn_kill(self, runner: RunnerHandle) -> None:
        task = asyncio.get_running_loop().create_task(runner.kill())
        self._ending.add(task)
        task.add_done_callback(self._ending.discard)

    def _start_ahead(self, job: SandboxJob, key: str) -> None:
        slot = self._slots.setdefault(key, _Slot([]))
        slot.starting += 1  # now, so a job arriving before the task runs waits for it

        async def ahead() -> None:
            try:
                runner = await self._start(job, key, self.max_jobs)
            except Exception as exc:  # the next job starts one itself, and reports why
                log.debug("warm runner start-ahead failed: %s", exc)
                return
            finally:
                slot.starting -= 1
            # Its first job carries the evaluator: not started until then.
            self._give(runner)

        task = asyncio.get_running_loop().create_task(ahead())
        self._ahead.add(task)
        task.add_done_callback(self._ahead.discard)

    async def close(self) -> None:
        self._closed = True
        for task in list(self._ahead):
            task.cancel()
        runners = [r for s in self._slots.values() for r in s.idle] + list(self._busy)
        self._slots.clear()
        await asyncio.gather(*(r.kill() for r in runners), return_exceptions=True)
        await asyncio.gather(*self._ahead, return_exceptions=True)
        # Kills under way are finished, never cancelled: a kill cancelled before it ran left
        # its runner alive and its pipes open until the garbage collector met them.
        await asyncio.gather(*self._ending, return_exceptions=True)

    @property
    def closed(self) -> bool:
        return self._closed

    def idle(self) -> int:
        return sum(len(s.idle) for s in self._slots.values())
