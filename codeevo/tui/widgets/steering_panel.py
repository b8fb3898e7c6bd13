"""The dashboard's steering panel: the bandit's allocation over time and the latest insights.

Hidden until the run has either (a run without a bandit or insights looks as before). Fed by
`add(events)` with the dashboard's event batches (``bandit`` and ``insights`` events); on mount
it reads the run's latest insights from the lineage and its last bandit report from the end of
events.jsonl, so a finished run shows them too.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rich.table import Table
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Static

_TAIL_BYTES = 1 << 20
_BARS = " ▁▂▃▄▅▆▇█"


def share_bars(shares: list[float], width: int = 24) -> str:
    """A small bar chart of shares in [0, 1], newest last."""
    return "".join(_BARS[min(8, max(0, round(s * 8)))] for s in shares[-width:])


class SteeringPanel(Horizontal):
    DEFAULT_CSS = """
    SteeringPanel { height: auto; max-height: 12; display: none; border-top: solid $primary 40%; }
    SteeringPanel.shown { display: block; }
    SteeringPanel > #bandit { width: 1fr; height: auto; }
    SteeringPanel > #insights { width: 1fr; height: auto; max-height: 12; padding: 0 1; }
    """

    def __init__(self, run_path: Path | None = None, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.run_path = run_path
        self.report: dict[str, Any] | None = None
        self.history: dict[str, list[float]] = {}  # arm label -> its share per report
        self.insight: dict[str, Any] | None = None

    def compose(self) -> ComposeResult:
        yield Static(id="bandit")
        yield Static(id="insights")

    def on_mount(self) -> None:
        if self.run_path is not None:
            self._load(self.run_path)

    @work(thread=True, exclusive=True, group="steering-load")
    def _load(self, run_path: Path) -> None:
        events: list[dict[str, Any]] = []
        try:
            from codeevo.insights.store import InsightStore

            latest = InsightStore(run_path / "lineage.git").latest()
            if latest is not None:
                events.append({"kind": "insights", "version": latest.version,
                               "evaluations": latest.evaluations, "source": latest.source,
                               "text": latest.text})
        except Exception:  # no lineage yet, or not readable: nothing to show
            pass
        events += _last_bandit_reports(run_path / "events.jsonl")
        if events:
            self.app.call_from_thread(self.add, events)

    def add(self, events: list[dict[str, Any]]) -> None:
        """Take the ``bandit`` and ``insights`` events of a batch; redraw once."""
        touched = False
        for event in events:
            kind = event.get("kind")
            if kind == "bandit" and isinstance(event.get("arms"), list):
                if self.report is not None and event.get("proposals", 0) < self.report.get(
                        "proposals", 0):
                    continue  # an older report (read from the log after live ones came)
                self.report = event
                for arm in event["arms"]:
                    label = _label(arm)
                    self.history.setdefault(label, []).append(float(arm.get("share") or 0.0))
                touched = True
            elif kind == "insights" and isinstance(event.get("text"), str):
                if self.insight is None or event.get("version", 0) >= self.insight.get(
                        "version", 0):
                    self.insight = event
                    touched = True
        if touched:
            self._draw()

    def _draw(self) -> None:
        self.add_class("shown")
        bandit = self.query_one("#bandit", Static)
        if self.report is not None:
            table = Table(title=f"bandit ({self.report.get('policy')}, "
                                f"{self.report.get('proposals')} proposals)",
                          box=None, expand=True, title_justify="left", padding=(0, 1))
            for col in ("arm", "pulls", "share over time", "better", "reward", "$/prop"):
                table.add_column(col, no_wrap=True)
            for arm in sorted(self.report["arms"], key=lambda a: -int(a.get("pulls") or 0)):
                label = _label(arm)
                reward, cost = arm.get("reward"), arm.get("cost")
                table.add_row(label, str(arm.get("pulls", 0)),
                              share_bars(self.history.get(label, [])),
                              str(arm.get("improved", 0)),
                              "-" if reward is None else f"{reward:.2f}",
                              "-" if cost is None else f"{cost:.5f}")
            bandit.update(table)
        else:
            bandit.update(Text("no bandit (fixed weights)", style="dim"))
        ins = self.query_one("#insights", Static)
        if self.insight is not None:
            head = Text(f"insights v{self.insight.get('version')} after "
                        f"{self.insight.get('evaluations')} evaluations "
                        f"({self.insight.get('source')})\n", style="bold")
            ins.update(head + Text(str(self.insight.get("text", "")).strip()))
        else:
            ins.update(Text("no insights yet", style="dim"))


def _label(arm: dict[str, Any]) -> str:
    model = str(arm.get("model") or "offline")
    return f"{model.split('/')[-1]}·{arm.get('operator')}"


def _last_bandit_reports(path: Path, keep: int = 24) -> list[dict[str, Any]]:
    """The last `keep` bandit events, read from the end of the log only."""
    try:
        with path.open("rb") as fh:
            fh.seek(0, 2)
            size = fh.tell()
            fh.seek(max(0, size - _TAIL_BYTES))
            tail = fh.read()
    except OSError:
        return []
    out = []
    for line in tail.splitlines():
        if b'"kind": "bandit"' not in line:
            continue
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if isinstance(event, dict):
            out.append(event)
    return out[-keep:]
