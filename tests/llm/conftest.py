"""Fixtures: a scripted loopback LLM server per test, and LLM configs pointing at it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from codeevo.config import LLMConfig, ModelConfig

from .server import ScriptedLLMServer

FAKE_KEY = "sk-test-SECRET-0123456789"


@pytest.fixture
def llm_server() -> Iterator[ScriptedLLMServer]:
    with ScriptedLLMServer() as server:
        yield server


@pytest.fixture
def fake_key(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("CODEEVO_TEST_KEY", FAKE_KEY)
    return FAKE_KEY


def loopback_config(server: ScriptedLLMServer, *models: tuple[str, float], **llm: object
                    ) -> LLMConfig:
    """An LLMConfig whose models all talk to the loopback server (OpenAI or Anthropic route)."""
    specs = models or (("openai/gpt-4.1-mini", 1.0),)
    out = []
    for name, weight in specs:
        base = server.base_url if name.startswith("anthropic/") else server.base_url + "/v1"
        out.append(ModelConfig(name=name, weight=weight, api_base=base,
                               api_key_env="CODEEVO_TEST_KEY", max_tokens=256))
    defaults: dict[str, object] = {"timeout": 5.0, "max_retries": 3, "backoff_base": 0.01,
                                   "backoff_max": 1.0}
    defaults.update(llm)
    return LLMConfig(models=out, **defaults)  # type: ignore[arg-type]
