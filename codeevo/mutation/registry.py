"""Build the run's operators from its config: the offline AST operator when no LLM is
configured, else the LLM operators (litellm is imported only then)."""

from __future__ import annotations

from pathlib import Path

from codeevo.budget import SpendCeiling
from codeevo.config import RunConfig
from codeevo.mutation.base import Operator

OFFLINE_NOTICE = "no LLM configured: using the offline AST mutation operator (no API key needed)"


def make_operators(
    config: RunConfig, llm_dir: Path | None, ceiling: SpendCeiling | None = None
) -> tuple[dict[str, Operator], dict[str, float], str | None]:
    """(operators by name, mix weights, a one-line notice or None). `ceiling` holds the run's
    token and dollar budgets, which the LLM client reserves request by request."""
    from codeevo.mutation.ast_ops import AstMutationOperator

    ops: dict[str, Operator] = {"ast": AstMutationOperator(config.operators)}
    if not config.llm.models:
        return ops, {"ast": 1.0}, OFFLINE_NOTICE
    from codeevo.llm.client import make_client
    from codeevo.mutation.llm_ops import make_llm_operators

    client = make_client(config.llm, store_dir=llm_dir, slots=config.engine.proposal_slots,
                         ceiling=ceiling)
    ops.update(make_llm_operators(config, client))
    mix = {k: w for k, w in config.operators.mix.items() if w > 0 and k in ops}
    return ops, mix, None
