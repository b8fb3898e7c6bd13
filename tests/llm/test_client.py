"""LiteLLMClient through litellm against the loopback server: replies, accounting, faults."""

from __future__ import annotations

import random
import time

import pytest

from codeevo.config import LLMConfig, ModelConfig
from codeevo.errors import ConfigError
from codeevo.llm import AllModelsFailedError, LiteLLMClient, LLMCallError, Message

from .conftest import loopback_config
from .server import (
    Reply,
    ScriptedLLMServer,
    empty_body,
    hang,
    malformed,
    ok,
    rate_limited,
    server_error,
)

MSGS: list[Message] = [Message(role="system", content="You evolve programs."),
                       Message(role="user", content="Improve X.")]


class SleepLog:
    """Records backoff delays instead of sleeping them."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


async def test_openai_route_reply_tokens_and_price_map_cost(
    llm_server: ScriptedLLMServer, fake_key: str
) -> None:
    llm_server.script(ok("hello", tokens_in=1000, tokens_out=500))
    client = LiteLLMClient(loopback_config(llm_server))
    reply = await client.complete(MSGS, random.Random(0))
    assert reply.text == "hello"
    assert (reply.tokens_in, reply.tokens_out) == (1000, 500)
    # gpt-4.1-mini in litellm's local price map: $0.40 / $1.60 per million tokens
    assert reply.cost == pytest.approx(1000 * 0.4e-6 + 500 * 1.6e-6)
    assert reply.retries == 0 and reply.latency > 0
    [req] = llm_server.requests
    assert req.path == "/v1/chat/completions"
    assert req.body["messages"] == [dict(m) for m in MSGS]
    assert req.body["max_tokens"] == 256 and req.body["temperature"] == 0.8
    # the key authenticates the request and appears nowhere else
    assert req.headers["authorization"] == f"Bearer {fake_key}"
    assert fake_key not in str(req.body)


async def test_anthropic_route(llm_server: ScriptedLLMServer, fake_key: str) -> None:
    llm_server.script(ok("from claude", tokens_in=100, tokens_out=50))
    client = LiteLLMClient(loopback_config(llm_server, ("anthropic/claude-haiku-4-5", 1.0)))
    reply = await client.complete(MSGS, random.Random(0))
    assert reply.text == "from claude" and reply.model == "anthropic/claude-haiku-4-5"
    assert reply.cost == pytest.approx(100 * 1e-6 + 50 * 5e-6)
    [req] = llm_server.requests
    assert req.path == "/v1/messages"
    assert req.headers.get("x-api-key") == fake_key
    assert "You evolve programs." in req.prompt_text()


async def test_configured_prices_for_a_local_model(llm_server: ScriptedLLMServer) -> None:
    llm_server.script(ok("a", tokens_in=2_000_000, tokens_out=1_000_000), ok("b"))
    priced = ModelConfig(name="openai/my-local-coder", api_base=llm_server.base_url + "/v1",
                         input_price_per_mtok=0.5, output_price_per_mtok=2.0)
    client = LiteLLMClient(LLMConfig(models=[priced], backoff_base=0.01), env={})
    assert (await client.complete(MSGS, random.Random(0))).cost == pytest.approx(1.0 + 2.0)
    unpriced = priced.model_copy(update={"input_price_per_mtok": None,
                                         "output_price_per_mtok": None})
    client = LiteLLMClient(LLMConfig(models=[unpriced], backoff_base=0.01), env={})
    assert llm_server.requests[0].headers["authorization"] == "Bearer no-key"
    assert (await client.complete(MSGS, random.Random(0))).cost == 0.0


async def test_429_backoff_honours_retry_after(
    llm_server: ScriptedLLMServer, fake_key: str
) -> None:
    llm_server.script(rate_limited(retry_after=0.3), rate_limited(retry_after=2), ok("done"))
    sleeps = SleepLog()
    # backoff_base is large: only Retry-After explains short delays
    client = LiteLLMClient(loopback_config(llm_server, backoff_base=30.0, backoff_max=60.0),
                           sleep=sleeps)
    reply = await client.complete(MSGS, random.Random(0))
    assert reply.text == "done" and reply.retries == 2
    # Retry-After plus at most 10 % jitter
    assert 0.3 <= sleeps.delays[0] <= 0.33 and 2.0 <= sleeps.delays[1] <= 2.2
    assert len(llm_server.requests) == 3


async def test_429_really_waits(llm_server: ScriptedLLMServer, fake_key: str) -> None:
    llm_server.script(rate_limited(retry_after=0.4), ok("done"))
    client = LiteLLMClient(loopback_config(llm_server, backoff_base=0.0))
    t0 = time.monotonic()
    reply = await client.complete(MSGS, random.Random(0))
    assert reply.text == "done"
    gap = llm_server.requests[1].t - llm_server.requests[0].t
    assert gap >= 0.4 and time.monotonic() - t0 >= 0.4


async def test_faults_are_retried_with_exponential_backoff(
    llm_server: ScriptedLLMServer, fake_key: str
) -> None:
    llm_server.script(server_error(500), server_error(503), malformed(), empty_body(),
                      ok("   "), ok("finally"))
    sleeps = SleepLog()
    client = LiteLLMClient(loopback_config(llm_server, max_retries=5, backoff_base=0.5,
                                           backoff_max=4.0), sleep=sleeps)
    reply = await client.complete(MSGS, random.Random(0))
    assert reply.text == "finally" and reply.retries == 5
    caps = [0.5, 1.0, 2.0, 4.0, 4.0]  # base * 2^attempt, capped at backoff_max
    assert all(c / 2 <= d <= c for d, c in zip(sleeps.delays, caps, strict=True)), sleeps.delays
    assert len(llm_server.requests) == 6
    assert client.usage.total.retries == 5 and client.usage.total.failures == 0


async def test_hang_times_out_and_is_retried(llm_server: ScriptedLLMServer, fake_key: str
                                             ) -> None:
    llm_server.script(hang(10), ok("after the hang"))
    client = LiteLLMClient(loopback_config(llm_server, timeout=0.5))
    t0 = time.monotonic()
    reply = await client.complete(MSGS, random.Random(0))
    assert reply.text == "after the hang" and reply.retries == 1
    assert 0.5 <= time.monotonic() - t0 < 5


async def test_retries_run_out_with_a_reason(llm_server: ScriptedLLMServer, fake_key: str
                                             ) -> None:
    llm_server.script(*[server_error(502)] * 3)
    client = LiteLLMClient(loopback_config(llm_server, max_retries=2))
    with pytest.raises(LLMCallError) as info:
        await client.complete(MSGS, random.Random(0))
    assert "502" in info.value.reason and info.value.retries == 2
    assert info.value.model == "openai/gpt-4.1-mini"
    assert len(llm_server.requests) == 3
    assert client.usage.total.failures == 1


async def test_bad_request_is_not_retried(llm_server: ScriptedLLMServer, fake_key: str) -> None:
    llm_server.script(Reply(kind="error", status=400, text="context too long"))
    client = LiteLLMClient(loopback_config(llm_server))
    with pytest.raises(LLMCallError, match="400"):
        await client.complete(MSGS, random.Random(0))
    assert len(llm_server.requests) == 1


async def test_failing_model_is_given_up_and_the_other_carries_on(
    llm_server: ScriptedLLMServer, fake_key: str
) -> None:
    llm_server.script(*[server_error(500)] * 50, model="gpt-4.1-mini")
    llm_server.responder = lambda req: ok("ok from nano")
    cfg = loopback_config(llm_server, ("openai/gpt-4.1-mini", 1.0), ("openai/gpt-4.1-nano", 1.0),
                          max_retries=0, provider_failure_limit=2)
    client = LiteLLMClient(cfg)
    rng = random.Random(1)
    failures = 0
    for _ in range(20):
        try:
            assert (await client.complete(MSGS, rng)).model == "openai/gpt-4.1-nano"
        except LLMCallError:
            failures += 1
    assert failures == 2
    assert list(client.pool.dead) == ["openai/gpt-4.1-mini"]
    mini_calls = [r for r in llm_server.requests if r.model == "gpt-4.1-mini"]
    assert len(mini_calls) == 2


async def test_every_model_dead_stops_with_a_clear_error(
    llm_server: ScriptedLLMServer, fake_key: str
) -> None:
    llm_server.responder = lambda req: server_error(500)
    client = LiteLLMClient(loopback_config(llm_server, max_retries=1, provider_failure_limit=2))
    with pytest.raises(LLMCallError):
        await client.complete(MSGS, random.Random(0))
    with pytest.raises(AllModelsFailedError, match="gpt-4.1-mini.*2 consecutive failures"):
        await client.complete(MSGS, random.Random(0))
    with pytest.raises(AllModelsFailedError):
        await client.complete(MSGS, random.Random(0))
    assert len(llm_server.requests) == 4  # nothing sent once the model was given up


async def test_ensemble_choice_follows_the_seeded_rng(
    llm_server: ScriptedLLMServer, fake_key: str
) -> None:
    llm_server.responder = lambda req: ok("x")
    cfg = loopback_config(llm_server, ("openai/gpt-4.1-mini", 3.0), ("openai/gpt-4.1-nano", 1.0))
    client = LiteLLMClient(cfg)
    rng = random.Random(42)
    for _ in range(80):
        await client.complete(MSGS, rng)
    chosen = [r.model for r in llm_server.requests]
    expect_rng = random.Random(42)
    expected = ["gpt-4.1-mini" if expect_rng.random() * 4 < 3 else "gpt-4.1-nano"
                for _ in range(80)]
    assert chosen == expected
    assert 0.6 < chosen.count("gpt-4.1-mini") / 80 < 0.9
    assert set(client.usage.by_model) == {"openai/gpt-4.1-mini", "openai/gpt-4.1-nano"}


def test_missing_key_variable_is_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CODEEVO_TEST_KEY", raising=False)
    cfg = LLMConfig(models=[ModelConfig(name="openai/gpt-4.1-mini",
                                        api_key_env="CODEEVO_TEST_KEY")])
    with pytest.raises(ConfigError, match=r"llm\.models\.0\.api_key_env.*CODEEVO_TEST_KEY"):
        LiteLLMClient(cfg)


def test_backoff_is_jittered_within_its_bounds() -> None:
    """Many slots hit by one outage must not retry in lockstep: equal jitter spreads each
    attempt's delay over [cap/2, cap], and two clients draw different delays."""
    cfg = LLMConfig(models=[ModelConfig(name="openai/x", api_base="http://127.0.0.1:1/v1")],
                    backoff_base=1.0, backoff_max=8.0)
    a, b = LiteLLMClient(cfg, env={}), LiteLLMClient(cfg, env={})
    delays = [a._backoff(k, None) for k in range(6) for _ in range(50)]
    caps = [min(2.0**k, 8.0) for k in range(6) for _ in range(50)]
    assert all(c / 2 <= d <= c for d, c in zip(delays, caps, strict=True))
    assert len({round(d, 6) for d in delays[:50]}) > 40  # not one fixed value
    assert [a._backoff(3, None) for _ in range(5)] != [b._backoff(3, None) for _ in range(5)]


async def test_a_dead_endpoint_is_reported_as_such(fake_key: str) -> None:
    """litellm reports a refused connection as HTTP 500; the client says what it is."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    model = ModelConfig(name="openai/gpt-4.1-mini", api_base=f"http://127.0.0.1:{port}/v1",
                        api_key_env="CODEEVO_TEST_KEY")
    client = LiteLLMClient(LLMConfig(models=[model], max_retries=0, timeout=5.0))
    with pytest.raises(LLMCallError) as info:
        await client.complete(MSGS, random.Random(0))
    assert info.value.reason.startswith("cannot connect to the endpoint")
    assert "HTTP 500" not in info.value.reason
