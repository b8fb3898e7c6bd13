"""The lineage screen: the run as a commit graph, with filters, highlights, folds and jumps.

It shares the dashboard's read model; while a run is live the graph is laid out again (at most
twice a second) when new candidates have been indexed, keeping the cursor where it was.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import Footer, Input, Select, Static

from codeevo.candidate import Status
from codeevo.lineage.index import LineageIndex
from codeevo.lineage.layout import LayoutFilter
from codeevo.run_reader import RunReader
from codeevo.tui.compat import chosen
from codeevo.tui.widgets.lineage_graph import LineageGraph
from codeevo.tui.widgets.title_bar import TitleBar

if TYPE_CHECKING:
    from codeevo.tui.app import CodeevoApp

LIVE_RELAYOUT_S = 0.5


def parse_range(text: str) -> tuple[float | None, float | None]:
    """`MIN..MAX`, `MIN..`, `..MAX` or one number (a minimum); ValueError names the problem."""
    text = text.strip()
    if not text:
        return None, None
    lo, sep, hi = text.partition("..")
    try:
        low = float(lo) if lo.strip() else None
        high = float(hi) if sep and hi.strip() else None
    except ValueError:
        raise ValueError(f"score range {text!r}: write MIN..MAX, MIN.. or ..MAX") from None
    if low is not None and high is not None and low > high:
        raise ValueError(f"score range {text!r}: the minimum is above the maximum")
    return low, high


class LineageScreen(Screen[None]):
    BINDINGS = [
        Binding("b", "best", "Best"),
        Binding("slash", "jump", "Go to id"),
        Binding("f", "filters", "Filters"),
        Binding("escape", "back", "Back"),
    ]
    HELP_NOTES = [("score range", "MIN..MAX, MIN.. or ..MAX; unscored candidates drop out"),
                  ("⤳cNNNNNN", "a second parent whose edge has no room to be drawn"),
                  ("(via N hidden)", "N generations between here and the row above are "
                                     "filtered out")]

    DEFAULT_CSS = """
    LineageScreen #filters { height: auto; padding: 0 1; display: none; }
    LineageScreen #filters.-shown { display: block; }
    LineageScreen #filters > Select { width: 1fr; margin-right: 1; }
    LineageScreen #filters > Input { width: 1fr; }
    LineageScreen #status { height: 1; padding: 0 1; color: $text-muted; }
    """

    def __init__(self, reader: RunReader, index: LineageIndex, focus: str | None = None) -> None:
        super().__init__()
        self.reader = reader
        self.index = index
        self.focus_id = focus
        self.filter_note = ""  # "12 of 60 match", shown before the cursor's line
        self.sub_title = f"lineage of {reader.path.name}"

    @property
    def codeevo(self) -> CodeevoApp:
        from codeevo.tui.app import CodeevoApp

        return cast(CodeevoApp, self.app)

    @property
    def graph(self) -> LineageGraph:
        return self.query_one(LineageGraph)

    def compose(self) -> ComposeResult:
        yield TitleBar()
        with Horizontal(id="filters"):
            yield Select([(f"island {i}", i) for i in self.index.islands()],
                         prompt="any island", id="f-island")
            yield Select([(op, op) for op in self.index.operator_names()],
                         prompt="any operator", id="f-operator")
            yield Select([(s.value, s.value) for s in Status], prompt="any status",
                         id="f-status")
            yield Input(placeholder="score MIN..MAX", id="f-score")
        yield Static("", id="status")
        yield LineageGraph(self.index, id="graph")
        yield Footer()

    def on_mount(self) -> None:
        self.graph.focus()
        if self.focus_id is not None:
            self.call_after_refresh(self.reveal, self.focus_id)
        self.set_interval(LIVE_RELAYOUT_S, self._follow)

    def _follow(self) -> None:
        if self.graph.stale:
            self.graph.relayout()

    def say(self, message: str | Text) -> None:
        self.query_one("#status", Static).update(message)

    def reveal(self, cid: str) -> None:
        if not self.graph.reveal(cid):
            self.say(f"{cid} is hidden by the filter (f to change it)")

    # ------------------------------------------------------------------ messages

    def on_lineage_graph_moved(self, event: LineageGraph.Moved) -> None:
        if event.cid is None:
            self.say(f"{len(event.row.ids)} candidates folded here — enter or space unfolds")
            return
        row = self.index.rows[event.cid]
        kids = self.index.children(event.cid)
        crossed = sum(1 for k in kids if self.index.rows[k].parents[0] != event.cid)
        text = Text()
        if self.filter_note:
            text.append(f"[{self.filter_note}] ", style="yellow")
        text.append(f"{event.cid} ", style="bold")
        text.append(f"{row.commit[:10] if row.commit else '(commit not known yet)'}  ",
                    style="dim")
        text.append(f"generation {len(self.index.primary_line(event.cid)) - 1} · "
                    f"{len(kids)} children")
        if crossed:
            text.append(f" ({crossed} as second parent)")
        if row.parents:
            text.append(f" · parents {', '.join(row.parents)}")
        self.say(text)

    def on_lineage_graph_opened(self, event: LineageGraph.Opened) -> None:
        self.codeevo.show_candidate(self.reader, self.index, event.cid)

    def on_lineage_graph_said(self, event: LineageGraph.Said) -> None:
        self.say(event.text)

    def on_select_changed(self, _: Select.Changed) -> None:
        self._apply_filter()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "f-score":
            self._apply_filter()
            self.graph.focus()

    def _apply_filter(self) -> None:
        try:
            low, high = parse_range(self.query_one("#f-score", Input).value)
        except ValueError as exc:
            self.say(Text(str(exc), style="red"))
            return
        flt = LayoutFilter(
            island=chosen(self.query_one("#f-island", Select)),
            operator=chosen(self.query_one("#f-operator", Select)),
            status=chosen(self.query_one("#f-status", Select)),
            score_min=low, score_max=high)
        if flt != self.graph.filter:
            shown = sum(1 for r in self.index if flt.matches(r))
            self.filter_note = f"filter: {shown} of {len(self.index)} match" if flt.active else ""
            self.graph.set_filter(flt)
            self.say(self.filter_note or "filter cleared")

    # ------------------------------------------------------------------ actions

    def action_best(self) -> None:
        best = self.index.best()
        if best is None:
            self.notify("no scored candidate yet", severity="warning")
            return
        self.reveal(best.id)
        self.graph.ancestry = self.index.ancestors(best.id)
        self.graph.refresh()

    def action_jump(self) -> None:
        from codeevo.tui.screens.jump import JumpScreen

        def chosen_id(cid: str | None) -> None:
            if cid is not None:
                self.reveal(cid)

        self.app.push_screen(JumpScreen(self.index), chosen_id)

    def action_filters(self) -> None:
        bar = self.query_one("#filters")
        bar.toggle_class("-shown")
        if bar.has_class("-shown"):
            self.query_one("#f-island", Select).focus()
        else:
            self.graph.focus()

    def action_back(self) -> None:
        self.app.pop_screen()
