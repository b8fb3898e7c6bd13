"""Is a model name one litellm can route? Checked against litellm's own provider list and
model table (no network: LITELLM_LOCAL_MODEL_COST_MAP keeps the bundled table)."""

from __future__ import annotations

import difflib
import functools
import os


@functools.cache
def litellm_names() -> tuple[frozenset[str], frozenset[str]]:
    """(provider names, known model names). Imports litellm (seconds): call from a worker."""
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    import litellm

    providers = frozenset(str(getattr(p, "value", p)) for p in litellm.provider_list)
    return providers, frozenset(str(m) for m in litellm.model_cost)


def check_model(name: str, providers: frozenset[str], models: frozenset[str]) -> str | None:
    """None when litellm can route `name`, else what is wrong with it."""
    if name in models:
        return None
    provider, sep, rest = name.partition("/")
    if sep and rest and provider in providers:
        return None
    if not sep:
        guess = difflib.get_close_matches(name, models, n=1)
        hint = f" (did you mean {guess[0]}?)" if guess else ""
        return (f"{name!r}: not a model litellm knows{hint}; write provider/model, "
                f"e.g. openai/{name}")
    if not rest:
        return f"{name!r}: no model name after the provider"
    guess = difflib.get_close_matches(provider, providers, n=1)
    hint = f"did you mean {guess[0]}?" if guess else "e.g. openai, anthropic, ollama, hosted_vllm"
    return f"{name!r}: litellm has no provider {provider!r} ({hint})"
