"""The run dashboard: header figures, one heatmap per island, leaderboard and live event feed.

Data arrives in batches: from an in-process engine (a wake-up message, collapsed when several
arrive before the screen handles one) or, for a run another process writes, from polling
`events.jsonl`. Each batch updates only what it touched; nothing is rebuilt per event.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, HorizontalScroll, Vertical
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Static

from codeevo.config import FeatureConfig
from codeevo.tui import format as fmt
from codeevo.tui.live_run import LiveRun
from codeevo.tui.run_index import RunIndex, candidate_from_event
from codeevo.tui.run_source import RunHead, RunSource, recent
from codeevo.tui.run_state import RunState
from codeevo.tui.widgets.event_feed import EventFeed
from codeevo.tui.widgets.heatmap import IslandHeatmap, axis_pairs
from codeevo.tui.widgets.leaderboard import TOP_N, Leaderboard
from codeevo.tui.widgets.run_header import RunHeader
from codeevo.tui.widgets.steering_panel import SteeringPanel

if TYPE_CHECKING:
    from codeevo.tui.app import CodeevoApp

POLL_S = 0.5


class EventsPending(Message):
    """The engine emitted events; several pending wake-ups collapse into one."""

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, EventsPending)


class DashboardScreen(Screen[None]):
    BINDINGS = [
        Binding("space", "toggle_pause", "Pause/resume"),
        Binding("s", "stop", "Stop"),
        Binding("b", "open_best", "Best"),
        Binding("l", "lineage", "Lineage"),
        Binding("o", "open_selected", "Open"),
        Binding("x", "next_axes", "Map axes"),
        Binding("escape", "back", "Back"),
    ]

    DEFAULT_CSS = """
    DashboardScreen #maps { height: auto; max-height: 20; }
    DashboardScreen #cell { height: 1; padding: 0 1; color: $text-muted; }
    DashboardScreen #lower { height: 1fr; }
    DashboardScreen #lower > Leaderboard { width: 1fr; }
    DashboardScreen #lower > EventFeed { width: 1fr; border-left: solid $primary 40%; }
    DashboardScreen #loading { padding: 1 2; }
    """

    def __init__(self, run_path: Path, live: LiveRun | None = None) -> None:
        super().__init__()
        self.run_path = run_path
        self.live = live
        self.source: RunSource | None = None
        self.state = RunState()
        self.index = RunIndex()
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
        yield Header()
        with Vertical():
            yield RunHeader(id="header")
            yield HorizontalScroll(id="maps")
            yield Static("", id="cell")
            yield SteeringPanel(self.run_path, id="steering")  # hidden until bandit/insights
            with Horizontal(id="lower"):
                yield Leaderboard(id="leaderboard")
                yield EventFeed(id="feed")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#cell", Static).update("loading run …")
        self._load()

    # ------------------------------------------------------------------ loading

    @work(thread=True, exclusive=True, group="dashboard-load")
    def _load(self) -> None:
        """The log's tail first (header and feed show at once), then the candidate index
        (leaderboard and maps): the index of a big run is what takes time."""
        source = RunSource(self.run_path, store=self.codeevo.store_for(self.run_path))
        head = source.load_head()
        self.app.call_from_thread(self._head_loaded, source, head)
        index = source.load_index()
        self.app.call_from_thread(self._index_loaded, index)

    def _head_loaded(self, source: RunSource, head: RunHead) -> None:
        self.source = source
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

    def _index_loaded(self, index: RunIndex) -> None:
        self.index = index
        self.loaded = True
        self._refresh(set(self.index.islands()) or {0})
        # The maps just took room from the feed: keep its newest line in view.
        feed = self.query_one("#feed", EventFeed)
        self.call_after_refresh(feed.scroll_end, animate=False, x_axis=False)
        self.query_one("#cell", Static).update(
            "tab to a map, arrows pick a cell, enter opens; x: other map axes"
            if len(self.features) > 2 else "tab to a map, arrows pick a cell, enter opens")
        if self.live is not None:
            self.live.notify = self._wake
            self.live.go()
            self.state.status = "paused" if self.live.paused else "running"
            self._show_header()
        else:
            self.set_interval(POLL_S, self._poll)

    @work(thread=True, exclusive=True, group="dashboard-poll")
    def _poll(self) -> None:
        if self.source is None:
            return
        events = self.source.poll()
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
            if self.live.done.is_set() and self.live.error is not None:
                self.notify(f"run failed: {self.live.error}", severity="error", timeout=10)

    # ------------------------------------------------------------------ updates

    def apply_events(self, events: list[dict[str, Any]]) -> None:
        """Fold a batch of events into the state and redraw what they touched, once."""
        islands: set[int] = set()
        for event in events:
            self.state.apply(event)
            kind = event.get("kind")
            if kind == "evaluated":
                cand = candidate_from_event(event, len(self.index))
                if cand is not None:
                    self.index.add(cand)
                    islands.add(cand.island)
            elif kind == "migrated" and event.get("accepted", True):
                dest = event.get("dest")
                cid = event.get("id")
                if isinstance(dest, int) and isinstance(cid, str):
                    self.index.place_migrant(dest, None, cid)
                    islands.add(dest)
            elif kind == "inserted":
                island = event.get("island")
                if isinstance(island, int):
                    islands.add(island)
        self.batches += 1
        self.query_one("#steering", SteeringPanel).add(events)
        self.query_one("#feed", EventFeed).add(events)
        self._refresh(islands)

    def _refresh(self, islands: set[int]) -> None:
        self._show_header()
        self.query_one("#leaderboard", Leaderboard).show(self.index.top(TOP_N))
        maps = self.query_one("#maps", HorizontalScroll)
        known = {m.island: m for m in maps.query(IslandHeatmap)}
        scale = self._scale()
        rescale = scale != self._last_scale
        self._last_scale = scale
        for island in sorted(set(islands) | (set(known) if rescale else set())):
            heat = known.get(island)
            if heat is None:
                heat = IslandHeatmap(island, self.features, self.dims, id=f"island-{island}")
                maps.mount(heat, before=self._insert_pos(known, island))
                known[island] = heat
            heat.set_cells(self.index.grids.get(island, {}), scale, self.dims)

    @staticmethod
    def _insert_pos(known: dict[int, IslandHeatmap], island: int) -> IslandHeatmap | None:
        later = sorted(i for i in known if i > island)
        return known[later[0]] if later else None

    def _scale(self) -> tuple[float, float]:
        scores = [e.score for g in self.index.grids.values() for e in g.values()]
        return (min(scores), max(scores)) if scores else (0.0, 1.0)

    def _show_header(self) -> None:
        if self.live is not None and self.live.done.is_set() and self.state.status == "running":
            self.state.status = "stopped"
        self.query_one("#header", RunHeader).show(self.state, live=self.live is not None)

    # ------------------------------------------------------------------ selection

    def on_island_heatmap_cell_selected(self, event: IslandHeatmap.CellSelected) -> None:
        text = Text(f"island {event.island} cell {event.cell}: ")
        names = self._axis_names()
        if names:
            text.append(f"({names}) ", style="dim")
        if event.elite is None:
            text.append("empty", style="dim")
        else:
            cand = self.index.get(event.elite.id)
            text.append(f"elite {event.elite.id} ", style="bold")
            text.append(fmt.score(event.elite.score), style="green")
            if cand is not None:
                text.append(f"  {cand.operator}  {(cand.model or '-')}  gen from "
                            f"{cand.parents[0] if cand.parents else 'seed'}")
        self.query_one("#cell", Static).update(text)

    def on_island_heatmap_elite_opened(self, event: IslandHeatmap.EliteOpened) -> None:
        self.open_candidate(event.elite.id)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        board = self.query_one("#leaderboard", Leaderboard)
        cid = board.id_at(event.row_key.value) if event.data_table is board else None
        if cid is not None:
            self.open_candidate(cid)

    def open_candidate(self, cid: str) -> None:
        if self.source is None or cid not in self.index:
            self.notify(f"{cid}: not recorded yet", severity="warning")
            return
        from codeevo.tui.screens.candidate import CandidateScreen

        self.app.push_screen(CandidateScreen(self.source, self.index, cid))

    # ------------------------------------------------------------------ actions

    def action_open_best(self) -> None:
        best = self.index.best()
        if best is None:
            self.notify("no scored candidate yet", severity="warning")
        else:
            self.open_candidate(best.id)

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
        self._refresh(set())
        self.query_one("#cell", Static).update(
            Text(f"map axes: {self._axis_names()} (the best elite over the other dimensions)"))

    def action_open_selected(self) -> None:
        cid = self.query_one("#leaderboard", Leaderboard).selected_id()
        if cid is not None:
            self.open_candidate(cid)

    def action_lineage(self) -> None:
        if self.source is None or not self.loaded:
            self.notify("still indexing the candidates", severity="warning")
            return
        from codeevo.tui.screens.lineage import LineageScreen

        self.app.push_screen(LineageScreen(self.source, self.index))

    def action_toggle_pause(self) -> None:
        if self.live is None or not self.live.running:
            self.notify("pause/resume works on runs started here; this one is only followed",
                        severity="warning")
            return
        if self.live.paused:
            self.live.resume()
            self.state.status = "running"
        else:
            self.live.pause()
            self.state.status = "paused"
        self._show_header()

    def action_stop(self) -> None:
        if self.live is None or not self.live.running:
            self.notify("this run is not driven from here", severity="warning")
            return
        self.live.stop()
        self.notify("stopping: in-flight candidates are cancelled, the run is closed cleanly")

    def action_back(self) -> None:
        self.app.pop_screen()

    def on_unmount(self) -> None:
        if self.live is not None:
            self.live.notify = lambda: None
