"""Request slots: at most `limit` HTTP requests of one client (a `group`) on the wire at once.

A slot is held while an HTTP request is in flight: taken in aiohttp's request-start hook and
given back when the response arrives or the request fails. litellm gets the hooked session as
`shared_session`, so its own CPU per request (building the request, parsing the reply, its
logging: about 5 ms) runs outside the slot, and at short latencies the slots stay busy with
requests rather than with litellm. Up to `limit + ahead(limit)` calls may be inside litellm at
once; the `ahead` extra ones are prepared and wait in the hook for a slot.

A route whose requests litellm does not send through that session (litellm's Anthropic route,
a litellm without `shared_session`) holds the slot for the whole call instead. So does the
first call of each route (model, api_base and parameter names), which tells the two kinds
apart. The server never sees more than `limit` requests at once, with one exception: should
a route that used the session stop using it (a litellm code path we have not seen), the calls
already started on it run without slots, and the route goes back to whole calls. Time spent
waiting in the hook for a slot does not count against the request's timeout (see
`calls.call_litellm`).
"""

from __future__ import annotations

import asyncio
import contextvars
import inspect
import math
import os
import ssl
import time
from typing import Any

from codeevo.llm.calls import call_litellm, load_litellm

_KEEPALIVE_S = 120.0
_Route = tuple[str, str, tuple[str, ...]]


class _Hold:
    """One call's claim on its group's slots (the hooks find it through a context variable)."""

    def __init__(self, sem: asyncio.Semaphore, whole_call: bool) -> None:
        self.sem = sem
        self.whole_call = whole_call  # the call took the slot itself; the hooks only observe
        self.held = whole_call
        self.hooked = False  # a request of this call went through the hooked session
        self.waited = 0.0  # seconds spent in the hook waiting for a slot

    async def take(self) -> None:
        self.hooked = True
        if self.held:
            return
        t0 = time.monotonic()
        await self.sem.acquire()
        self.held = True
        self.waited += time.monotonic() - t0

    def give(self) -> None:
        if self.held and not self.whole_call:
            self.held = False
            self.sem.release()

    def end(self) -> None:
        """The call is over: give back whatever it still holds."""
        self.whole_call = False
        self.give()


_HOLD: contextvars.ContextVar[_Hold | None] = contextvars.ContextVar("codeevo_slot",
                                                                      default=None)


async def _on_start(session: Any, ctx: Any, params: Any) -> None:
    hold = _HOLD.get()
    if hold is not None:
        await hold.take()


async def _on_end(session: Any, ctx: Any, params: Any) -> None:
    hold = _HOLD.get()
    if hold is not None:
        hold.give()


def _route(kwargs: dict[str, Any]) -> _Route:
    """Model, api_base and the parameter names: litellm picks its code path (and so whether
    the request goes through our session) from these."""
    names = tuple(sorted(k for k in kwargs if k not in {"messages", "api_key"}))
    return str(kwargs.get("model", "")), str(kwargs.get("api_base") or ""), names


def ahead(limit: int) -> int:
    """Calls prepared beyond `limit` (they wait in the hook for the next free slot)."""
    return max(1, math.ceil(limit / 4))


class Slots:
    """The slots of one event loop; `hooks=False` holds every slot for the whole call."""

    def __init__(self, hooks: bool = True) -> None:
        self._sems: dict[str, tuple[asyncio.Semaphore, asyncio.Semaphore]] = {}
        self._routes: dict[_Route, bool] = {}  # route -> sends through our session
        self._hooks = hooks
        self._session: Any = None

    def _group(self, group: str, limit: int) -> tuple[asyncio.Semaphore, asyncio.Semaphore]:
        if group not in self._sems:
            self._sems[group] = (asyncio.Semaphore(limit),
                                 asyncio.Semaphore(limit + (ahead(limit) if self._hooks else 0)))
        return self._sems[group]

    def _shared_session(self) -> Any:
        if not self._hooks:
            return None
        if self._session is None or self._session.closed:
            self._session = _new_session()
            if self._session is None:
                self._hooks = False
        return self._session

    async def call(self, group: str, limit: int, timeout: float,
                   kwargs: dict[str, Any]) -> dict[str, Any]:
        """One request through litellm under `group`'s slots; the plain dict of `calls`."""
        sem, admit = self._group(group, limit)
        route = _route(kwargs)
        async with admit:
            session = self._shared_session()
            whole_call = session is None or not self._routes.get(route, False)
            if whole_call:
                await sem.acquire()
            hold = _Hold(sem, whole_call)
            token = _HOLD.set(hold)
            try:
                if session is not None:
                    kwargs = {**kwargs, "shared_session": session}
                out = await call_litellm(kwargs, timeout, waited=lambda: hold.waited)
            finally:
                _HOLD.reset(token)
                hold.end()
            if session is not None and out.get("ok"):
                # Learn the route from a whole call; a route that stops sending through the
                # session (it sent this request without a slot) goes back to whole calls.
                self._routes[route] = hold.hooked
        return out

    def hooked(self, kwargs: dict[str, Any]) -> bool | None:
        """Whether calls like `kwargs` hold a slot only while their request is in flight
        (None: no call has told yet, or hooks are off)."""
        return self._routes.get(_route(kwargs)) if self._hooks else None

    async def close(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()


def _new_session() -> Any:
    """An aiohttp session with the slot hooks, set up like litellm's own (no cookies kept,
    proxies from the environment only where litellm would use them); None when this litellm
    cannot take a shared session."""
    litellm = load_litellm()
    try:
        import aiohttp
        from litellm.main import acompletion
    except ImportError:
        return None
    if "shared_session" not in inspect.signature(acompletion).parameters:
        return None
    trace = aiohttp.TraceConfig()
    trace.on_request_start.append(_on_start)
    trace.on_request_end.append(_on_end)
    trace.on_request_exception.append(_on_end)
    trust_env = bool(getattr(litellm, "aiohttp_trust_env", False)) or (
        os.environ.get("AIOHTTP_TRUST_ENV", "").strip().lower() in {"1", "true", "yes"})
    connector = aiohttp.TCPConnector(limit=0, keepalive_timeout=_KEEPALIVE_S,
                                     ssl=_ssl_context())
    return aiohttp.ClientSession(connector=connector, cookie_jar=aiohttp.DummyCookieJar(),
                                 trust_env=trust_env, trace_configs=[trace])


def _ssl_context() -> ssl.SSLContext:
    """Verify against SSL_CERT_FILE, else certifi's bundle (as litellm does), else the system's.
    litellm still applies a per-request `ssl_verify` on top."""
    cafile = os.environ.get("SSL_CERT_FILE")
    if not cafile:
        try:
            import certifi

            cafile = certifi.where()
        except ImportError:
            cafile = None
    return ssl.create_default_context(cafile=cafile)
