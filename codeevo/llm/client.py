"""LiteLLMClient: the real LLM client: ensemble choice, retries, accounting, record/replay.

litellm is imported on the first network call only (the core and the TUI start fast, and a
replay never imports it). Keys come from the environment variable a model names
(`api_key_env`) or from litellm's own defaults (OPENAI_API_KEY, ...); they are passed to
litellm per request and never stored, logged or put into an error message.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any

from codeevo.budget import Reservation, SpendCeiling, input_token_bound
from codeevo.config import LLMConfig, ModelConfig
from codeevo.errors import ConfigError
from codeevo.llm.accounting import UsageLedger, configured_cost
from codeevo.llm.base import (
    AllModelsFailedError,
    LLMCallError,
    LLMReply,
    Message,
    ReplayMissError,
)
from codeevo.llm.ensemble import ModelPool
from codeevo.llm.gateway import Transport, transport
from codeevo.llm.replay import ExchangeStore
from codeevo.schedule import EXCHANGE_TRAIL

log = logging.getLogger(__name__)

_NO_KEY = "no-key"
DEFAULT_SLOTS = 8  # requests in flight when neither the caller nor llm.max_concurrency says


def request_params(model: ModelConfig) -> dict[str, Any]:
    """The sampling parameters sent with (and hashed into the key of) every request."""
    params: dict[str, Any] = {}
    if model.temperature is not None:
        params["temperature"] = model.temperature
    if model.max_tokens is not None:
        params["max_tokens"] = model.max_tokens
    if model.reasoning_effort is not None:
        params["reasoning_effort"] = model.reasoning_effort
    return params


class _Retryable(Exception):
    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


class _Fatal(Exception):
    pass


class LiteLLMClient:
    """An LLMClient over litellm for the models of `config.llm`.

    `store` enables record/replay per `config.cache`: record (call, store), replay (store
    only, a miss stops the run), cache (reuse a stored reply, call on a miss), off (no store).
    `usage` holds totals per model; `pool.dead` the models given up on and why. At most
    `slots` requests (default `config.max_concurrency`) are in flight at once; they run in
    the LLM worker processes or inline, per `config.transport` (see codeevo.llm.gateway).
    """

    def __init__(
        self,
        config: LLMConfig,
        store: ExchangeStore | None = None,
        env: Mapping[str, str] | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        slots: int | None = None,
        ceiling: SpendCeiling | None = None,
    ) -> None:
        self.config = config
        self.ceiling = ceiling if ceiling is not None and ceiling.active else None
        self._prices: dict[str, tuple[float, float]] = {}
        self.slots = slots or config.max_concurrency or DEFAULT_SLOTS
        self._group = uuid.uuid4().hex  # this client's share of the workers' slots
        self._transport: Transport | None = None
        self.mode = config.cache if store is not None else "off"
        if config.cache == "replay" and store is None:
            raise ConfigError("llm.cache: replay needs a store of recorded exchanges")
        self.store = store
        self.pool = ModelPool(list(config.models), config.provider_failure_limit)
        self.usage = UsageLedger()
        self._sleep = sleep
        # Jitter spreads the retries of many slots hit by one outage; it draws from its own
        # RNG, never the run's, so a run's choices do not depend on how often it retried.
        self._jitter = random.Random()
        self._keys: dict[str, str | None] = {}
        self._placeholders: dict[str, str] = {}
        source = os.environ if env is None else env
        for i, m in enumerate(config.models):
            if m.api_key_env is None:
                self._keys[m.name] = None
                provider_var = m.name.split("/", 1)[0].upper() + "_API_KEY"
                if m.api_base and provider_var not in source:
                    # a local server needs no key, but the provider's SDK insists on one
                    self._placeholders[m.name] = _NO_KEY
            elif m.api_key_env in source:
                self._keys[m.name] = source[m.api_key_env]
            elif self.mode != "replay":
                raise ConfigError(
                    f"llm.models.{i}.api_key_env: environment variable {m.api_key_env!r} "
                    f"(the key for {m.name}) is not set"
                )

    @classmethod
    def from_config(cls, config: LLMConfig, run_llm_dir: Path | None,
                    slots: int | None = None,
                    ceiling: SpendCeiling | None = None) -> LiteLLMClient:
        """The client a run uses: its store writes to the run's llm/ and also reads
        `config.cache_dir` when set (an earlier run's llm/, for replay or cache)."""
        store = None
        if config.cache != "off" and run_llm_dir is not None:
            reads = [Path(config.cache_dir)] if config.cache_dir else []
            store = ExchangeStore(run_llm_dir, reads)
        return cls(config, store, slots=slots, ceiling=ceiling)

    async def complete(
        self, messages: list[Message], rng: random.Random, model: str | None = None
    ) -> LLMReply:
        """Ask a model of the ensemble (or `model`, while alive). Raises LLMCallError for a
        failed request, AllModelsFailedError / ReplayMissError when the run should stop."""
        chosen = self.pool.choose(rng, model)
        params = request_params(chosen)
        key = None
        trail = EXCHANGE_TRAIL.get()
        if self.store is not None:
            # A replay answers each candidate with its own recorded exchanges (by key), so
            # the order in which concurrent candidates ask does not matter.
            recorded = trail.next_replay_key() if trail and self.mode == "replay" else None
            key = recorded or self.store.next_key(chosen.name, messages, params)
            if trail is not None:
                trail.keys.append(key)
        if key is not None and self.store is not None and self.mode in ("replay", "cache"):
            hit = self.store.get(key)
            if hit is not None and (hit.get("ok") or self.mode == "replay"):
                return self._from_store(chosen, key, hit)
            if self.mode == "replay":
                raise ReplayMissError(
                    f"replay: no recorded reply for request {key} to {chosen.name} "
                    f"(the run diverged from the recording, or ran past its end)"
                )
        return await self._call(chosen, messages, params, key)

    # -- store
    def _from_store(self, model: ModelConfig, key: str, hit: dict[str, Any]) -> LLMReply:
        assert self.store is not None
        if self.store.read_dirs:  # copy it, so this run's store replays on its own
            self.store.put(key, {k: v for k, v in hit.items() if k != "key"})
        if not hit.get("ok"):  # a recorded failure replays as the same failure
            self._failed(model, str(hit.get("error", "recorded failure")),
                         int(hit.get("retries", 0)), float(hit.get("latency", 0.0)))
        reply = LLMReply(
            text=str(hit.get("text", "")), model=model.name,
            tokens_in=int(hit.get("tokens_in", 0)), tokens_out=int(hit.get("tokens_out", 0)),
            cost=float(hit.get("cost", 0.0)), latency=float(hit.get("latency", 0.0)),
            retries=int(hit.get("retries", 0)), cached=True,
        )
        self._succeeded(reply)
        return reply

    def _save(self, key: str | None, model: str, params: dict[str, Any],
              value: dict[str, Any]) -> None:
        # One small file, written on the loop: a thread hand-off per reply cost more CPU
        # (GIL contention) than the write blocks (benchmarks/throughput.py).
        if key is not None and self.store is not None and self.mode in ("record", "cache"):
            self.store.put(key, {"model": model, "params": params, **value})

    # -- network
    async def _call(self, model: ModelConfig, messages: list[Message], params: dict[str, Any],
                    key: str | None) -> LLMReply:
        started = time.monotonic()
        retries = 0
        reason = ""
        for attempt in range(self.config.max_retries + 1):
            try:
                reply = await self._attempt(model, messages, params)
            except _Fatal as exc:
                reason = str(exc)
                break
            except _Retryable as exc:
                reason = exc.reason
                if attempt == self.config.max_retries:
                    break
                retries += 1
                await self._sleep(self._backoff(attempt, exc.retry_after))
                continue
            latency = time.monotonic() - started
            reply = LLMReply(reply.text, model.name, reply.tokens_in, reply.tokens_out,
                             reply.cost, latency, retries)
            self._save(key, model.name, params, {
                "ok": True, "text": reply.text, "tokens_in": reply.tokens_in,
                "tokens_out": reply.tokens_out, "cost": reply.cost,
                "latency": round(latency, 4), "retries": retries})
            self._succeeded(reply)
            return reply
        latency = time.monotonic() - started
        reason = self._redact(reason)
        self._save(key, model.name, params, {"ok": False, "error": reason, "retries": retries,
                                              "latency": round(latency, 4)})
        self._failed(model, reason, retries, latency)
        raise AssertionError("unreachable")  # _failed always raises

    def _backoff(self, attempt: int, retry_after: float | None) -> float:
        """Seconds before the next attempt: the server's Retry-After plus up to 10 %, or
        exponential backoff with "equal jitter" (between half and all of base * 2^attempt)."""
        if retry_after is not None:
            wait = max(retry_after, 0.0) * (1.0 + 0.1 * self._jitter.random())
            return min(wait, self.config.backoff_max)
        cap = float(min(self.config.backoff_base * 2**attempt, self.config.backoff_max))
        return cap / 2 + self._jitter.uniform(0.0, cap / 2)

    async def _attempt(self, model: ModelConfig, messages: list[Message],
                       params: dict[str, Any]) -> LLMReply:
        kwargs: dict[str, Any] = {
            "model": model.name, "messages": [dict(m) for m in messages],
            "timeout": self.config.timeout, "num_retries": 0, "max_retries": 0,
            "drop_params": True, **params,
        }
        if model.api_base:
            kwargs["api_base"] = model.api_base
        key = self._keys.get(model.name) or self._placeholders.get(model.name)
        if key is not None:
            kwargs["api_key"] = key
        if self._transport is None:
            auto = max(1, min(-(-self.slots // 8), os.cpu_count() or 1, 4))
            workers = self.config.workers or auto
            self._transport = transport(self.config.transport, workers)
        held = await self._reserve(model, messages)
        try:
            out = await self._transport.request(self._group, self.slots, self.config.timeout,
                                                kwargs)
        except BaseException:
            if held is not None and self.ceiling is not None:
                self.ceiling.settle(held)
            raise
        if held is not None and self.ceiling is not None:
            spent_in = int(out.get("tokens_in") or 0) if out.get("ok") else 0
            spent_out = int(out.get("tokens_out") or 0) if out.get("ok") else 0
            self.ceiling.settle(held, spent_in + spent_out,
                                self._cost(model, spent_in, spent_out, out) if out.get("ok")
                                else 0.0)
        if not out.get("ok"):
            reason = str(out.get("reason") or "unknown failure")
            if out.get("fatal"):
                raise _Fatal(reason)
            retry_after = out.get("retry_after")
            raise _Retryable(reason, float(retry_after) if retry_after is not None else None)
        tokens_in, tokens_out = int(out["tokens_in"]), int(out["tokens_out"])
        cost = self._cost(model, tokens_in, tokens_out, out)
        return LLMReply(str(out["text"]), model.name, tokens_in, tokens_out, cost)

    @staticmethod
    def _cost(model: ModelConfig, tokens_in: int, tokens_out: int, out: dict[str, Any]) -> float:
        cost = configured_cost(model, tokens_in, tokens_out)
        return float(out.get("price_cost") or 0.0) if cost is None else cost

    async def _reserve(self, model: ModelConfig, messages: list[Message]) -> Reservation | None:
        """Hold this request's worst case against the run's budgets (codeevo.budget); raises
        BudgetReached when it does not fit."""
        if self.ceiling is None:
            return None
        worst_in = input_token_bound(m["content"] for m in messages)
        worst_out = model.max_tokens or 0  # the pre-flight check refuses a budget without it
        price_in, price_out = await self._price(model)
        return self.ceiling.reserve(worst_in + worst_out,
                                    worst_in * price_in + worst_out * price_out)

    async def _price(self, model: ModelConfig) -> tuple[float, float]:
        """Dollars per input and output token: the config's, else litellm's price map."""
        if model.input_price_per_mtok is not None or model.output_price_per_mtok is not None:
            return ((model.input_price_per_mtok or 0.0) / 1e6,
                    (model.output_price_per_mtok or 0.0) / 1e6)
        if model.name not in self._prices:
            assert self._transport is not None
            found = (await self._transport.check([{"name": model.name,
                                                   "api_base": model.api_base}]))[0]
            prices = found.get("prices") or [0.0, 0.0]
            self._prices[model.name] = (float(prices[0]), float(prices[1]))
        return self._prices[model.name]

    # -- bookkeeping
    def _succeeded(self, reply: LLMReply) -> None:
        self.pool.succeeded(reply.model)
        self.usage.add("llm", reply.model, tokens_in=reply.tokens_in,
                       tokens_out=reply.tokens_out, cost=reply.cost,
                       latency=reply.latency, retries=reply.retries)

    def _failed(self, model: ModelConfig, reason: str, retries: int, latency: float) -> None:
        """Count the failure, then raise: AllModelsFailedError if no model is left."""
        self.usage.add("llm", model.name, latency=latency, retries=retries, failed=True)
        if self.pool.failed(model.name, reason):
            log.warning("giving up on model %s: %s", model.name, reason)
        if not self.pool.alive():
            raise AllModelsFailedError(self.pool.dead_report())
        raise LLMCallError(reason, model.name, retries, latency)

    def _redact(self, text: str) -> str:
        for key in self._keys.values():
            if key:
                text = text.replace(key, "***")
        return text


def make_client(config: LLMConfig, store_dir: Path | None,
                slots: int | None = None, ceiling: SpendCeiling | None = None) -> LiteLLMClient:
    """The client a run uses; `store_dir` is the run's llm/ (None: no record/replay store);
    `slots`: requests in flight (llm.max_concurrency wins; the run passes its proposal slots);
    `ceiling`: the run's token and dollar budgets, reserved request by request."""
    return LiteLLMClient.from_config(config, store_dir, config.max_concurrency or slots,
                                     ceiling)
