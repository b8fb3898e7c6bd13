"""An evolution run driven from inside the TUI process.

The engine gets its own thread and event loop: it commits to git synchronously from its loop (the
single writer), so sharing the UI's loop would stall the screen on every commit. Events cross to
the UI through a thread-safe queue plus a wake-up callback, and the controls (pause, resume,
stop) are scheduled onto the engine's loop. The run directory it writes is an ordinary one, so
`codeevo resume` and `codeevo best` work on it.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

from codeevo.config import RunConfig
from codeevo.problem import Problem


class LiveRun:
    """Start with `start()`; the engine waits for `go()` so a dashboard can first load the run."""

    def __init__(
        self, problem: Problem, config: RunConfig, run_path: Path, *, resume: bool = False
    ) -> None:
        self.problem = problem
        self.config = config
        self.run_path = run_path
        self.resume_run = resume
        self.ready = threading.Event()  # the run directory exists (or opening failed)
        self.done = threading.Event()  # the engine thread has ended
        self.error: BaseException | None = None
        self.outcome: Any = None
        self.notify: Callable[[], None] = lambda: None
        self._queue: deque[dict[str, Any]] = deque()
        self._engine: Any = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._go: asyncio.Event | None = None
        self._thread: threading.Thread | None = None
        self._paused = False
        self._stop_reason: str | None = None

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> None:
        self._thread = threading.Thread(target=self._main, name="codeevo-engine", daemon=True)
        self._thread.start()

    def _main(self) -> None:
        try:
            asyncio.run(self._drive())
        except BaseException as exc:  # noqa: BLE001 - reported to the UI, never lost
            self.error = exc
        finally:
            self.ready.set()
            self.done.set()
            self.notify()

    async def _drive(self) -> None:
        from codeevo.session import open_session

        self._loop = asyncio.get_running_loop()
        self._go = asyncio.Event()
        session = await open_session(
            self.problem, self.config, self.run_path, resume=self.resume_run,
            on_event=self._on_event,
        )
        self._engine = session.engine
        self.ready.set()
        self.notify()
        try:
            await self._go.wait()
        except asyncio.CancelledError:
            session.close()
            raise
        if self._stop_reason is not None:
            session.close()  # stopped before it began: nothing to run
            return
        if self._engine.paused != self._paused:
            self._engine.pause() if self._paused else self._engine.resume()
        self.outcome = await session.run_to_end()

    def go(self) -> None:
        """Let the engine start working; events from before now are already on disk."""
        self._queue.clear()
        self._call(lambda: self._go.set() if self._go is not None else None)

    def _on_event(self, event: dict[str, Any]) -> None:
        self._queue.append(event)
        self.notify()

    def drain(self) -> list[dict[str, Any]]:
        """Events emitted since the last drain (any thread may call this)."""
        out = []
        while self._queue:
            out.append(self._queue.popleft())
        return out

    # ------------------------------------------------------------------ controls

    @property
    def running(self) -> bool:
        return self._thread is not None and not self.done.is_set()

    @property
    def paused(self) -> bool:
        return self._paused

    def pause(self) -> None:
        self._paused = True
        if self._engine is not None:
            self._call(self._engine.pause)

    def resume(self) -> None:
        self._paused = False
        if self._engine is not None:
            self._call(self._engine.resume)

    def stop(self, reason: str = "stopped by user") -> None:
        """Ask the engine to stop; `done` is set once it has closed the run cleanly."""
        self._stop_reason = reason
        if self._engine is not None:
            engine = self._engine
            self._call(lambda: engine.stop(reason))
        self._call(lambda: self._go.set() if self._go is not None else None)

    def wait(self, timeout: float | None = None) -> bool:
        return self.done.wait(timeout)

    def detach(self) -> subprocess.Popen[bytes]:
        """Stop here and carry on in a background `codeevo resume` that outlives the TUI."""
        self.stop("detached from the TUI; continued by `codeevo resume`")
        self.wait(120)
        with (self.run_path / "detached.log").open("ab") as log:
            return subprocess.Popen(
                [sys.executable, "-m", "codeevo", "resume", str(self.run_path)],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True,
            )

    def _call(self, fn: Callable[[], Any]) -> None:
        loop = self._loop
        if loop is not None and not loop.is_closed():
            try:
                loop.call_soon_threadsafe(fn)
            except RuntimeError:
                pass  # the loop closed between the check and the call: the run is over
