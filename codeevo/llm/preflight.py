"""Pre-flight checks of a run's models, before the run folder is written.

One pass, all problems reported together (a ConfigError: exit 2, each line naming the config
field and the model):

- litellm must know the model string's provider (`foobar/x` has none);
- a model without `api_base` needs its provider's key in the environment;
- an `api_base` must answer: one probe request (``GET /models``) through the provider's own SDK
  (`openai` or `anthropic`), whose typed errors tell "nothing listens" from "no answer in
  time" from "the key was refused"; any other HTTP answer means a server is there;
- a cost budget needs a price for every model (the config's, or litellm's price map);
- a token or cost budget needs `max_tokens` on every model (the reservation's output cap).

The litellm part runs where litellm runs (the LLM worker process), so the check also warms the
worker up for the run; the caller says so on screen, as the import takes a few seconds.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Mapping
from typing import Any

from codeevo.config import BudgetConfig, LLMConfig, ModelConfig
from codeevo.errors import ConfigError

PROBE_TIMEOUT_S = 5.0


async def preflight(llm: LLMConfig, budget: BudgetConfig, *,
                    env: Mapping[str, str] | None = None,
                    say: Callable[[str], None] | None = None) -> None:
    """Raise ConfigError listing every problem found with `llm.models`; return when none.
    A replay sends no request and is not checked."""
    if not llm.models or llm.cache == "replay":
        return
    env = os.environ if env is None else env
    errors = config_problems(llm, budget)
    if say is not None:
        n = len(llm.models)
        say(f"checking {n} model{'s' if n > 1 else ''} (starting the LLM worker: litellm takes "
            "a few seconds to import)...")
    from codeevo.llm.gateway import transport

    auto = max(1, min(-(-(llm.max_concurrency or 8) // 8), os.cpu_count() or 1, 4))
    gateway = transport(llm.transport, llm.workers or auto)
    wanted = [{"name": m.name, "api_base": m.api_base} for m in llm.models]
    probes = [asyncio.to_thread(probe, m, _key(m, env)) if m.api_base else _none()
              for m in llm.models]
    try:
        checks, *reached = await asyncio.gather(gateway.check(wanted), *probes)
    except OSError as exc:
        raise ConfigError(f"llm: the LLM worker process failed to start: {exc}") from exc
    for i, (model, check, problem) in enumerate(zip(llm.models, checks, reached, strict=True)):
        where = f"llm.models.{i}"
        if not check.get("ok"):
            reason = str(check.get("reason"))
            if "Provider NOT provided" in reason:
                prefix = model.name.split("/", 1)[0] if "/" in model.name else model.name
                reason = (f"litellm knows no provider {prefix!r} (a model string names its "
                          "provider first, e.g. openai/gpt-4.1-mini or anthropic/claude-...; "
                          "use openai/<name> with api_base for an OpenAI-compatible server)")
            errors.append(f"{where}.name: {model.name!r}: {reason}")
            continue
        missing = [k for k in check.get("missing_keys") or [] if k not in env]
        if missing and not model.api_base and model.api_key_env is None:
            errors.append(f"{where}: {model.name} needs {' and '.join(missing)} set in the "
                          "environment (or api_key_env naming the variable that holds the key)")
        if problem:
            errors.append(f"{where}.api_base: {model.name} at {model.api_base}: {problem}")
        priced = model.input_price_per_mtok is not None or model.output_price_per_mtok is not None
        if budget.max_cost is not None and not priced and not check.get("priced"):
            errors.append(
                f"{where}: the cost budget (--max-cost) needs a price for {model.name}, and "
                "litellm's price map has none: set input_price_per_mtok and "
                "output_price_per_mtok (dollars per million tokens; 0 for a free local model)")
    if errors:
        raise ConfigError("pre-flight check of the models failed:\n  " + "\n  ".join(errors))


def config_problems(llm: LLMConfig, budget: BudgetConfig) -> list[str]:
    """What the config alone shows (no I/O)."""
    out = []
    if budget.max_tokens is not None or budget.max_cost is not None:
        which = "--max-tokens" if budget.max_tokens is not None else "--max-cost"
        for i, m in enumerate(llm.models):
            if m.max_tokens is None:
                out.append(f"llm.models.{i}.max_tokens: a budget ({which}) is a ceiling only "
                           f"with an output cap per request; set max_tokens for {m.name}")
    return out


def probe(model: ModelConfig, key: str | None, timeout: float = PROBE_TIMEOUT_S) -> str | None:
    """One request to the model's endpoint; None when something answers, else why not."""
    provider = model.name.split("/", 1)[0]
    sdk: Any
    if provider == "anthropic":
        import anthropic as sdk

        client: Any = sdk.Anthropic(base_url=model.api_base, api_key=key or "no-key",
                                    max_retries=0, timeout=timeout)
    else:
        import openai as sdk

        client = sdk.OpenAI(base_url=model.api_base, api_key=key or "no-key", max_retries=0,
                            timeout=timeout)
    try:
        client.models.list()
    except sdk.APITimeoutError:
        return f"no answer within {timeout:g} s"
    except sdk.APIConnectionError as exc:
        cause = exc.__cause__ or exc.__context__
        return f"nothing answers there ({_short(cause) if cause else _short(exc)})"
    except sdk.AuthenticationError:
        return "the server refused the API key (HTTP 401)"
    except sdk.APIStatusError:
        return None  # a server answered (many local ones have no /models route)
    finally:
        client.close()
    return None


def _key(model: ModelConfig, env: Mapping[str, str]) -> str | None:
    if model.api_key_env:
        return env.get(model.api_key_env)
    return env.get(model.name.split("/", 1)[0].upper() + "_API_KEY")


async def _none() -> None:
    return None


def _short(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text[:200]
