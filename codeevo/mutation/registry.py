"""Build the run's operators from its config: the offline operators (AST edits and the CMA-ES
tuner) always, the LLM operators when models are configured (litellm is imported only then)."""

from __future__ import annotations

from pathlib import Path

from codeevo.budget import SpendCeiling
from codeevo.config import RunConfig
from codeevo.llm.base import LLMClient
from codeevo.mutation.base import Operator

OFFLINE_NOTICE = ("no LLM configured: using the offline operators (AST edits and the CMA-ES "
                  "tuner; no API key needed)")
OFFLINE = ("ast", "tune")
# AST edits for structure and single nudges, CMA-ES for the constants (benchmarks/discovery.py).
OFFLINE_MIX = {"ast": 0.5, "tune": 0.5}


def make_operators(
    config: RunConfig, llm_dir: Path | None, ceiling: SpendCeiling | None = None
) -> tuple[dict[str, Operator], dict[str, float], str | None]:
    """(operators by name, mix weights, a one-line notice or None). `ceiling` holds the run's
    token and dollar budgets, which the LLM client reserves request by request."""
    ops, mix, notice, _ = make_operators_and_client(config, llm_dir, ceiling)
    return ops, mix, notice


def make_operators_and_client(
    config: RunConfig, llm_dir: Path | None, ceiling: SpendCeiling | None = None
) -> tuple[dict[str, Operator], dict[str, float], str | None, LLMClient | None]:
    """`make_operators` plus the LLM client the operators share (None offline): the novelty
    judge and the insight summariser ask through it too."""
    from codeevo.mutation.ast_ops import AstMutationOperator
    from codeevo.mutation.tune import TuneOperator

    ops: dict[str, Operator] = {"ast": AstMutationOperator(config.operators),
                                "tune": TuneOperator(config.operators)}
    if not config.llm.models:
        mix = {k: w for k, w in config.operators.mix.items() if k in OFFLINE and w > 0}
        return ops, mix or dict(OFFLINE_MIX), OFFLINE_NOTICE, None
    from codeevo.llm.client import make_client
    from codeevo.mutation.llm_ops import make_llm_operators

    client = make_client(config.llm, store_dir=llm_dir, slots=config.engine.proposal_slots,
                         ceiling=ceiling)
    ops.update(make_llm_operators(config, client))
    mix = {k: w for k, w in config.operators.mix.items() if w > 0 and k in ops}
    return ops, mix, None, client
