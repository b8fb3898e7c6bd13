"""The LLM seam: `LLMClient` (Protocol), `LiteLLMClient` (litellm, imported lazily),
`ScriptedLLMClient` (test double), the record/replay `ExchangeStore` and usage accounting."""

from __future__ import annotations

from codeevo.llm.accounting import UsageLedger, UsageTotals, configured_cost
from codeevo.llm.base import (
    AllModelsFailedError,
    LLMCallError,
    LLMClient,
    LLMReply,
    Message,
    ReplayMissError,
)
from codeevo.llm.client import LiteLLMClient, make_client, request_params
from codeevo.llm.ensemble import ModelPool
from codeevo.llm.fake import ScriptedLLMClient
from codeevo.llm.replay import ExchangeStore, request_hash

__all__ = [
    "AllModelsFailedError",
    "ExchangeStore",
    "LLMCallError",
    "LLMClient",
    "LLMReply",
    "LiteLLMClient",
    "Message",
    "ModelPool",
    "ReplayMissError",
    "ScriptedLLMClient",
    "UsageLedger",
    "UsageTotals",
    "configured_cost",
    "make_client",
    "request_hash",
    "request_params",
]
