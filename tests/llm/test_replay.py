"""Record / replay / cache through the real client and the loopback server."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from codeevo.llm import (
    ExchangeStore,
    LiteLLMClient,
    LLMCallError,
    Message,
    ReplayMissError,
)

from .conftest import loopback_config
from .server import ScriptedLLMServer, ok, server_error

P = [Message(role="user", content="prompt P")]
Q = [Message(role="user", content="prompt Q")]


async def record(server: ScriptedLLMServer, store_dir: Path) -> list[str]:
    server.script(ok("P first", tokens_in=11, tokens_out=3), ok("P second"), ok("Q only"),
                  server_error(500), server_error(500))
    cfg = loopback_config(server, ("openai/gpt-4.1-mini", 1.0), ("openai/gpt-4.1-nano", 1.0),
                          max_retries=1, cache="record")
    client = LiteLLMClient(cfg, ExchangeStore(store_dir))
    rng = random.Random(7)
    out = [(await client.complete(m, rng)).model for m in (P, P, Q)]
    with pytest.raises(LLMCallError):
        await client.complete(P, rng)
    return out


async def test_replay_reproduces_replies_and_failures_without_network(
    llm_server: ScriptedLLMServer, fake_key: str, tmp_path: Path
) -> None:
    models = await record(llm_server, tmp_path / "rec")
    files = list((tmp_path / "rec").rglob("*.json"))
    assert len(files) == 4
    assert all(fake_key not in f.read_text() for f in files)
    assert not list((tmp_path / "rec").rglob(".tmp-*"))
    sent = len(llm_server.requests)

    cfg = loopback_config(llm_server, ("openai/gpt-4.1-mini", 1.0), ("openai/gpt-4.1-nano", 1.0),
                          max_retries=1, cache="replay")
    client = LiteLLMClient(cfg, ExchangeStore(tmp_path / "new", [tmp_path / "rec"]))
    rng = random.Random(7)
    first = await client.complete(P, rng)
    assert (first.text, first.tokens_in, first.tokens_out, first.cached) == ("P first", 11, 3,
                                                                            True)
    assert (await client.complete(P, rng)).text == "P second"  # same prompt, next reply
    q = await client.complete(Q, rng)
    assert q.text == "Q only" and [first.model, q.model] == [models[0], models[2]]
    with pytest.raises(LLMCallError, match="500"):
        await client.complete(P, rng)
    assert len(llm_server.requests) == sent  # nothing went to the network
    # the new run's own store now holds every exchange: it replays on its own
    assert len(list((tmp_path / "new").rglob("*.json"))) == 4
    with pytest.raises(ReplayMissError, match=r"no recorded reply for request [0-9a-f]{64}"):
        await client.complete(Q, rng)


async def test_replay_with_another_seed_misses(llm_server: ScriptedLLMServer, fake_key: str,
                                               tmp_path: Path) -> None:
    await record(llm_server, tmp_path / "rec")
    cfg = loopback_config(llm_server, ("openai/gpt-4.1-mini", 1.0), ("openai/gpt-4.1-nano", 1.0),
                          cache="replay")
    client = LiteLLMClient(cfg, ExchangeStore(tmp_path / "rec"))
    rng = random.Random(7)
    await client.complete(P, rng)
    with pytest.raises(ReplayMissError):
        await client.complete([Message(role="user", content="prompt R")], rng)


async def test_cache_reuses_hits_and_calls_on_a_miss(
    llm_server: ScriptedLLMServer, fake_key: str, tmp_path: Path
) -> None:
    llm_server.script(ok("cached P"))
    cfg = loopback_config(llm_server, cache="record")
    await LiteLLMClient(cfg, ExchangeStore(tmp_path / "a")).complete(P, random.Random(0))
    assert len(llm_server.requests) == 1

    llm_server.script(ok("fresh P"))
    cfg = loopback_config(llm_server, cache="cache")
    client = LiteLLMClient(cfg, ExchangeStore(tmp_path / "b", [tmp_path / "a"]))
    hit = await client.complete(P, random.Random(0))
    assert hit.text == "cached P" and hit.cached and len(llm_server.requests) == 1
    miss = await client.complete(P, random.Random(0))  # second occurrence: not stored
    assert miss.text == "fresh P" and not miss.cached and len(llm_server.requests) == 2
    assert len(list((tmp_path / "b").rglob("*.json"))) == 2


async def test_params_are_part_of_the_key(tmp_path: Path) -> None:
    store = ExchangeStore(tmp_path)
    a = store.next_key("m", P, {"temperature": 0.5})
    b = ExchangeStore(tmp_path).next_key("m", P, {"temperature": 0.9})
    c = ExchangeStore(tmp_path).next_key("other", P, {"temperature": 0.5})
    again = ExchangeStore(tmp_path).next_key("m", P, {"temperature": 0.5})
    assert len({a, b, c}) == 3 and again == a
    assert store.next_key("m", P, {"temperature": 0.5}) != a  # second occurrence


def test_replay_needs_a_store(fake_key: str) -> None:
    from codeevo.config import LLMConfig, ModelConfig
    from codeevo.errors import ConfigError

    with pytest.raises(ConfigError, match="replay"):
        LiteLLMClient(LLMConfig(models=[ModelConfig(name="openai/x")], cache="replay"))
