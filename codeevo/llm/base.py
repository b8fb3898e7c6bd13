"""The LLM client seam: a chat request in, one reply (with its accounting) out."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Protocol, TypedDict, runtime_checkable

from codeevo.errors import CodeevoError, ProviderError


class Message(TypedDict):
    """One chat message: role is system, user or assistant."""

    role: str
    content: str


@dataclass(frozen=True)
class LLMReply:
    """A model's answer and what it cost. `cached` is True when it came from the store."""

    text: str
    model: str
    tokens_in: int = 0
    tokens_out: int = 0
    cost: float = 0.0
    latency: float = 0.0
    retries: int = 0
    cached: bool = False


class LLMCallError(CodeevoError):
    """One request failed for good (retries spent or not retryable). The run goes on; the
    candidate is recorded as failed with `reason`. Carries what the attempts cost in time."""

    def __init__(self, reason: str, model: str, retries: int = 0, latency: float = 0.0) -> None:
        super().__init__(f"{model}: {reason}")
        self.reason = reason
        self.model = model
        self.retries = retries
        self.latency = latency


class ReplayMissError(ProviderError):
    """Replay mode found no stored reply for a request (the message names the key). The run
    has left its recording, so it should stop rather than fail every later candidate."""


class AllModelsFailedError(ProviderError):
    """Every model of the ensemble was given up on; the run should stop with this reason."""


@runtime_checkable
class LLMClient(Protocol):
    """Answers chat requests, choosing the model of an ensemble with the caller's seeded RNG.

    Raises LLMCallError for a request that failed (the caller records it and goes on) and
    AllModelsFailedError when no model is left to ask (the caller stops the run).
    """

    async def complete(
        self, messages: list[Message], rng: random.Random, model: str | None = None
    ) -> LLMReply:
        """Answer `messages`. `model` pins the model (a repair turn goes back to the model
        that wrote the reply being repaired); the RNG is drawn from all the same."""
        ...
