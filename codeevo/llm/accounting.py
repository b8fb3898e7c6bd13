"""Tokens, dollars, latency and retries: prices for local models and running totals."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from codeevo.config import ModelConfig


def configured_cost(model: ModelConfig, tokens_in: int, tokens_out: int) -> float | None:
    """Dollars at the prices set in the config (per million tokens), or None when the config
    sets neither price (then litellm's price map decides). One price set alone counts the
    other side as free: a local model usually has no price at all."""
    if model.input_price_per_mtok is None and model.output_price_per_mtok is None:
        return None
    price_in = model.input_price_per_mtok or 0.0
    price_out = model.output_price_per_mtok or 0.0
    return (tokens_in * price_in + tokens_out * price_out) / 1_000_000


@dataclass
class UsageTotals:
    """Sums over calls (or proposals): what a progress bar, events.jsonl and `best` show."""

    calls: int = 0
    failures: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    cost: float = 0.0
    latency: float = 0.0
    retries: int = 0

    def add(
        self,
        *,
        tokens_in: int = 0,
        tokens_out: int = 0,
        cost: float = 0.0,
        latency: float = 0.0,
        retries: int = 0,
        failed: bool = False,
    ) -> None:
        self.calls += 1
        self.failures += int(failed)
        self.tokens_in += tokens_in
        self.tokens_out += tokens_out
        self.cost += cost
        self.latency += latency
        self.retries += retries

    @property
    def tokens(self) -> int:
        return self.tokens_in + self.tokens_out

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["cost"] = round(self.cost, 6)
        out["latency"] = round(self.latency, 3)
        return out


@dataclass
class UsageLedger:
    """Totals overall, per model and per operator. Feed it every Proposal (failed ones too)."""

    total: UsageTotals = field(default_factory=UsageTotals)
    by_model: dict[str, UsageTotals] = field(default_factory=dict)
    by_operator: dict[str, UsageTotals] = field(default_factory=dict)

    def add(
        self,
        operator: str,
        model: str | None,
        *,
        tokens_in: int = 0,
        tokens_out: int = 0,
        cost: float = 0.0,
        latency: float = 0.0,
        retries: int = 0,
        failed: bool = False,
    ) -> None:
        kw = dict(tokens_in=tokens_in, tokens_out=tokens_out, cost=cost, latency=latency,
                  retries=retries, failed=failed)
        self.total.add(**kw)  # type: ignore[arg-type]
        self.by_operator.setdefault(operator, UsageTotals()).add(**kw)  # type: ignore[arg-type]
        if model is not None:
            self.by_model.setdefault(model, UsageTotals()).add(**kw)  # type: ignore[arg-type]

    def as_dict(self) -> dict[str, Any]:
        return {
            "total": self.total.as_dict(),
            "by_model": {k: v.as_dict() for k, v in sorted(self.by_model.items())},
            "by_operator": {k: v.as_dict() for k, v in sorted(self.by_operator.items())},
        }
