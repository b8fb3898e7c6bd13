"""The dashboard's header: counts, rate, best score with its trend, cost, budget, failures."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Sparkline, Static

from codeevo.executor.base import occupancy_text
from codeevo.lineage.index import Row
from codeevo.tui import format as fmt
from codeevo.tui.run_state import RunState

_STATUS_STYLE = {
    "running": "bold green",
    "paused": "bold yellow",
    "pausing": "bold yellow",
    "finished": "bold cyan",
    "stopped": "bold yellow",
    "crashed": "bold red",
}


class RunHeader(Horizontal):
    """Two lines of figures and a best-score sparkline; `show(state)` redraws from a RunState."""

    DEFAULT_CSS = """
    RunHeader { height: 3; padding: 0 1; }
    RunHeader > #figures { width: 1fr; height: 3; text-wrap: nowrap; text-overflow: ellipsis; }
    RunHeader > #trend { width: 24; height: 3; margin: 0 1; }
    """

    def compose(self) -> ComposeResult:
        yield Static(id="figures")
        yield Sparkline([], id="trend")

    def show(self, state: RunState, best: Row | None = None, trend: list[float] | None = None,
             live: bool = False) -> None:
        """Redraw from the header state; `best` is the read model's best candidate."""
        line1 = Text()
        status = state.status
        if state.draining:
            status = f"pausing — {state.in_flight} still in flight"
        elif status == "paused" and state.in_flight == 0:
            status = "paused — nothing in flight"
        elif status == "pausing":
            status = "pausing…"
        line1.append(f"● {status}", style=_STATUS_STYLE.get(state.status, "bold"))
        if live:
            line1.append(" (in-process)", style="dim")
        line1.append("  evals ")
        line1.append(str(state.evaluations), style="bold")
        if state.candidates:
            line1.append(f" / {state.candidates} cand")
        rate = "—" if state.rate is None else f"{state.rate:.1f}/min"
        line1.append(f"  rate {rate}  best ")
        line1.append(fmt.score(best.score if best else None), style="bold green")
        if best is not None:
            line1.append(f" ({best.id} {best.short})".replace(" )", ")"), style="dim")
        line2 = Text(f"cost {fmt.money(state.cost)}  tokens {fmt.count(state.tokens)}")
        if state.slots is not None:
            on = f" on {state.nodes} nodes" if state.nodes not in (None, 1) else ""
            line2.append(f"  slots {state.busy or 0}/{state.slots}{on}")
        if state.budget_left:
            left = ", ".join(f"{k} {v}" for k, v in sorted(state.budget_left.items()))
            line2.append(f"  budget left: {left}")
        if state.stop_reason:
            line2.append(f"  stop: {state.stop_reason}", style="yellow")
        if state.per_node:  # each node's slots in use (a wide cluster runs off the end)
            line2.append(f"  nodes: {occupancy_text(state.per_node)}", style="dim")
        line3 = Text()
        if state.failures:
            worst = sorted(state.failures.items(), key=lambda kv: (-kv[1], kv[0]))[:5]
            line3.append("failures: ")
            line3.append(", ".join(f"{k} {v}" for k, v in worst), style="red")
        else:
            line3.append("failures: none", style="dim")
        shown = Text("\n").join([line1, line2, line3])
        shown.no_wrap = True
        shown.overflow = "ellipsis"
        self.query_one("#figures", Static).update(shown)
        self.query_one("#trend", Sparkline).data = trend or []
