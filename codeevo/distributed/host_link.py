"""HostLink: the owner's side of a node's sandbox host (started through the keeper).

Used by the Ray actor (``actor.NodeEvaluator``); no ray here, so it is tested on its own.
Whoever holds a HostLink holds the keeper's lifeline: when its process ends, however it ends,
the keeper closes the sandbox and kills everything below it.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import codeevo
from codeevo.distributed.frames import open_pipes, read_frame, write_frame
from codeevo.distributed.keeper import alive
from codeevo.sandbox.base import SandboxJob

CLOSE_WAIT_S = 30.0  # for the host to close its sandbox and the keeper to finish


class NodeSetupError(RuntimeError):
    """The node cannot evaluate (its sandbox could not be made); the message says why."""


class NodeHostError(RuntimeError):
    """The node's sandbox host went away (the node cannot evaluate until it is restarted)."""


class SandboxFault(RuntimeError):
    """The node's sandbox raised on one job (its host is still up): not the candidate's fault,
    and not necessarily the node's either."""


class HostLink:
    """Start a keeper + host, send it bundles and jobs, close it."""

    def __init__(self) -> None:
        self.hello: dict[str, Any] | None = None
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._life_fd: int | None = None
        self._lock = asyncio.Lock()
        self._bundle_lock = asyncio.Lock()
        self._sent: set[str] = set()
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._reading: asyncio.Task[None] | None = None
        self._broken: str | None = None
        self._closed = asyncio.Event()

    @property
    def keeper_pid(self) -> int | None:
        pid = (self.hello or {}).get("keeper")
        return pid if isinstance(pid, int) else None

    async def start(self, config: dict[str, Any], problem: Any, gpu_ids: list[str],
                    slots: int = 1) -> dict[str, Any]:
        """Start the keeper and host and the node's sandbox; the host's hello (its sandbox
        line, pids, version). Raises NodeSetupError when the sandbox cannot be made."""
        job_r, job_w = os.pipe()
        res_r, res_w = os.pipe()
        life_r, life_w = os.pipe()
        env = dict(os.environ)
        # The host imports codeevo from wherever this process did (a runtime_env copy too).
        root = str(Path(codeevo.__file__).resolve().parents[1])
        env["PYTHONPATH"] = os.pathsep.join([root, *filter(None, [env.get("PYTHONPATH")])])
        launcher = subprocess.Popen(
            [sys.executable, "-m", "codeevo.distributed.keeper",
             str(job_r), str(res_w), str(life_r)],
            pass_fds=(job_r, res_w, life_r), stdin=subprocess.DEVNULL, env=env,
            start_new_session=True,
        )
        for fd in (job_r, res_w, life_r):
            os.close(fd)
        self._life_fd = life_w
        await asyncio.to_thread(launcher.wait)  # the keeper detaches at once
        self._reader, self._writer = await open_pipes(res_r, job_w)
        await self._send({"op": "init", "config": config, "problem": problem,
                          "gpu_ids": gpu_ids, "slots": slots})
        hello = await read_frame(self._reader)
        if hello is None or hello.get("op") != "hello":
            why = (hello or {}).get("error") or "the sandbox host exited while starting"
            self._broken = str(why)
            self._closed.set()
            self.end_life()
            keeper = (hello or {}).get("keeper")
            if isinstance(keeper, int):  # its clean-up is done when this returns
                await self._keeper_gone(keeper)
            raise NodeSetupError(str(why))
        self.hello = hello
        self._reading = asyncio.create_task(self._read())
        return hello

    async def evaluate(self, job: SandboxJob, key: str,
                       fetch: Callable[[], Awaitable[bytes]]) -> dict[str, Any]:
        """Score `job`: ``{"result": <EvalResult as plain data>, "queued": <seconds it waited
        on the node for a slot>}``; `fetch` gives the bundle's bytes, called only the first
        time this host meets bundle `key`."""
        if self._broken is not None:
            raise NodeHostError(self._broken)
        if key not in self._sent:
            async with self._bundle_lock:
                if key not in self._sent:
                    await self._send({"op": "bundle", "key": key, "data": await fetch()})
                    self._sent.add(key)
        jid = next(self._ids)
        fut: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[jid] = fut
        try:
            await self._send({"op": "eval", "id": jid, "job": job, "key": key})
            reply = await fut
        except asyncio.CancelledError:
            with contextlib.suppress(Exception):
                await self._send({"op": "cancel", "id": jid})
            raise
        finally:
            self._pending.pop(jid, None)
        if reply.get("op") == "result":
            return {"result": reply["result"], "queued": float(reply.get("queued", 0.0))}
        if self._broken is not None:
            raise NodeHostError(self._broken)
        raise SandboxFault(str(reply.get("error", "the sandbox failed")))

    async def close(self) -> bool:
        """Close the sandbox and wait for the keeper to end; True when it ended."""
        if self._writer is not None and self._broken is None:
            with contextlib.suppress(Exception):
                await self._send({"op": "close"})
                await asyncio.wait_for(self._closed.wait(), CLOSE_WAIT_S)
        self.end_life()
        keeper = self.keeper_pid
        return True if keeper is None else await self._keeper_gone(keeper)

    @staticmethod
    async def _keeper_gone(keeper: int) -> bool:
        end = time.monotonic() + CLOSE_WAIT_S
        while time.monotonic() < end and alive(keeper):
            await asyncio.sleep(0.05)
        return not alive(keeper)

    def end_life(self) -> None:
        """Drop the lifeline: the keeper cleans up and ends (as if this process died)."""
        if self._life_fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._life_fd)
            self._life_fd = None

    async def _send(self, frame: dict[str, Any]) -> None:
        assert self._writer is not None
        async with self._lock:
            await write_frame(self._writer, frame)

    async def _read(self) -> None:
        assert self._reader is not None
        try:
            while (frame := await read_frame(self._reader)) is not None:
                if frame.get("op") == "closed":
                    self._closed.set()
                    continue
                fut = self._pending.get(int(frame.get("id", -1)))
                if fut is not None and not fut.done():
                    fut.set_result(frame)
        finally:
            self._broken = self._broken or "the node's sandbox host exited"
            self._closed.set()
            for fut in self._pending.values():
                if not fut.done():
                    fut.set_result({"op": "error", "error": self._broken})
