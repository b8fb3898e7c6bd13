"""The live numbers of a run's dashboard header, folded from events one at a time.

The folding itself is ``codeevo.runs.RunSummary.apply`` (the same code `codeevo runs` and the
home screen use); this adds only what a live header needs on top: a bounded best-score history
for the sparkline, the best raised by `evaluated` events between two `progress` lines, and the
"loading"/"idle" states of a dashboard.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from codeevo.runs import RunSummary

HISTORY = 120  # points kept for the best-score sparkline


@dataclass
class RunState(RunSummary):
    """What the dashboard header shows. ``apply`` takes one event; unknown kinds are ignored.

    ``status``: loading | running | paused | finished | stopped | crashed | idle.
    """

    path: Path = field(default_factory=Path)
    status: str = "loading"
    history: deque[float] = field(default_factory=lambda: deque(maxlen=HISTORY))
    events_seen: int = 0

    def apply(self, event: dict[str, Any]) -> None:
        self.events_seen += 1
        super().apply(event)
        kind = event.get("kind")
        if kind == "progress":
            best = event.get("best_score")
            if isinstance(best, int | float):
                self.history.append(float(best))
        elif kind == "evaluated":
            score = event.get("score")
            if event.get("status") == "ok" and isinstance(score, int | float):
                if self.best_score is None or score > self.best_score:
                    self.best_score = float(score)
                    self.best_id = str(event.get("id"))

