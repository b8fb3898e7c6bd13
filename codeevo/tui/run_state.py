"""The live numbers of a run's dashboard header, folded from events one at a time.

The engine's ``progress`` event already carries the totals (evaluations, best, rate, failures,
cost, tokens, budget left), so this only keeps the latest values, a bounded best-score history
for the sparkline and the run's status; it computes no statistics of its own.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any

HISTORY = 120  # points kept for the best-score sparkline


@dataclass
class RunState:
    """What the dashboard header shows. ``apply`` takes one event; unknown kinds are ignored."""

    status: str = "loading"  # loading | running | paused | finished | stopped | crashed | idle
    evaluations: int = 0
    candidates: int = 0
    rate: float | None = None  # evaluations per minute, as the engine reports it
    best_score: float | None = None
    best_id: str | None = None
    cost: float = 0.0
    tokens: int = 0
    budget: dict[str, Any] = field(default_factory=dict)
    failures: dict[str, int] = field(default_factory=dict)
    stop_reason: str | None = None
    history: deque[float] = field(default_factory=lambda: deque(maxlen=HISTORY))
    events_seen: int = 0

    def apply(self, event: dict[str, Any]) -> None:
        self.events_seen += 1
        kind = event.get("kind")
        if kind == "started":
            self.status = "running"
            self.stop_reason = None
        elif kind == "progress":
            self._progress(event)
        elif kind == "evaluated":
            score = event.get("score")
            if event.get("status") == "ok" and isinstance(score, int | float):
                if self.best_score is None or score > self.best_score:
                    self.best_score = float(score)
                    self.best_id = str(event.get("id"))
        elif kind == "stopped":
            self.stop_reason = str(event.get("reason", ""))
            self.status = "finished" if event.get("finished") else "stopped"
        elif kind == "paused":
            self.status = "paused"
        elif kind == "resumed":
            self.status = "running"

    def _progress(self, event: dict[str, Any]) -> None:
        self.evaluations = int(event.get("evaluations", self.evaluations))
        self.candidates = int(event.get("candidates", self.candidates))
        rate = event.get("rate")
        self.rate = float(rate) if isinstance(rate, int | float) else self.rate
        best = event.get("best_score")
        if isinstance(best, int | float):
            self.best_score = float(best)
            self.best_id = str(event.get("best_id", self.best_id))
            self.history.append(float(best))
        self.cost = float(event.get("cost", self.cost) or 0.0)
        tokens = event.get("tokens", self.tokens)
        if isinstance(tokens, dict):
            tokens = sum(int(v) for v in tokens.values() if isinstance(v, int | float))
        self.tokens = int(tokens or 0)
        budget = event.get("budget_left", event.get("budget"))
        if isinstance(budget, dict):
            self.budget = dict(budget)
        failures = event.get("failures")
        if isinstance(failures, dict):
            self.failures = {str(k): int(v) for k, v in failures.items()}
