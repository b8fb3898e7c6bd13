"""The lineage as a commit graph in the TUI: lanes, edges to both parents, commit hashes,
filters through the real Select widgets, highlights, folds, `/` jumps, live growth."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from textual.app import App, ComposeResult
from textual.widgets import Input, Select, Static

from codeevo.candidate import Status
from codeevo.lineage.index import LineageIndex, Row
from codeevo.tui.app import CodeevoApp
from codeevo.tui.screens.candidate import CandidateScreen
from codeevo.tui.screens.dashboard import DashboardScreen
from codeevo.tui.screens.jump import JumpScreen
from codeevo.tui.screens.lineage import LineageScreen, parse_range
from codeevo.tui.widgets.lineage_graph import LineageGraph
from tests.tui.conftest import SIZE
from tests.tui.helpers import wait_for

pytestmark = pytest.mark.tui
AppFactory = Callable[..., CodeevoApp]


def line_text(graph: LineageGraph, row: int) -> str:
    return "".join(seg.text for seg in graph._segments(row))


async def _lineage(pilot: object, app: CodeevoApp) -> tuple[DashboardScreen, LineageScreen]:
    dash = app.screen
    assert isinstance(dash, DashboardScreen)
    await wait_for(pilot, lambda: dash.loaded)  # type: ignore[arg-type]
    await pilot.press("l")  # type: ignore[attr-defined]
    await wait_for(pilot, lambda: isinstance(app.screen, LineageScreen))  # type: ignore[arg-type]
    screen = app.screen
    assert isinstance(screen, LineageScreen)
    # Laid out at its real width (the merge band depends on it), not just laid out.
    await wait_for(pilot, lambda: screen.graph.laid_out  # type: ignore[arg-type]
                   and len(screen.graph.graph_layout) > 0)
    return dash, screen


async def test_rows_lanes_hashes_and_both_parents(make_app: AppFactory, run_dir: Path,
                                                  size: tuple[int, int]) -> None:
    app = make_app(run_dir)
    async with app.run_test(size=size) as pilot:
        dash, screen = await _lineage(pilot, app)
        graph = screen.graph
        lay = graph.graph_layout
        index = dash.index
        assert len(lay) == len(index) == 60
        for i, row in enumerate(lay.rows):
            text = line_text(graph, i)
            cand = index.rows[row.id]
            assert f"{cand.short} {row.id}" in text  # the hash `git log --oneline` prints
            if row.parent_row is not None:  # below its parent, in its lane or the next
                parent = lay.rows[row.parent_row]
                assert row.parent_row < i and parent.id == cand.parents[0]
                assert row.lane in (parent.lane, parent.lane + 1)
            if len(cand.parents) > 1:  # the second parent: a merge lane, or named
                drawn = [m for m in lay.merges if m.child == row.id and m.lane is not None]
                assert drawn or f"⤳{cand.parents[1]}" in text
                assert f"{cand.parents[1]}" in text
        # Merge lanes take only the room the text leaves: the columns up to the delta fit.
        assert 2 * (lay.lanes + lay.band) + 64 <= size[0]
        if size[0] >= 160:
            assert lay.band > 0 and any(m.lane is not None for m in lay.merges)


async def test_filters_through_the_select_widgets(make_app: AppFactory, run_dir: Path) -> None:
    """Each filter shows exactly its candidates (Textual 8: an emptied Select is Select.NULL,
    not Select.BLANK, which once hid every leaf)."""
    app = make_app(run_dir)
    async with app.run_test(size=SIZE) as pilot:
        dash, screen = await _lineage(pilot, app)
        graph, index = screen.graph, dash.index
        await pilot.press("f")
        island = screen.query_one("#f-island", Select)
        island.value = 1  # each change reaches the graph through Select.Changed
        await wait_for(pilot, lambda: graph.filter.island == 1)
        shown = set(graph.graph_layout.row_of)
        assert shown == {r.id for r in index if r.island == 1}
        island.clear()
        await wait_for(pilot, lambda: not graph.filter.active)
        assert len(graph.graph_layout) == len(index)
        status = screen.query_one("#f-status", Select)
        status.value = "failed"
        await wait_for(pilot, lambda: graph.filter.status == "failed")
        failed = {r.id for r in index if r.status == Status.FAILED}
        assert failed and set(graph.graph_layout.row_of) == failed  # leaves included
        status.clear()
        await wait_for(pilot, lambda: not graph.filter.active)
        score = screen.query_one("#f-score", Input)
        score.value = "2.9.."
        score.focus()
        await pilot.press("enter")
        await wait_for(pilot, lambda: graph.filter.score_min == 2.9)
        assert set(graph.graph_layout.row_of) == {r.id for r in index
                                                  if r.ok and r.score >= 2.9}  # type: ignore[operator]
        assert "match" in str(screen.query_one("#status", Static).render())
        score.value = "3..1"
        score.focus()
        await pilot.press("enter")
        assert "minimum is above the maximum" in str(screen.query_one("#status",
                                                                      Static).render())


def test_parse_range() -> None:
    assert parse_range("") == (None, None)
    assert parse_range("1.5..") == (1.5, None) and parse_range("..2") == (None, 2.0)
    assert parse_range("1..2") == (1.0, 2.0) and parse_range("0.5") == (0.5, None)
    with pytest.raises(ValueError, match="MIN..MAX"):
        parse_range("a..b")


async def test_highlights_jumps_folds_and_parents(make_app: AppFactory, run_dir: Path) -> None:
    app = make_app(run_dir)
    async with app.run_test(size=SIZE) as pilot:
        dash, screen = await _lineage(pilot, app)
        graph, index = screen.graph, dash.index
        best = index.best()
        assert best is not None
        await pilot.press("b")
        assert graph.selected_id() == best.id and graph.ancestry == index.ancestors(best.id)
        # `/` goes to an id, a number or a commit prefix.
        cross = next(r for r in index if len(r.parents) == 2)
        for query in (cross.id, str(cross.seq), cross.commit[:8]):  # type: ignore[index]
            await pilot.press("slash")
            await wait_for(pilot, lambda: isinstance(app.screen, JumpScreen))
            await pilot.press(*query, "enter")
            await wait_for(pilot, lambda: app.screen is screen)
            assert graph.selected_id() == cross.id
        await pilot.press("2")
        assert graph.selected_id() == cross.parents[1]
        await pilot.press("u")
        assert graph.selected_id() == index.rows[cross.parents[1]].parents[0]
        # Ancestry and descendants, through any parent.
        await pilot.press("a")
        assert graph.ancestry == index.ancestors(graph.selected_id())  # type: ignore[arg-type]
        await pilot.press("d")
        assert graph.descendant == index.descendants(graph.selected_id())  # type: ignore[arg-type]
        assert "descendants (any parent) highlighted" in str(
            screen.query_one("#status", Static).render())
        # Space folds the subtree under the cursor into one row; enter unfolds it.
        seed = index.roots[0]
        graph.reveal(seed)
        await pilot.press("space")
        assert [r.kind for r in graph.graph_layout.rows] == ["cand", "fold"]
        assert len(graph.graph_layout.rows[1].ids) == len(index) - 1
        await pilot.press("down", "enter")
        assert len(graph.graph_layout) == len(index)
        # `c` folds single-child chains; revealing a folded candidate unfolds it.
        await pilot.press("c")
        folds = [r for r in graph.graph_layout.rows if r.kind == "fold"]
        assert folds and len(graph.graph_layout) < len(index)
        hidden = folds[0].ids[1]
        assert graph.reveal(hidden) and graph.selected_id() == hidden
        # Enter opens the candidate; `l` there comes back to this screen, not a new one.
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, CandidateScreen))
        depth = len(app.screen_stack)
        await pilot.press("p", "l")
        assert app.screen is screen and len(app.screen_stack) == depth - 1
        assert graph.selected_id() == index.rows[hidden].parents[0]


async def test_the_graph_grows_while_the_run_goes_on(make_app: AppFactory,
                                                     run_dir: Path) -> None:
    app = make_app(run_dir)
    async with app.run_test(size=SIZE) as pilot:
        dash, screen = await _lineage(pilot, app)
        graph = screen.graph
        best = dash.index.best()
        assert best is not None
        graph.reveal(best.id)
        dash.apply_events([
            {"kind": "evaluated", "id": "c000060", "seq": 60, "parents": [best.id],
             "operator": "diff", "model": None, "island": 1, "status": "ok",
             "stage": "score", "score": 9.0, "cell": [1, 1], "inserted": True},
        ])
        await wait_for(pilot, lambda: "c000060" in graph.graph_layout.row_of, 5)
        assert graph.selected_id() == best.id  # the cursor stays where it was
        new_row = graph.graph_layout.row_of["c000060"]
        assert graph.graph_layout.rows[graph.graph_layout.rows[new_row].parent_row  # type: ignore[index]
                                       ].id == best.id
        assert "★ best" in line_text(graph, new_row)


def _chain(length: int) -> LineageIndex:
    rows = [Row.make("c000000", 0, [], "seed", None, 0, None, Status.OK, None, None, 0.0, 0.0,
                     0, False, None, "")]
    for i in range(1, length + 1):
        rows.append(Row.make(f"c{i:06d}", i, [f"c{i - 1:06d}"], "diff", None, 0, None,
                             Status.OK, None, None, float(i), 0.0, 0, False, None, ""))
    return LineageIndex.from_rows(rows)


class _Host(App[None]):
    def __init__(self, index: LineageIndex) -> None:
        super().__init__()
        self.index = index

    def compose(self) -> ComposeResult:
        yield LineageGraph(self.index)


async def test_a_1500_generation_chain_is_one_lane_and_its_tip_one_keypress_away() -> None:
    index = _chain(1500)
    app = _Host(index)
    async with app.run_test(size=(80, 24)) as pilot:
        graph = app.query_one(LineageGraph)
        graph.focus()
        await wait_for(pilot, lambda: graph.laid_out)
        assert graph.graph_layout.lanes == 1 and len(graph.graph_layout) == 1501
        await pilot.press("end")
        assert graph.selected_id() == "c001500"
        assert graph.scroll_offset.y >= 1500 - 24  # at once, even before the first refresh
        await pilot.press("c")  # the whole chain folds into one row
        assert len(graph.graph_layout) == 3 and graph.selected_id() == "c001500"
        assert graph.reveal("c000750") and graph.selected_id() == "c000750"
