"""Every screen driven with Pilot on a recorded run (real git lineage, real events.jsonl)."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from pathlib import Path

import pytest
from rich.console import Console
from textual.widgets import DataTable, Static, TabbedContent

from codeevo.candidate import Candidate, Status
from codeevo.lineage.store import GitLineageStore
from codeevo.tui.app import CodeevoApp
from codeevo.tui.screens.candidate import CandidateScreen
from codeevo.tui.screens.dashboard import DashboardScreen
from codeevo.tui.screens.help import HelpScreen
from codeevo.tui.screens.home import HomeScreen
from codeevo.tui.screens.lineage import LineageScreen
from codeevo.tui.screens.new_run import NewRunScreen
from codeevo.tui.widgets.diff_view import DiffView
from codeevo.tui.widgets.heatmap import IslandHeatmap
from codeevo.tui.widgets.lineage_tree import LineageFilter, LineageTree
from tests.tui.conftest import SIZE
from tests.tui.helpers import wait_for

pytestmark = pytest.mark.tui
AppFactory = Callable[..., CodeevoApp]


def _text(widget: Static) -> str:
    return str(widget.render())


def _plain(widget: Static) -> str:
    """What a Static shows, as plain text (works for tables too)."""
    console = Console(width=120, record=True, file=io.StringIO())
    console.print(widget.content)
    return console.export_text()


async def test_home_lists_problems_and_runs(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        home = app.screen
        assert isinstance(home, HomeScreen)
        await wait_for(pilot, lambda: home.run_paths != [])
        problems = home.query_one("#problems", DataTable)
        runs = home.query_one("#runs", DataTable)
        assert [str(c) for c in problems.get_row_at(0)][:1] == ["toy"]
        row = [str(c) for c in runs.get_row_at(0)]
        assert row[0] == "toy-run" and row[2] == "finished" and row[6] == "3h"
        await pilot.press("enter")  # the runs table has focus: opens the dashboard
        await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen))
        await pilot.press("escape", "n")
        assert isinstance(app.screen, NewRunScreen)


async def test_dashboard_shows_the_recorded_run(make_app: AppFactory, run_dir: Path) -> None:
    app = make_app(run_dir)
    async with app.run_test(size=SIZE) as pilot:
        dash = app.screen
        assert isinstance(dash, DashboardScreen)
        await wait_for(pilot, lambda: dash.loaded)
        best = dash.index.best()
        assert best is not None
        assert dash.state.status == "finished" and dash.state.best_id == best.id
        header = _text(dash.query_one("#figures", Static))
        assert f"best {best.score:.4f}" in header and "finished" in header
        maps = list(dash.query(IslandHeatmap))
        assert [m.island for m in maps] == [0, 1]
        assert maps[1].cells  # island 1 holds its elites and the migrant
        board = dash.query_one("#leaderboard", DataTable)
        assert board.row_count == 25 and str(board.get_row_at(0)[1]) == best.id
        # A map cell: focus the first map, move, and the summary line follows.
        maps[0].focus()
        await pilot.pause()
        elite_cells = sorted(maps[0].cells)
        target = elite_cells[0]
        other = next((c for c in elite_cells if c != target), (target[0] + 1, *target[1:]))
        want = maps[0].cells[target].id
        for _ in range(20):  # a move onto the cell (not a no-op assignment) updates the summary
            maps[0].cursor = other
            await pilot.pause(0.05)
            maps[0].cursor = target
            await pilot.pause(0.1)
            if want in _text(dash.query_one("#cell", Static)):
                break
        assert want in _text(dash.query_one("#cell", Static))
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, CandidateScreen))


async def test_dashboard_follows_a_run_written_by_another_process(
    make_app: AppFactory, run_dir: Path
) -> None:
    app = make_app(run_dir)
    async with app.run_test(size=SIZE) as pilot:
        dash = app.screen
        assert isinstance(dash, DashboardScreen)
        await wait_for(pilot, lambda: dash.loaded)
        before = len(dash.index)
        best = dash.index.best()
        assert best is not None and best.score is not None
        # Another process records a new best and appends its events.
        new = Candidate(id="c000060", seq=60, parents=[best.id], operator="diff", island=0,
                        cell=[3, 3], score=best.score + 1, status=Status.OK, inserted=True,
                        metrics={"value": best.score + 1}, entry="initial.py")
        with GitLineageStore.open(run_dir / "lineage.git") as store:
            store.record(new, "def solve(x):\n    return 42\n", {"artifacts/stdout.txt": "hi\n"})
        events = [
            {"t": 1.0, "kind": "evaluated", "id": new.id, "parents": new.parents,
             "operator": "diff", "model": None, "island": 0, "status": "ok", "stage": "score",
             "score": new.score, "cell": [3, 3], "inserted": True},
            {"t": 1.1, "kind": "progress", "evaluations": 54, "candidates": 61,
             "best_score": new.score, "best_id": new.id, "rate": 9.0, "cost": 0.05},
        ]
        with (run_dir / "events.jsonl").open("a") as fh:
            fh.write("".join(json.dumps(e) + "\n" for e in events))
        await wait_for(pilot, lambda: len(dash.index) == before + 1)
        assert dash.state.best_id == new.id and dash.state.evaluations == 54
        assert str(dash.query_one("#leaderboard", DataTable).get_row_at(0)[1]) == new.id
        assert dash.query_one("#island-0", IslandHeatmap).cells[(3, 3)].id == new.id
        # The new candidate was only seen as an event: opening it reads the full record.
        await pilot.press("b")
        await wait_for(pilot, lambda: isinstance(app.screen, CandidateScreen)
                       and app.screen.detail is not None)
        cand_screen = app.screen
        assert isinstance(cand_screen, CandidateScreen) and cand_screen.detail is not None
        assert cand_screen.detail.candidate.metrics == {"value": new.score}
        # Pause on a followed run is refused politely.
        await pilot.press("escape", "space")
        assert dash.state.status != "paused"


async def test_candidate_screen_program_diff_and_parents(
    make_app: AppFactory, run_dir: Path
) -> None:
    app = make_app(run_dir)
    async with app.run_test(size=SIZE) as pilot:
        dash = app.screen
        assert isinstance(dash, DashboardScreen)
        await wait_for(pilot, lambda: dash.loaded)
        best = dash.index.best()
        assert best is not None
        await pilot.press("b")
        await wait_for(pilot, lambda: isinstance(app.screen, CandidateScreen)
                       and app.screen.detail is not None)
        cs = app.screen
        assert isinstance(cs, CandidateScreen) and cs.detail is not None
        assert "def solve" in cs.detail.program
        await pilot.press("d")
        assert cs.query_one(TabbedContent).active == "diff"
        diffs = list(cs.query(DiffView))
        assert len(diffs) == len(best.parents) >= 1
        assert "\n-    return" in diffs[0].diff and "\n+    return" in diffs[0].diff
        await pilot.press("i")
        info = _plain(cs.query_one("#info-text", Static))
        assert "timings (s)" in info and "propose 1.250" in info and "metric value" in info
        await pilot.press("m")
        assert "Improve solve()" in _text(cs.query_one("#llm-text", Static))
        await pilot.press("p")  # to the primary parent
        await wait_for(pilot, lambda: isinstance(app.screen, CandidateScreen)
                       and app.screen.cid == best.parents[0])


async def test_lineage_walk_from_best_to_the_seed(make_app: AppFactory, run_dir: Path) -> None:
    app = make_app(run_dir)
    async with app.run_test(size=SIZE) as pilot:
        dash = app.screen
        assert isinstance(dash, DashboardScreen)
        await wait_for(pilot, lambda: dash.loaded)
        await pilot.press("l")
        await wait_for(pilot, lambda: isinstance(app.screen, LineageScreen))
        lin = app.screen
        tree = lin.query_one(LineageTree)
        best = dash.index.best()
        assert best is not None
        await pilot.press("b")
        await pilot.pause(0.1)
        assert tree.selected_id() == best.id
        assert tree.highlight == dash.index.ancestry(best.id)
        path = dash.index.path_to_root(best.id)
        walked = [tree.selected_id()]
        for _ in range(len(path) - 1):
            await pilot.press("u")
            walked.append(tree.selected_id())
        assert walked == path and walked[-1] == dash.index.roots[0]
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, CandidateScreen))
        assert isinstance(app.screen, CandidateScreen) and app.screen.cid == path[-1]


async def test_lineage_filters_second_parents_and_failure_groups(
    make_app: AppFactory, run_dir: Path
) -> None:
    app = make_app(run_dir)
    async with app.run_test(size=SIZE) as pilot:
        dash = app.screen
        assert isinstance(dash, DashboardScreen)
        await wait_for(pilot, lambda: dash.loaded)
        await pilot.press("l")
        await wait_for(pilot, lambda: isinstance(app.screen, LineageScreen))
        tree = app.screen.query_one(LineageTree)
        cross = next(c for c in dash.index.iter() if len(c.parents) == 2)
        tree.reveal(cross.id)
        await pilot.pause()
        await pilot.press("2")
        await pilot.pause()
        assert tree.selected_id() == cross.parents[1]
        # Filter by status: the failed leaves stay, the other leaves go.
        tree.set_filter(LineageFilter(status="failed"))
        await pilot.pause()
        seed = dash.index.roots[0]
        tree.reveal(seed)
        await pilot.pause()
        seed_node = tree.nodes_by_id[seed]
        tree.populate(seed_node)
        shown = [c.data.cid for c in seed_node.children
                 if c.data is not None and c.data.kind == "cand"]
        for cid in shown:
            cand = dash.index.candidates[cid]
            assert cand.status == Status.FAILED or dash.index.kids(cid)
        # Runs of childless failures collapse into one group node that expands on enter.
        idx = dash.index
        fails = [c.id for c in idx.iter() if c.status != Status.OK and not idx.kids(c.id)]
        groups = tree._grouped(fails[:5])
        assert groups == [fails[:5]]


async def test_help_screen_and_theme_toggle(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        assert isinstance(app.screen, HomeScreen)
        dark = app.current_theme.dark
        await pilot.press("ctrl+t")
        assert app.current_theme.dark != dark


async def test_quit_without_a_live_run_exits(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("q")
        await pilot.pause()
    assert app.return_code == 0
