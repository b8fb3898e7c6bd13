"""The live numbers of a run's dashboard header, folded from events one at a time.

The folding itself is ``codeevo.runs.RunSummary.apply`` (the same code the home screen's list
of runs uses); this adds only what a live header needs on top: how many candidates are still
in flight after a pause (the engine's `paused` event counts them, each `evaluated` one lands,
`drained` says the last is in), and the "loading"/"idle"/"pausing" states of a dashboard.
Which candidate is best is the read model's answer (``LineageIndex.best``), not this one's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from codeevo.runs import RunSummary


@dataclass
class RunState(RunSummary):
    """What the dashboard header shows. ``apply`` takes one event; unknown kinds are ignored.

    ``status``: loading | running | pausing (asked, not yet confirmed) | paused | finished |
    stopped | crashed | idle. ``in_flight``: after a pause, candidates still being finished
    (None when not known: not paused, or a log from before events counted them).
    """

    path: Path = field(default_factory=Path)
    status: str = "loading"
    in_flight: int | None = None
    events_seen: int = 0

    def apply(self, event: dict[str, Any]) -> None:
        self.events_seen += 1
        super().apply(event)
        kind = event.get("kind")
        if kind == "paused":
            n = event.get("in_flight")
            self.in_flight = int(n) if isinstance(n, int) else None
        elif kind == "drained":
            self.in_flight = 0
        elif kind == "evaluated" and self.status == "paused" and self.in_flight:
            self.in_flight -= 1
        elif kind in ("started", "resumed", "stopped"):
            self.in_flight = None

    @property
    def draining(self) -> bool:
        """Paused, with candidates still in flight."""
        return self.status == "paused" and bool(self.in_flight)
