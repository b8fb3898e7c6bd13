"""Running totals of a run: evaluations, failures by stage, tokens and dollars per model and
per operator. Built the same way live and from the lineage (resume, `codeevo best`)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from codeevo.candidate import Candidate, Status
from codeevo.config import BudgetConfig
from codeevo.lineage.rules import is_evaluated


@dataclass
class _Totals:
    calls: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    cost: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {"calls": self.calls, "tokens_in": self.tokens_in,
                "tokens_out": self.tokens_out, "cost": round(self.cost, 6)}


@dataclass
class RunStats:
    candidates: int = 0
    evaluations: int = 0  # candidates that reached a sandbox (seed included)
    ok: int = 0
    infra: int = 0  # candidates the infrastructure could not evaluate (not evaluations)
    tokens: int = 0
    cost: float = 0.0
    failures: Counter[str] = field(default_factory=Counter)  # "status:stage" → count
    by_model: dict[str, _Totals] = field(default_factory=dict)
    by_operator: dict[str, _Totals] = field(default_factory=dict)

    def account(self, cand: Candidate) -> None:
        self.candidates += 1
        if cand.status == Status.INFRA:
            self.infra += 1
        if is_evaluated(cand.status):
            self.evaluations += 1
        if cand.ok:
            self.ok += 1
        elif cand.status != Status.INFRA:
            self.failures[f"{cand.status.value}:{cand.stage or '-'}"] += 1
        t_in = int(cand.tokens.get("input", 0))
        t_out = int(cand.tokens.get("output", 0))
        self.tokens += t_in + t_out
        self.cost += cand.cost
        for key, table in ((cand.model, self.by_model), (cand.operator, self.by_operator)):
            if key is None:
                continue
            tot = table.setdefault(key, _Totals())
            tot.calls += 1
            tot.tokens_in += t_in
            tot.tokens_out += t_out
            tot.cost += cand.cost

    @classmethod
    def from_candidates(cls, candidates: Iterable[Candidate]) -> RunStats:
        stats = cls()
        for cand in candidates:
            stats.account(cand)
        return stats

    def totals(self) -> dict[str, Any]:
        return {
            "by_model": {k: v.as_dict() for k, v in sorted(self.by_model.items())},
            "by_operator": {k: v.as_dict() for k, v in sorted(self.by_operator.items())},
        }

    def progress(
        self, best: Candidate | None, elapsed: float, budget: BudgetConfig, candidates: int,
        session_evaluations: int | None = None,
    ) -> dict[str, Any]:
        """A `progress` event's fields; the rate counts this session's evaluations only."""
        recent = self.evaluations if session_evaluations is None else session_evaluations
        left: dict[str, Any] = {}
        if budget.max_evaluations is not None:
            left["evaluations"] = max(0, budget.max_evaluations - self.evaluations)
        if budget.max_wall_seconds is not None:
            left["seconds"] = round(max(0.0, budget.max_wall_seconds - elapsed), 1)
        if budget.max_tokens is not None:
            left["tokens"] = max(0, budget.max_tokens - self.tokens)
        if budget.max_cost is not None:
            left["cost"] = round(max(0.0, budget.max_cost - self.cost), 6)
        return {
            "candidates": candidates,
            "evaluations": self.evaluations,
            "ok": self.ok,
            "infra": self.infra,
            "best_score": best.score if best else None,
            "best_id": best.id if best else None,
            "elapsed": round(elapsed, 3),
            "rate": round(recent / elapsed * 60, 2) if elapsed > 0 else 0.0,
            "failures": dict(self.failures),
            "tokens": self.tokens,
            "cost": round(self.cost, 6),
            "budget_left": left,
            **self.totals(),
        }
