"""Where litellm runs (codeevo.llm.gateway): the request slots, the worker process's failures
and cancellation, and the driver staying free of litellm, against the loopback server."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from codeevo.llm import LiteLLMClient, LLMCallError, Message
from codeevo.llm.gateway import ProcessGateway, transport

from .conftest import loopback_config
from .server import ScriptedLLMServer, hang, ok

ROOT = Path(__file__).resolve().parents[2]
MSGS = [Message(role="user", content="Improve X.")]


@pytest.mark.parametrize("kind", ["process", "inline"])
async def test_requests_in_flight_never_exceed_the_slots(
    llm_server: ScriptedLLMServer, fake_key: str, kind: str
) -> None:
    llm_server.latency = 0.3
    llm_server.script(*[ok(f"reply {i}") for i in range(6)])
    client = LiteLLMClient(loopback_config(llm_server, transport=kind), slots=2)
    t0 = time.monotonic()
    replies = await asyncio.gather(*(client.complete(MSGS, random.Random(i)) for i in range(6)))
    assert sorted(r.text for r in replies) == [f"reply {i}" for i in range(6)]
    assert llm_server.max_in_flight == 2  # the cap, and it was used
    assert time.monotonic() - t0 >= 3 * 0.3  # three rounds of two


async def test_llm_max_concurrency_wins_over_the_callers_slots(
    llm_server: ScriptedLLMServer, fake_key: str
) -> None:
    from codeevo.llm.client import make_client

    config = loopback_config(llm_server, max_concurrency=1)
    assert make_client(config, None, slots=8).slots == 1
    assert make_client(loopback_config(llm_server), None, slots=8).slots == 8


def _gateway() -> ProcessGateway:
    gw = transport("process", 1)
    assert isinstance(gw, ProcessGateway)
    return gw


async def _until(cond: object, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out waiting"
        await asyncio.sleep(0.02)


async def test_a_dead_worker_fails_its_request_with_the_reason_and_is_replaced(
    llm_server: ScriptedLLMServer, fake_key: str
) -> None:
    llm_server.script(hang(30), ok("after the crash"))
    client = LiteLLMClient(loopback_config(llm_server, max_retries=0, timeout=20.0))
    call = asyncio.create_task(client.complete(MSGS, random.Random(0)))
    await _until(lambda: len(llm_server.requests) == 1)  # the worker sent it: now kill it
    [pid] = _gateway().pids()
    os.kill(pid, signal.SIGKILL)
    with pytest.raises(LLMCallError) as err:
        await asyncio.wait_for(call, 10)
    assert "LLM worker process exited" in err.value.reason
    assert "-9" in err.value.reason
    reply = await client.complete(MSGS, random.Random(1))  # a fresh worker takes over
    assert reply.text == "after the crash"
    assert _gateway().pids() and _gateway().pids() != [pid]


async def test_a_cancelled_request_gives_its_slot_back(
    llm_server: ScriptedLLMServer, fake_key: str
) -> None:
    llm_server.script(hang(30), ok("second"))
    client = LiteLLMClient(loopback_config(llm_server, timeout=20.0), slots=1)
    first = asyncio.create_task(client.complete(MSGS, random.Random(0)))
    await _until(lambda: len(llm_server.requests) == 1)
    first.cancel()
    t0 = time.monotonic()
    reply = await asyncio.wait_for(client.complete(MSGS, random.Random(1)), 10)
    assert reply.text == "second"
    assert time.monotonic() - t0 < 10  # not after the 30 s hang: the worker freed the slot


def test_the_driver_never_imports_litellm(tmp_path: Path) -> None:
    """With the process transport litellm lives in the worker only: the driver stays lean."""
    code = """
import asyncio, random, sys
sys.path.insert(0, ".")
from tests.llm.server import ScriptedLLMServer, ok
from codeevo.config import LLMConfig, ModelConfig
from codeevo.llm import LiteLLMClient, Message
with ScriptedLLMServer() as server:
    server.script(ok("from the worker"))
    m = ModelConfig(name="openai/gpt-4.1-mini", api_base=server.base_url + "/v1")
    client = LiteLLMClient(LLMConfig(models=[m]), env={})
    reply = asyncio.run(client.complete([Message(role="user", content="hi")], random.Random(0)))
print(reply.text, sorted(m for m in ("litellm", "openai", "httpx") if m in sys.modules))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "from the worker []"
