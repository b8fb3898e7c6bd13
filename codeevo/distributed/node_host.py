"""The sandbox host on a Ray node: one process, one sandbox, many concurrent jobs.

Started by the keeper (``codeevo.distributed.keeper``) for a node's actor; speaks frames
(``codeevo.distributed.frames``) on two pipes. First frame in: ``init`` (the run config, the
problem, the GPU ids Ray gave the actor); the host builds that node's sandbox exactly as a
local run would (``make_sandbox``: local, docker or docker-gpu, ``auto`` decided on the node)
and answers ``hello`` (or ``fatal`` naming what is missing). Then, in any order: ``bundle``
(the evaluator and assets, unpacked once into the private folder), ``eval`` (a job; answered
by ``result`` or ``error``), ``cancel``, ``close``. SIGTERM or the end of the input closes the
sandbox (its runners and containers go) and ends the host.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from codeevo import __version__
from codeevo.config import RunConfig
from codeevo.distributed import bundle
from codeevo.distributed.frames import open_pipes, read_frame, write_frame
from codeevo.sandbox.base import Sandbox, SandboxJob


def serve(job_fd: int, result_fd: int, private: Path) -> int:
    """Run the host until told to close; the exit status for the keeper."""
    return asyncio.run(_Host(private).main(job_fd, result_fd))


class _Host:
    def __init__(self, private: Path) -> None:
        self.private = private
        self.sandbox: Sandbox | None = None
        self.bundles: dict[str, tuple[Path, Path | None]] = {}
        self.jobs: dict[int, asyncio.Task[None]] = {}
        self.writer: asyncio.StreamWriter | None = None
        self.lock = asyncio.Lock()
        self.running = asyncio.Semaphore(1)

    async def main(self, job_fd: int, result_fd: int) -> int:
        reader, self.writer = await open_pipes(job_fd, result_fd)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGTERM, stop.set)
        init = await read_frame(reader)
        if init is None or init.get("op") != "init":
            return 1
        try:
            sandbox, how = await asyncio.to_thread(_make_sandbox, init)
        except Exception as exc:  # noqa: BLE001 - the node cannot evaluate; say why
            await self.send({"op": "fatal", "error": f"{type(exc).__name__}: {exc}",
                             "keeper": os.getppid()})
            return 1
        self.sandbox = sandbox
        # The node's slots: jobs beyond them (the driver's prefetch) wait here for one.
        self.running = asyncio.Semaphore(int(init.get("slots") or 1))
        await self.send({"op": "hello", "sandbox": how, "name": sandbox.name,
                         "pid": os.getpid(), "keeper": os.getppid(), "version": __version__,
                         "folder": str(self.private)})
        try:
            await self._loop(reader, stop)
        finally:
            await self._close()
        return 0

    async def _loop(self, reader: asyncio.StreamReader, stop: asyncio.Event) -> None:
        stopped = asyncio.create_task(stop.wait())
        try:
            while True:
                nxt = asyncio.create_task(read_frame(reader))
                await asyncio.wait({nxt, stopped}, return_when=asyncio.FIRST_COMPLETED)
                if not nxt.done():
                    nxt.cancel()
                    return
                frame = nxt.result()
                if frame is None or frame.get("op") == "close":
                    return
                await self._handle(frame)
        finally:
            stopped.cancel()

    async def _handle(self, frame: dict[str, Any]) -> None:
        op = frame.get("op")
        if op == "bundle":
            key = str(frame["key"])
            dest = self.private / "bundles" / key
            self.bundles[key] = await asyncio.to_thread(bundle.unpack, frame["data"], dest)
        elif op == "eval":
            jid = int(frame["id"])
            task = asyncio.create_task(self._evaluate(jid, frame["job"], str(frame["key"])))
            self.jobs[jid] = task
            task.add_done_callback(self._forget)
        elif op == "cancel":
            running = self.jobs.get(int(frame["id"]))
            if running is not None:
                running.cancel()

    def _forget(self, task: asyncio.Task[None]) -> None:
        for jid, known in list(self.jobs.items()):
            if known is task:
                del self.jobs[jid]

    async def _evaluate(self, jid: int, job: SandboxJob, key: str) -> None:
        assert self.sandbox is not None
        try:
            evaluator_dir, assets_dir = self.bundles[key]
            local = replace(job, evaluator_dir=evaluator_dir,
                            assets_dir=assets_dir if job.assets_dir is not None else None)
            t0 = time.monotonic()
            async with self.running:
                queued = time.monotonic() - t0
                result = await self.sandbox.evaluate(local)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - a node fault, not the candidate's
            await self.send({"op": "error", "id": jid, "error": f"{type(exc).__name__}: {exc}"})
            return
        await self.send({"op": "result", "id": jid, "result": result.model_dump(mode="json"),
                         "queued": queued})

    async def send(self, frame: dict[str, Any]) -> None:
        assert self.writer is not None
        async with self.lock:
            with contextlib.suppress(ConnectionError, RuntimeError):
                await write_frame(self.writer, frame)

    async def _close(self) -> None:
        jobs = list(self.jobs.values())
        for task in jobs:
            task.cancel()
        await asyncio.gather(*jobs, return_exceptions=True)  # their clean-up runs here
        if self.sandbox is not None:
            await self.sandbox.close()
        await self.send({"op": "closed"})


def _make_sandbox(init: dict[str, Any]) -> tuple[Sandbox, str]:
    from codeevo.sandbox.select import make_sandbox

    config = RunConfig.model_validate(init["config"])
    gpus = [str(g) for g in init.get("gpu_ids") or []]
    if gpus and config.sandbox.gpu_devices is None:
        # The GPUs Ray gave this node's actor, and no others.
        config = config.model_copy(
            update={"sandbox": config.sandbox.model_copy(update={"gpu_devices": gpus})}
        )
    return make_sandbox(config, init["problem"])
