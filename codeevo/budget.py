"""Token and dollar budgets as ceilings: every LLM request reserves its worst case first.

A request is sent only when what was spent, plus what requests in flight have reserved, plus
this request's worst case fits under the budget. The worst case is an upper bound: input tokens
at most the prompt's UTF-8 bytes (a byte-level tokenizer never makes more tokens than bytes)
plus a per-message allowance for the chat template, output tokens at most the model's
`max_tokens`, dollars at the model's prices. When the request ends, its reservation is replaced
by what it really cost. So a run's spend can never pass its budget; near the end it stops with
up to one worst-case request's worth left unspent. A request that does not fit raises
`BudgetReached`; the engine then starts no new work and lets the requests in flight finish.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass

from codeevo.config import BudgetConfig
from codeevo.errors import CodeevoError

TEMPLATE_TOKENS_PER_MESSAGE = 8
TEMPLATE_TOKENS_PER_REQUEST = 16


class BudgetReached(CodeevoError):
    """A request's worst case does not fit in what is left of a budget. Not a failure: the
    run finishes with the budget's reason."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind  # "tokens" or "cost"


def input_token_bound(texts: Iterable[str]) -> int:
    """An upper bound on the input tokens of a request made of these messages."""
    total = TEMPLATE_TOKENS_PER_REQUEST
    for text in texts:
        total += len(text.encode("utf-8")) + TEMPLATE_TOKENS_PER_MESSAGE
    return total


@dataclass(frozen=True)
class Reservation:
    id: int
    tokens: int
    cost: float


class SpendCeiling:
    """What a run has spent and reserved against its token and dollar budgets."""

    def __init__(self, max_tokens: int | None = None, max_cost: float | None = None) -> None:
        self.max_tokens = max_tokens
        self.max_cost = max_cost
        self.spent_tokens = 0
        self.spent_cost = 0.0
        self._held: dict[int, Reservation] = {}
        self._ids = itertools.count(1)
        self.refused: BudgetReached | None = None  # the first request that did not fit

    @property
    def active(self) -> bool:
        return self.max_tokens is not None or self.max_cost is not None

    @property
    def reserved_tokens(self) -> int:
        return sum(r.tokens for r in self._held.values())

    @property
    def reserved_cost(self) -> float:
        return sum(r.cost for r in self._held.values())

    def add_spent(self, tokens: int, cost: float) -> None:
        """Count spend that needed no reservation (earlier sessions of a resumed run)."""
        self.spent_tokens += tokens
        self.spent_cost += cost

    def reserve(self, tokens: int, cost: float) -> Reservation:
        """Hold `tokens` and `cost` for one request, or raise BudgetReached."""
        if self.max_tokens is not None:
            if self.spent_tokens + self.reserved_tokens + tokens > self.max_tokens:
                self._refuse("tokens", f"token budget reached ({self.max_tokens})")
        if self.max_cost is not None:
            if self.spent_cost + self.reserved_cost + cost > self.max_cost:
                self._refuse("cost", f"cost budget reached (${self.max_cost:g})")
        held = Reservation(next(self._ids), tokens, cost)
        self._held[held.id] = held
        return held

    def settle(self, held: Reservation, tokens: int = 0, cost: float = 0.0) -> None:
        """The request ended: drop its reservation and count what it really spent."""
        if self._held.pop(held.id, None) is not None:
            self.spent_tokens += tokens
            self.spent_cost += cost

    def _refuse(self, kind: str, message: str) -> None:
        exc = BudgetReached(kind, message)
        if self.refused is None:
            self.refused = exc
        raise exc


def budget_reason(b: BudgetConfig, ceiling: SpendCeiling, *, evaluations: int, elapsed: float,
                  tokens: int, cost: float) -> str | None:
    """Why a run must start nothing more (`evaluations` counts those in flight when a start is
    being considered), or None. Tokens and dollars are reserved request by request by the LLM
    client against `ceiling`; `tokens`/`cost` are what the recorded candidates spent."""
    if b.max_evaluations is not None and evaluations >= b.max_evaluations:
        return f"evaluation budget reached ({b.max_evaluations})"
    if b.max_wall_seconds is not None and elapsed >= b.max_wall_seconds:
        return f"wall-time budget reached ({b.max_wall_seconds:g} s)"
    if ceiling.refused is not None:
        return str(ceiling.refused)
    if b.max_tokens is not None and tokens >= b.max_tokens:
        return f"token budget reached ({b.max_tokens})"
    if b.max_cost is not None and cost >= b.max_cost:
        return f"cost budget reached (${b.max_cost:g})"
    return None


def spent_text(b: BudgetConfig, ceiling: SpendCeiling, tokens: int, cost: float) -> str:
    """What the run spent against its token and dollar budgets (the stop line). The ceiling
    also counts requests whose candidate was never recorded (cancelled at stop)."""
    tokens = max(ceiling.spent_tokens, tokens)
    cost = max(ceiling.spent_cost, cost)
    parts = []
    if b.max_tokens is not None:
        parts.append(f"{tokens:,} of {b.max_tokens:,} tokens")
    if b.max_cost is not None:
        parts.append(f"${cost:.4f} of ${b.max_cost:g}")
    return "spent " + ", ".join(parts)
