"""The run dashboard: header figures, one map per island, and tabs: leaderboard, progress
plot, outcome rates, event feed, and any panels registered by other parts of codeevo.

Data arrives in batches: from an in-process engine (a wake-up message, collapsed when several
arrive before the screen handles one) or, for a run another process writes, from polling
`events.jsonl`. Each batch goes into the read model (``LineageIndex.apply``) and then only what
it touched is redrawn; nothing is rebuilt per event.

Extension point: ``register_panel(PanelSpec(...))`` adds a tab. Its widget gets
``update_from(PanelContext)`` after each batch while its tab is shown (and when the tab is
opened): the read model, the header state, the problem's features and the events just applied.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, cast, runtime_checkable

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import DataTable, Footer, Static, TabbedContent, TabPane

from codeevo.config import FeatureConfig
from codeevo.lineage.index import LineageIndex
from codeevo.run_reader import RunHead, RunReader, recent
from codeevo.tui import format as fmt
from codeevo.tui.live_run import LiveRun
from codeevo.tui.run_state import RunState
from codeevo.tui.widgets.event_feed import EventFeed
from codeevo.tui.widgets.heatmap import IslandHeatmap, axis_pairs
from codeevo.tui.widgets.leaderboard import Leaderboard
from codeevo.tui.widgets.outcome_bars import OutcomeBars
from codeevo.tui.widgets.run_header import RunHeader
from codeevo.tui.widgets.score_plot import ISLAND_COLOURS, OVERALL, ScorePlot, Series
from codeevo.tui.widgets.steering_panel import SteeringPanel
from codeevo.tui.widgets.title_bar import TitleBar

if TYPE_CHECKING:
    from codeevo.tui.app import CodeevoApp

POLL_S = 0.5
NARROW = 100  # columns below which the header drops its sparkline
TREND = 120  # points of the best-score sparkline


# ---------------------------------------------------------------------- extension point


@dataclass(frozen=True)
class PanelContext:
    """What a dashboard panel may read after a batch of events."""

    index: LineageIndex
    state: RunState
    features: list[FeatureConfig]
    events: list[dict[str, Any]] = field(default_factory=list)


@runtime_checkable
class DashboardPanel(Protocol):
    def update_from(self, context: PanelContext) -> None: ...


@dataclass(frozen=True)
class PanelSpec:
    """A dashboard tab: its title, its id (a CSS id) and a factory for its widget."""

    title: str
    id: str
    make: Callable[[], Widget]


class ProgressPanel(VerticalScroll):
    """Best score over evaluations, overall and per island."""

    def compose(self) -> ComposeResult:
        yield ScorePlot(id="plot")

    def update_from(self, context: PanelContext) -> None:
        index = context.index
        series = [Series(f"island {i}", ISLAND_COLOURS[n % len(ISLAND_COLOURS)],
                         index.best_curve(i)) for n, i in enumerate(index.islands())]
        series.append(Series("overall", OVERALL, index.best_curve()))
        self.query_one(ScorePlot).show(series, index.evaluations)


class OutcomesPanel(VerticalScroll):
    """Success rates per operator and per model."""

    def compose(self) -> ComposeResult:
        yield OutcomeBars(id="bars")

    def update_from(self, context: PanelContext) -> None:
        self.query_one(OutcomeBars).show(context.index.outcomes("operator"),
                                         context.index.outcomes("model"))


PANELS: list[PanelSpec] = [
    PanelSpec("Progress", "progress", ProgressPanel),
    PanelSpec("Outcomes", "outcomes", OutcomesPanel),
]


def register_panel(spec: PanelSpec) -> None:
    """Add a tab to every dashboard opened from now on (ids must be unique)."""
    if any(p.id == spec.id for p in PANELS):
        raise ValueError(f"a dashboard panel {spec.id!r} exists already")
    PANELS.append(spec)


# ---------------------------------------------------------------------- the screen


class MapArea(VerticalScroll, can_focus=False):
    """The islands' maps (a grid; scrolls when they wrap past its height). Tab goes to the maps
    themselves, not to the area."""


class EventsPending(Message):
    """The engine emitted events; several pending wake-ups collapse into one."""

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, EventsPending)


class DashboardScreen(Screen[None]):
    BINDINGS = [
        Binding("space", "toggle_pause", "Pause/resume"),
        Binding("s", "stop", "Stop"),
        Binding("r", "resume", "Resume"),
        Binding("b", "open_best", "Best"),
        Binding("l", "lineage", "Lineage"),
        Binding("slash", "jump", "Go to id"),
        Binding("o", "open_selected", "Open"),
        Binding("x", "next_axes", "Map axes"),
        Binding("e", "export", "Export HTML"),
        Binding("1", "tab('board')", "Leaderboard", show=False),
        Binding("2", "tab('progress')", "Progress", show=False),
        Binding("3", "tab('outcomes')", "Outcomes", show=False),
        Binding("4", "tab('events')", "Events", show=False),
        Binding("escape", "back", "Back"),
    ]
    HELP_NOTES = [("tab, arrows", "move into a map, then from cell to cell; enter opens"),
                  ("1 2 3 4", "leaderboard, progress plot, outcomes, events tabs")]

    DEFAULT_CSS = """
    DashboardScreen #maps { layout: grid; grid-size: 8; height: auto; max-height: 24; }
    DashboardScreen #cell { height: 1; padding: 0 1; color: $text-muted; }
    DashboardScreen #tabs { height: 1fr; }
    DashboardScreen #board-title { height: 1; padding: 0 1; color: $text-muted; }
    DashboardScreen.-narrow RunHeader > #trend { display: none; }
    """

    def __init__(self, run_path: Path, live: LiveRun | None = None) -> None:
        super().__init__()
        self.run_path = run_path
        self.live = live
        self.reader: RunReader | None = None
        self.state = RunState()
        self.index = LineageIndex()
        self.features: list[FeatureConfig] = []
        self.dims: tuple[int, int] = (0, 1)  # the feature dimensions the maps show
        self._last_scale: tuple[float, float] | None = None  # None: redraw every map
        self.shown = False  # header and feed drawn from the log's tail
        self.loaded = False  # candidates indexed: leaderboard and maps drawn
        self.batches = 0  # batches of events applied (tests and the benchmark watch it)
        self.sub_title = run_path.name

    @property
    def codeevo(self) -> CodeevoApp:
        from codeevo.tui.app import CodeevoApp

        return cast(CodeevoApp, self.app)

    def compose(self) -> ComposeResult:
        yield TitleBar()
        with Vertical():
            yield RunHeader(id="header")
            yield MapArea(id="maps")
            yield Static("", id="cell")
            yield SteeringPanel(self.run_path, id="steering")  # hidden until bandit/insights
            with TabbedContent(id="tabs", initial="board"):
                with TabPane("Leaderboard", id="board"):
                    yield Static("", id="board-title")
                    yield Leaderboard(id="leaderboard")
                for spec in PANELS:
                    with TabPane(spec.title, id=spec.id):
                        yield spec.make()
                with TabPane("Events", id="events"):
                    yield EventFeed(id="feed")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#cell", Static).update("loading run …")
        self._load()

    # ------------------------------------------------------------------ loading

    @work(thread=True, exclusive=True, group="dashboard-load")
    def _load(self) -> None:
        """The log's tail first (header and feed show at once), then the read model
        (leaderboard, maps, plots): indexing a big run is what takes time."""
        reader = RunReader(self.run_path, store=self.codeevo.store_for(self.run_path))
        head = reader.load_head()
        self.app.call_from_thread(self._head_loaded, reader, head)
        index = reader.load_index()
        self.app.call_from_thread(self._index_loaded, index)

    def _head_loaded(self, reader: RunReader, head: RunHead) -> None:
        self.reader = reader
        self.features = head.features
        self.title = f"codeevo — {head.problem}"
        for event in head.events:
            self.state.apply(event)
        if self.state.status in ("loading", "running") and self.live is None:
            self.state.status = "running" if head.events else "idle"
        self.query_one("#feed", EventFeed).add(recent(head.events))
        self._show_header()
        self.shown = True
        self.query_one("#cell", Static).update("indexing the candidates …")

    def _index_loaded(self, index: LineageIndex) -> None:
        self.index = index
        self.loaded = True
        self._refresh(set(self.index.islands()) or {0}, [])
        self.query_one("#leaderboard", Leaderboard).focus()
        feed = self.query_one("#feed", EventFeed)
        self.call_after_refresh(feed.scroll_end, animate=False, x_axis=False)
        self.query_one("#cell", Static).update(
            "tab to a map, arrows pick a cell, enter opens; x: other map axes"
            if len(self.features) > 2 else "tab to a map, arrows pick a cell, enter opens")
        if self.live is not None:
            self.live.notify = self._wake
            self.live.go()
            self.state.status = "pausing" if self.live.paused else "running"
            self._show_header()
        else:
            self.set_interval(POLL_S, self._poll)

    @work(thread=True, exclusive=True, group="dashboard-poll")
    def _poll(self) -> None:
        if self.reader is None:
            return
        events = self.reader.poll()
        if events:
            self.app.call_from_thread(self.apply_events, events)

    def _wake(self) -> None:
        """Called from the engine's thread; post_message is thread-safe."""
        self.post_message(EventsPending())

    def on_events_pending(self, _: EventsPending) -> None:
        if self.live is not None:
            events = self.live.drain()
            if events:
                self.apply_events(events)
            if self.live.done.is_set():
                if self.live.error is not None:
                    self.notify(f"run failed: {self.live.error}", severity="error", timeout=10)
                self._show_header()

    # ------------------------------------------------------------------ updates

    def apply_events(self, events: list[dict[str, Any]]) -> None:
        """Fold a batch of events into the header state and the read model, and redraw what
        they touched, once."""
        for event in events:
            self.state.apply(event)
        changes = self.index.apply(events)
        self.batches += 1
        self.query_one("#steering", SteeringPanel).add(events)
        self.query_one("#feed", EventFeed).add(events)
        self._refresh(changes.islands, events)

    def _refresh(self, islands: set[int], events: list[dict[str, Any]]) -> None:
        self._show_header()
        self.query_one("#leaderboard", Leaderboard).show(self.index)
        maps = self.query_one("#maps", MapArea)
        known = {m.island: m for m in maps.query(IslandHeatmap)}
        scale = self._scale()
        rescale = scale != self._last_scale
        self._last_scale = scale
        added = False
        for island in sorted(set(islands) | (set(known) if rescale else set())):
            heat = known.get(island)
            if heat is None:
                heat = IslandHeatmap(island, self.features, self.dims, id=f"island-{island}")
                maps.mount(heat, before=self._insert_pos(known, island))
                known[island] = heat
                added = True
            heat.set_cells(self.index.cells.get(island, {}), scale, self.dims)
        if added:
            self.call_after_refresh(self.fit_maps)
        self._update_panel(events)

    def _update_panel(self, events: list[dict[str, Any]]) -> None:
        active = self.query_one("#tabs", TabbedContent).active
        spec = next((p for p in PANELS if p.id == active), None)
        if spec is None:
            return
        for widget in self.query_one(f"#{spec.id}", TabPane).children:
            if isinstance(widget, DashboardPanel):
                widget.update_from(PanelContext(self.index, self.state, self.features, events))

    def on_tabbed_content_tab_activated(self, _: TabbedContent.TabActivated) -> None:
        if self.loaded:
            self._update_panel([])

    @staticmethod
    def _insert_pos(known: dict[int, IslandHeatmap], island: int) -> IslandHeatmap | None:
        later = sorted(i for i in known if i > island)
        return known[later[0]] if later else None

    def _scale(self) -> tuple[float, float]:
        scores = [e.score for g in self.index.cells.values() for e in g.values()]
        return (min(scores), max(scores)) if scores else (0.0, 1.0)

    def on_resize(self) -> None:
        self.set_class(self.size.width < NARROW, "-narrow")
        self.fit_maps()

    def fit_maps(self) -> None:
        """The largest map size at which every island fits in one row across the screen,
        within a quarter of its height: 3, 2 or 1 characters a cell, else two grid rows per
        line in half blocks. When even that is too wide, the maps wrap into rows and their
        area scrolls (every island stays reachable, none runs off the side)."""
        maps = list(self.query(IslandHeatmap))
        if not maps:
            return
        width = max(1, self.size.width - 2)
        height = max(6, self.size.height // 4 + 2)
        sizes = ((3, False), (2, False), (1, False), (1, True))
        for cell_w, compact in sizes:
            w, h = maps[0].footprint(cell_w, compact)
            if w * len(maps) <= width and h <= height:
                break
        for m in maps:
            m.set_size(cell_w, compact)
        per_row = max(1, min(len(maps), width // w))
        area = self.query_one("#maps", MapArea)
        area.styles.grid_size_columns = per_row
        area.styles.grid_columns = str(w)
        area.styles.max_height = max(h, self.size.height // 3)

    def _show_header(self) -> None:
        if self.live is not None and self.live.done.is_set() and self.state.status in (
                "running", "paused", "pausing"):
            self.state.status = "stopped"
        trend = [p.score for p in self.index.best_curve()][-TREND:]
        self.query_one("#header", RunHeader).show(self.state, self.index.best(), trend,
                                                  live=self.live is not None)

    # ------------------------------------------------------------------ selection

    def on_leaderboard_paged(self, event: Leaderboard.Paged) -> None:
        self.query_one("#board-title", Static).update(
            Text(f"{event.title}   [ ] pages · S sort · R reverse · click a header"))

    def on_island_heatmap_cell_selected(self, event: IslandHeatmap.CellSelected) -> None:
        text = Text(f"island {event.island} cell {event.cell}: ")
        names = self._axis_names()
        if names:
            text.append(f"({names}) ", style="dim")
        if event.elite is None:
            text.append("empty", style="dim")
        else:
            row = self.index.get(event.elite.id)
            text.append(f"elite {event.elite.id} ", style="bold")
            text.append(fmt.score(event.elite.score), style="green")
            if row is not None:
                text.append(f"  {fmt.who(row)}  from "
                            f"{row.parents[0] if row.parents else '(a seed)'}")
        self.query_one("#cell", Static).update(text)

    def on_island_heatmap_elite_opened(self, event: IslandHeatmap.EliteOpened) -> None:
        self.open_candidate(event.elite.id)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        board = self.query_one("#leaderboard", Leaderboard)
        cid = board.id_at(event.row_key.value) if event.data_table is board else None
        if cid is not None:
            self.open_candidate(cid)

    def open_candidate(self, cid: str) -> None:
        if self.reader is None or cid not in self.index:
            self.notify(f"{cid}: not recorded yet", severity="warning")
            return
        self.codeevo.show_candidate(self.reader, self.index, cid)

    # ------------------------------------------------------------------ actions

    def action_tab(self, tab: str) -> None:
        self.query_one("#tabs", TabbedContent).active = tab

    def action_open_best(self) -> None:
        best = self.index.best()
        if best is None:
            self.notify("no scored candidate yet", severity="warning")
        else:
            self.open_candidate(best.id)

    def action_jump(self) -> None:
        from codeevo.tui.screens.jump import JumpScreen

        def chosen(cid: str | None) -> None:
            if cid is not None:
                self.open_candidate(cid)

        self.app.push_screen(JumpScreen(self.index), chosen)

    def _axis_names(self) -> str:
        names = [self.features[d].name for d in self.dims if d < len(self.features)]
        return " × ".join(names)

    def action_next_axes(self) -> None:
        """Show the next pair of feature dimensions on every map (problems with 3+ dims)."""
        pairs = axis_pairs(len(self.features))
        if len(pairs) < 2:
            self.notify("this problem's maps have no other axes to show")
            return
        self.dims = pairs[(pairs.index(self.dims) + 1) % len(pairs)
                          if self.dims in pairs else 0]
        self._last_scale = None  # redraw every map
        self._refresh(set(), [])
        self.call_after_refresh(self.fit_maps)
        self.query_one("#cell", Static).update(
            Text(f"map axes: {self._axis_names()} (the best elite over the other dimensions)"))

    def action_open_selected(self) -> None:
        cid = self.query_one("#leaderboard", Leaderboard).selected_id()
        if cid is not None:
            self.open_candidate(cid)

    def action_lineage(self) -> None:
        if self.reader is None or not self.loaded:
            self.notify("still indexing the candidates", severity="warning")
            return
        self.codeevo.show_lineage(self.reader, self.index, None)

    @property
    def driving(self) -> bool:
        """The run is driven by an engine in this process, and still going."""
        return self.live is not None and self.live.running

    def action_toggle_pause(self) -> None:
        if self.live is None or not self.live.running:
            self.notify("pause/resume works on runs started here; this one is only followed",
                        severity="warning")
            return
        if self.live.paused:
            self.live.resume()
            self.state.status = "running"
            self.state.in_flight = None
        else:
            self.live.pause()
            self.state.status = "pausing"  # until the engine's `paused` event says how many
        self._show_header()

    def action_stop(self) -> None:
        if not self.driving:
            self.notify("this run is not driven from here", severity="warning")
            return
        from codeevo.tui.screens.confirm import ConfirmDialog

        def answer(yes: bool | None) -> None:
            if yes and self.live is not None and self.live.running:
                self.live.stop()
                self.notify("stopping: in-flight candidates are cancelled, the run is closed "
                            "cleanly; r resumes it")

        self.app.push_screen(ConfirmDialog(
            f"Stop {self.run_path.name}? Candidates in flight are cancelled; everything "
            "recorded stays, and r resumes the run later.", yes="Stop"), answer)

    def action_resume(self) -> None:
        if self.driving:
            self.notify("this run is running; space pauses it", severity="warning")
            return
        if self.reader is None:
            return
        pid = self.reader.run.driver_pid()
        if pid is not None:
            self.notify(f"another process (pid {pid}) is writing this run", severity="error")
            return
        from codeevo.errors import CodeevoError
        from codeevo.problem import load_problem
        from codeevo.tui.screens.resume_dialog import ResumeDialog

        try:
            problem = load_problem(self.reader.run.problem_path())
            config = self.reader.run.load_config()
        except CodeevoError as exc:
            self.notify(f"cannot resume: {exc}", severity="error", timeout=10)
            return

        def start(new: Any) -> None:
            if new is not None:
                live = self.codeevo.start_live_run(problem, new, self.run_path, resume=True)
                self._wait_started(live)

        self.app.push_screen(ResumeDialog(config, self.index.evaluations, self.run_path.name),
                             start)

    @work(thread=True, exclusive=True, group="resume")
    def _wait_started(self, live: LiveRun) -> None:
        live.ready.wait()
        self.app.call_from_thread(self._resumed, live)

    def _resumed(self, live: LiveRun) -> None:
        if live.error is not None:
            self.notify(f"could not resume: {live.error}", severity="error", timeout=10)
            return
        self.codeevo.show_live_run(live, replace=self)

    def action_export(self) -> None:
        self._export()

    @work(thread=True, exclusive=True, group="export")
    def _export(self) -> None:
        from codeevo.errors import CodeevoError
        from codeevo.lineage.html import to_html

        if self.reader is None:
            return
        out = self.run_path / "lineage.html"
        try:
            out.write_text(to_html(self.reader.store, self.run_path.name), encoding="utf-8")
        except (OSError, CodeevoError) as exc:
            self.app.call_from_thread(self.notify, f"export failed: {exc}", severity="error")
            return
        self.app.call_from_thread(self.notify, f"wrote {out}: open it in a browser", timeout=8)

    def action_back(self) -> None:
        self.app.pop_screen()

    def on_unmount(self) -> None:
        if self.live is not None:
            self.live.notify = lambda: None
