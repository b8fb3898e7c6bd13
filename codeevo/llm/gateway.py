"""Where litellm runs: in worker processes (`ProcessGateway`, the default) or on the driver's
own event loop (`InlineTransport`). Both cap one client's requests in flight at `limit` and
answer with the plain dict of `codeevo.llm.calls`.

litellm spends a few ms of CPU per request (building it, parsing the reply, its logging). On
the driver's loop that CPU queues behind selection, prompts, diffs and lineage writes, and at
many slots it adds tens of ms to every request. A worker process has its own interpreter, GIL
and core. Workers are shared by every client of the driver process (and across event loops,
so a test suite starts them once); one that dies fails its pending requests with the reason
(the client retries them) and is replaced on the next request.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import fcntl
import itertools
import json
import os
import subprocess
import sys
import threading
import weakref
from collections import deque
from pathlib import Path
from typing import Any, Protocol

from codeevo.llm.calls import check_model, retryable
from codeevo.llm.slots import Slots

_PIPE_BYTES = 1 << 20  # a burst of large prompts never blocks the driver on a full pipe
_F_SETPIPE_SZ = getattr(fcntl, "F_SETPIPE_SZ", 1031)


class Transport(Protocol):
    async def request(self, group: str, limit: int, timeout: float,
                      kwargs: dict[str, Any]) -> dict[str, Any]: ...

    async def check(self, models: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """`codeevo.llm.calls.check_model` for each {"name", "api_base"}, where litellm runs
        (so a pre-flight check also warms the worker up for the run)."""
        ...


class InlineTransport:
    """litellm on the calling event loop (`llm.transport: inline`)."""

    def __init__(self) -> None:
        self._slots: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Slots] = (
            weakref.WeakKeyDictionary())

    async def request(self, group: str, limit: int, timeout: float,
                      kwargs: dict[str, Any]) -> dict[str, Any]:
        # No hooked session here: nothing would close it before the caller's loop closes, so
        # a slot covers the whole call, litellm's own CPU included.
        slots = self._slots.setdefault(asyncio.get_running_loop(), Slots(hooks=False))
        return await slots.call(group, limit, timeout, kwargs)

    async def check(self, models: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return await asyncio.to_thread(
            lambda: [check_model(str(m["name"]), m.get("api_base")) for m in models])


class _WorkerProcess:
    """One `python -m codeevo.llm.worker`, a reader thread that hands each reply to the loop
    that waits for it, and a thread keeping the tail of its stderr for a crash report."""

    def __init__(self) -> None:
        env = dict(os.environ)
        root = str(Path(__file__).resolve().parents[2])
        env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "codeevo.llm.worker"], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
        assert self.proc.stdin is not None and self.proc.stdout is not None
        with contextlib.suppress(OSError):
            fcntl.fcntl(self.proc.stdin.fileno(), _F_SETPIPE_SZ, _PIPE_BYTES)
        self.pending: dict[int, tuple[asyncio.AbstractEventLoop, asyncio.Future[Any]]] = {}
        self.load: dict[str, int] = {}
        self.alive = True
        self._lock = threading.Lock()
        self._wlock = threading.Lock()
        self._tail: deque[str] = deque(maxlen=12)
        threading.Thread(target=self._read, name="llm-worker-reader", daemon=True).start()
        threading.Thread(target=self._stderr, name="llm-worker-stderr", daemon=True).start()

    def send(self, message: dict[str, Any]) -> None:
        assert self.proc.stdin is not None
        data = json.dumps(message).encode() + b"\n"
        with self._wlock:
            self.proc.stdin.write(data)
            self.proc.stdin.flush()

    def submit(self, rid: int, loop: asyncio.AbstractEventLoop,
               fut: asyncio.Future[Any]) -> bool:
        with self._lock:
            if not self.alive:
                return False
            self.pending[rid] = (loop, fut)
            return True

    def forget(self, rid: int) -> None:
        with self._lock:
            self.pending.pop(rid, None)

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            try:
                message = json.loads(line)
                rid = int(message["id"])
            except (ValueError, KeyError, TypeError):
                continue
            with self._lock:
                entry = self.pending.pop(rid, None)
            if entry is not None:
                _resolve(*entry, message)
        code = self.proc.wait()
        tail = " | ".join(self._tail)
        reason = f"the LLM worker process exited (code {code})" + (f": {tail}" if tail else "")
        with self._lock:
            self.alive = False
            waiting = list(self.pending.values())
            self.pending.clear()
        for loop, fut in waiting:
            _resolve(loop, fut, retryable(reason))

    def _stderr(self) -> None:
        assert self.proc.stderr is not None
        for raw in self.proc.stderr:
            line = raw.decode("utf-8", "replace").strip()
            if line:
                self._tail.append(line[:300])

    def close(self) -> None:
        with contextlib.suppress(OSError, ValueError):
            assert self.proc.stdin is not None
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=3)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def _resolve(loop: asyncio.AbstractEventLoop, fut: asyncio.Future[Any],
             value: dict[str, Any]) -> None:
    def done() -> None:
        if not fut.done():
            fut.set_result(value)

    with contextlib.suppress(RuntimeError):  # that loop is closed: nobody waits any more
        loop.call_soon_threadsafe(done)


class ProcessGateway:
    """`workers` worker processes; a client's `limit` is split across them."""

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self._procs: list[_WorkerProcess | None] = [None] * workers
        self._lock = threading.Lock()
        self._ids = itertools.count(1)

    def _pick(self, group: str, limit: int) -> tuple[_WorkerProcess, int]:
        with self._lock:
            used = min(self.workers, limit)
            for i in range(used):
                proc = self._procs[i]
                if proc is None or not proc.alive:
                    self._procs[i] = _WorkerProcess()
            procs = [p for p in self._procs[:used] if p is not None]
        i = min(range(used), key=lambda k: procs[k].load.get(group, 0))
        return procs[i], limit // used + (1 if i < limit % used else 0)

    async def request(self, group: str, limit: int, timeout: float,
                      kwargs: dict[str, Any]) -> dict[str, Any]:
        proc, share = self._pick(group, limit)
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[Any] = loop.create_future()
        rid = next(self._ids)
        if not proc.submit(rid, loop, fut):
            return retryable("the LLM worker process exited")
        proc.load[group] = proc.load.get(group, 0) + 1
        try:
            proc.send({"op": "call", "id": rid, "group": group, "limit": share,
                       "timeout": timeout, "kwargs": kwargs})
            return dict(await fut)
        except OSError as exc:  # the pipe broke: the worker is gone
            proc.forget(rid)
            return retryable(f"the LLM worker process is gone ({exc})")
        except asyncio.CancelledError:
            proc.forget(rid)
            with contextlib.suppress(OSError, ValueError):
                proc.send({"op": "cancel", "id": rid})
            raise
        finally:
            proc.load[group] -= 1

    async def check(self, models: list[dict[str, Any]]) -> list[dict[str, Any]]:
        proc, _ = self._pick("check", 1)
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[Any] = loop.create_future()
        rid = next(self._ids)
        if not proc.submit(rid, loop, fut):
            raise OSError("the LLM worker process exited")
        try:
            proc.send({"op": "check", "id": rid, "models": models})
            reply = dict(await fut)
        finally:
            proc.forget(rid)
        if "models" not in reply:  # the worker died: its reason is in the reply
            raise OSError(str(reply.get("reason") or "the LLM worker process exited"))
        return list(reply["models"])

    def close(self) -> None:
        with self._lock:
            procs, self._procs = self._procs, [None] * self.workers
        for proc in procs:
            if proc is not None:
                proc.close()

    def pids(self) -> list[int]:
        """The live workers' process ids (for tests and diagnostics)."""
        return [p.proc.pid for p in self._procs if p is not None and p.alive]


_GATEWAYS: dict[int, ProcessGateway] = {}
_INLINE = InlineTransport()


def transport(kind: str, workers: int = 1) -> Transport:
    """The shared transport of this driver process for `llm.transport` / `llm.workers`."""
    if kind == "inline":
        return _INLINE
    if workers not in _GATEWAYS:
        _GATEWAYS[workers] = ProcessGateway(workers)
    return _GATEWAYS[workers]


@atexit.register
def close_all() -> None:
    for gateway in list(_GATEWAYS.values()):
        gateway.close()
