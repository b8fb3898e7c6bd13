"""Pre-flight: a run whose models cannot work is refused before anything is written (exit 2),
with a message naming the model, the config field and the address; a good one starts."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from codeevo.config import BudgetConfig, LLMConfig, ModelConfig
from codeevo.errors import ConfigError
from codeevo.llm.preflight import preflight, probe

from .server import ScriptedLLMServer

ROOT = Path(__file__).resolve().parents[2]
CP = ROOT / "problems" / "circle_packing"


def _dead_port() -> int:
    """A loopback port nothing listens on (bound, then closed)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _codeevo(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    full.pop("OPENAI_API_KEY", None)
    return subprocess.run([sys.executable, "-m", "codeevo", *args], capture_output=True,
                          text=True, timeout=300, cwd=ROOT, env=full)


def test_unknown_provider_and_dead_endpoint_are_refused_before_the_run(tmp_path: Path) -> None:
    out = tmp_path / "never"
    r = _codeevo("run", str(CP), "--model", "foobar/x", "--out", str(out))
    assert r.returncode == 2, r.stderr
    assert "llm.models.0.name: 'foobar/x'" in r.stderr and "no provider 'foobar'" in r.stderr
    assert "Traceback" not in r.stderr and not out.exists()

    base = f"http://127.0.0.1:{_dead_port()}/v1"
    r = _codeevo("run", str(CP), "--model", "openai/qwen", "--api-base", base,
                 "--out", str(out))
    assert r.returncode == 2, r.stderr
    assert f"llm.models.0.api_base: openai/qwen at {base}: nothing answers" in r.stderr
    assert "checking 1 model" in r.stderr  # the wait for litellm is announced
    assert "Traceback" not in r.stderr and not out.exists()


async def test_a_listening_server_passes_and_a_cost_budget_needs_a_price() -> None:
    with ScriptedLLMServer() as server:
        local = ModelConfig(name="openai/qwen", api_base=server.base_url + "/v1")
        await preflight(LLMConfig(models=[local]), BudgetConfig(), env={})
        with pytest.raises(ConfigError, match=r"llm.models.0: the cost budget .* openai/qwen"):
            await preflight(LLMConfig(models=[local]), BudgetConfig(max_cost=0.05), env={})
        priced = local.model_copy(update={"input_price_per_mtok": 0.0,
                                          "output_price_per_mtok": 0.0})
        await preflight(LLMConfig(models=[priced]), BudgetConfig(max_cost=0.05), env={})
        claude = ModelConfig(name="anthropic/claude-x", api_base=server.base_url)
        await preflight(LLMConfig(models=[claude]), BudgetConfig(), env={})


async def test_cloud_model_without_its_key_and_budget_without_output_cap() -> None:
    cloud = ModelConfig(name="openai/gpt-4.1-mini")
    with pytest.raises(ConfigError, match="needs OPENAI_API_KEY set in the environment"):
        await preflight(LLMConfig(models=[cloud]), BudgetConfig(), env={})
    # litellm's price map knows this model: a cost budget needs nothing more
    await preflight(LLMConfig(models=[cloud]), BudgetConfig(max_cost=1.0),
                    env={"OPENAI_API_KEY": "sk-test"})
    uncapped = cloud.model_copy(update={"max_tokens": None})
    with pytest.raises(ConfigError, match=r"llm.models.0.max_tokens: a budget \(--max-tokens\)"):
        await preflight(LLMConfig(models=[uncapped]), BudgetConfig(max_tokens=5000),
                        env={"OPENAI_API_KEY": "sk-test"})


def test_probe_tells_apart_refused_and_silent_endpoints() -> None:
    dead = ModelConfig(name="anthropic/x", api_base=f"http://127.0.0.1:{_dead_port()}")
    assert "nothing answers there" in (probe(dead, None) or "")
    with socket.socket() as silent:  # accepts the connection, never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        port = silent.getsockname()[1]
        quiet = ModelConfig(name="openai/x", api_base=f"http://127.0.0.1:{port}/v1")
        assert probe(quiet, None, timeout=0.5) == "no answer within 0.5 s"


def test_replay_is_not_checked() -> None:
    import asyncio

    cfg = LLMConfig(models=[ModelConfig(name="foobar/x")], cache="replay")
    asyncio.run(preflight(cfg, BudgetConfig(), env={}))
