"""Request slots (codeevo.llm.slots) with real litellm against the loopback server: a slot is
held while the HTTP request is in flight (hooked routes) or for the whole call (the first call
of a route, and routes litellm does not send through the hooked session); the cap holds either
way; waiting for a slot is not counted against the timeout; cancelling gives the slot back."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest

from codeevo.llm.calls import _within
from codeevo.llm.slots import Slots, ahead
from codeevo.llm.slots import _route as slots_route

from .server import ScriptedLLMServer, hang, ok

OPENAI = "openai/gpt-4.1-mini"
ANTHROPIC = "anthropic/claude-haiku-4-5"


@pytest.fixture
async def slots() -> AsyncIterator[Slots]:
    s = Slots()
    yield s
    await s.close()


def _kwargs(server: ScriptedLLMServer, model: str, text: str = "hi") -> dict[str, Any]:
    base = server.base_url if model.startswith("anthropic/") else server.base_url + "/v1"
    return {"model": model, "api_base": base, "api_key": "sk-test", "max_tokens": 64,
            "messages": [{"role": "user", "content": text}], "timeout": 5.0,
            "num_retries": 0, "max_retries": 0, "drop_params": True}


async def _calls(slots: Slots, server: ScriptedLLMServer, model: str, n: int, limit: int,
                 timeout: float = 5.0) -> list[dict[str, Any]]:
    return list(await asyncio.gather(*(
        slots.call("g", limit, timeout, _kwargs(server, model, f"call {i}")) for i in range(n))))


@pytest.mark.parametrize("model, hooked", [(OPENAI, True), (ANTHROPIC, False)])
async def test_the_cap_holds_on_hooked_and_whole_call_routes(
    llm_server: ScriptedLLMServer, slots: Slots, model: str, hooked: bool
) -> None:
    llm_server.script(ok("learn"), *[ok(f"reply {i}") for i in range(9)])
    first = await slots.call("g", 3, 5.0, _kwargs(llm_server, model))
    assert first["ok"] and first["text"] == "learn"
    assert slots.hooked(_kwargs(llm_server, model)) is hooked
    llm_server.latency = 0.25
    llm_server.max_in_flight = 0
    t0 = time.monotonic()
    outs = await _calls(slots, llm_server, model, 9, limit=3)
    assert sorted(o["text"] for o in outs) == [f"reply {i}" for i in range(9)]
    assert llm_server.max_in_flight == 3  # the cap, and it was used
    assert time.monotonic() - t0 >= 3 * 0.25  # three rounds of three


async def test_without_hooks_every_call_holds_its_slot_throughout(
    llm_server: ScriptedLLMServer,
) -> None:
    slots = Slots(hooks=False)
    llm_server.script(*[ok(f"r{i}") for i in range(4)])
    llm_server.latency = 0.2
    outs = await _calls(slots, llm_server, OPENAI, 4, limit=2)
    assert all(o["ok"] for o in outs)
    assert llm_server.max_in_flight == 2
    assert slots.hooked(_kwargs(llm_server, OPENAI)) is None  # never learned


async def test_a_route_that_stops_using_the_session_goes_back_to_whole_calls(
    llm_server: ScriptedLLMServer, slots: Slots,
) -> None:
    llm_server.script(ok("a"), ok("b"))
    kwargs = _kwargs(llm_server, ANTHROPIC)
    slots._routes[slots_route(kwargs)] = True  # as if it had gone through the session
    assert (await slots.call("g", 2, 5.0, kwargs))["ok"]
    assert slots.hooked(kwargs) is False
    llm_server.script(*[ok(f"r{i}") for i in range(4)])
    llm_server.latency = 0.2
    outs = await _calls(slots, llm_server, ANTHROPIC, 4, limit=2)
    assert all(o["ok"] for o in outs) and llm_server.max_in_flight == 2


async def test_waiting_for_a_slot_does_not_count_against_the_timeout(
    llm_server: ScriptedLLMServer, slots: Slots,
) -> None:
    """One slot, 0.4 s per request, a 0.5 s timeout: the third call waits 0.8 s for its slot
    and must still succeed (its own request takes 0.4 s)."""
    llm_server.script(*[ok(f"r{i}") for i in range(4)])
    assert (await slots.call("g", 1, 0.5, _kwargs(llm_server, OPENAI)))["ok"]  # learn
    llm_server.latency = 0.4
    t0 = time.monotonic()
    outs = await _calls(slots, llm_server, OPENAI, 3, limit=1, timeout=0.5)
    assert [o["ok"] for o in outs] == [True, True, True], outs
    assert time.monotonic() - t0 >= 3 * 0.4


async def test_a_request_that_outlives_its_timeout_still_fails(
    llm_server: ScriptedLLMServer, slots: Slots,
) -> None:
    llm_server.script(ok("learn"), hang(30))
    assert (await slots.call("g", 1, 0.5, _kwargs(llm_server, OPENAI)))["ok"]
    t0 = time.monotonic()
    out = await slots.call("g", 1, 0.5, _kwargs(llm_server, OPENAI))
    assert not out["ok"] and not out["fatal"]
    assert time.monotonic() - t0 < 10


async def test_cancelling_a_hooked_request_gives_its_slot_back(
    llm_server: ScriptedLLMServer, slots: Slots,
) -> None:
    llm_server.script(ok("learn"), hang(30), ok("next"))
    assert (await slots.call("g", 1, 20.0, _kwargs(llm_server, OPENAI)))["ok"]
    stuck = asyncio.create_task(slots.call("g", 1, 20.0, _kwargs(llm_server, OPENAI)))
    deadline = time.monotonic() + 10
    while len(llm_server.requests) < 2:
        assert time.monotonic() < deadline
        await asyncio.sleep(0.02)
    waiting = asyncio.create_task(slots.call("g", 1, 20.0, _kwargs(llm_server, OPENAI)))
    await asyncio.sleep(0.3)
    assert not waiting.done()  # the one slot is taken by the hung request
    stuck.cancel()
    out = await asyncio.wait_for(waiting, 10)
    assert out["ok"] and out["text"] == "next"


async def test_within_extends_the_deadline_by_the_time_spent_waiting() -> None:
    assert await _within(asyncio.sleep(0.3, "done"), 0.2, lambda: 0.2) == "done"
    with pytest.raises(TimeoutError):
        await _within(asyncio.sleep(0.3), 0.2, lambda: 0.0)


def test_ahead_prepares_a_quarter_of_the_slots_and_at_least_one() -> None:
    assert [ahead(n) for n in (1, 4, 5, 16, 64)] == [1, 1, 2, 4, 16]
