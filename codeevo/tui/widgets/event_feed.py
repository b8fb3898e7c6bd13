"""A scrolling log of a run's events, one line each, times shown relative to the run's start."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.widgets import RichLog

from codeevo.tui import format as fmt

_KIND_STYLE = {
    "started": "bold cyan",
    "stopped": "bold yellow",
    "warning": "bold red",
    "migrated": "magenta",
    "inserted": "green",
    "paused": "yellow",
    "resumed": "cyan",
}
# Kinds that only repeat what an `evaluated` line says, or only move header numbers.
_QUIET = {"progress", "inserted", "proposed", "screened"}


def describe(event: dict[str, Any]) -> Text | None:
    """The feed line for an event, or None for kinds the feed leaves to other widgets."""
    kind = str(event.get("kind", "?"))
    if kind in _QUIET:
        return None
    line = Text()
    line.append(f"{kind:<9}", style=_KIND_STYLE.get(kind, "bold"))
    if kind == "evaluated":
        status = str(event.get("status", "?"))
        line.append(f" {event.get('id', '?')} ")
        line.append(f"{event.get('operator', '?')}", style="cyan")
        line.append(f" i{event.get('island', 0)} ")
        if status == "ok":
            line.append(fmt.score(event.get("score")), style="green")
            if event.get("inserted"):
                line.append(" ★ elite", style="green")
        else:
            line.append(f"{status}@{event.get('stage') or '-'}", style="red")
            if event.get("reason"):
                line.append(f" {str(event['reason'])[:60]}", style="dim")
        if event.get("node") not in (None, "local"):
            line.append(f" @{event['node']}", style="dim")
    elif kind == "migrated":
        line.append(f" {event.get('id')} island {event.get('source')} → {event.get('dest')}")
    elif kind == "stopped":
        line.append(f" {event.get('reason', '')}")
    elif kind == "started":
        line.append(f" {event.get('problem', '')} seed={event.get('seed', '')}")
    else:
        rest = {k: v for k, v in event.items() if k not in ("t", "kind")}
        line.append(" " + " ".join(f"{k}={v}" for k, v in list(rest.items())[:4]))
    return line


class EventFeed(RichLog):
    """`add(events)` appends one line per interesting event; the oldest lines drop off."""

    DEFAULT_CSS = """
    EventFeed { height: 1fr; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, max_lines=500, wrap=False, markup=False, auto_scroll=True)
        self.keep = 500  # lines of one batch worth writing (the rest would drop off at once)
        self.t0: float | None = None

    def add(self, events: list[dict[str, Any]]) -> None:
        """Append a batch's lines in one write (one measure and render per batch, not per
        event: the feed was the costliest part of applying live events)."""
        lines: list[Text] = []
        for event in events:
            t = event.get("t")
            if self.t0 is None and isinstance(t, int | float):
                self.t0 = float(t)
            body = describe(event)
            if body is None:
                continue
            stamp = "--:--"
            if isinstance(t, int | float) and self.t0 is not None:
                stamp = fmt.elapsed(float(t) - self.t0)
            lines.append(Text(f"{stamp} ", style="dim") + body)
        if lines:
            self.write(Text("\n").join(lines[-self.keep:]))
