"""Every screen driven with Pilot on a recorded run (real git lineage, real events.jsonl),
at 80 x 24 and 160 x 48 where the layout matters."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from pathlib import Path

import pytest
from rich.console import Console
from textual.widgets import DataTable, Input, OptionList, Select, Static, TabbedContent

from codeevo.candidate import Candidate, Status
from codeevo.lineage.store import GitLineageStore
from codeevo.tui.app import CodeevoApp
from codeevo.tui.screens.candidate import CandidateScreen
from codeevo.tui.screens.dashboard import DashboardScreen
from codeevo.tui.screens.help import HelpScreen
from codeevo.tui.screens.home import HomeScreen
from codeevo.tui.screens.new_run import NewRunScreen
from codeevo.tui.widgets.diff_view import DiffView
from codeevo.tui.widgets.form_field import FormField
from codeevo.tui.widgets.heatmap import IslandHeatmap
from codeevo.tui.widgets.leaderboard import PAGE, Leaderboard
from codeevo.tui.widgets.outcome_bars import OutcomeBars
from codeevo.tui.widgets.score_plot import ScorePlot
from tests.tui.conftest import SIZE
from tests.tui.helpers import wait_for

pytestmark = pytest.mark.tui
AppFactory = Callable[..., CodeevoApp]


def _text(widget: Static) -> str:
    return str(widget.render())


def _plain(widget: Static) -> str:
    """What a Static shows, as plain text (works for tables too)."""
    console = Console(width=120, record=True, file=io.StringIO())
    # Static.content since Textual 2; .renderable before
    console.print(getattr(widget, "content", None) or widget.renderable)  # type: ignore[attr-defined]
    return console.export_text()


async def _dashboard(pilot: object, app: CodeevoApp) -> DashboardScreen:
    dash = app.screen
    assert isinstance(dash, DashboardScreen)
    await wait_for(pilot, lambda: dash.loaded)  # type: ignore[arg-type]
    return dash


async def test_home_lists_problems_and_runs(make_app: AppFactory,
                                            size: tuple[int, int]) -> None:
    app = make_app()
    async with app.run_test(size=size) as pilot:
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


async def test_a_missing_problems_folder_is_said_and_the_form_still_opens(
    make_app: AppFactory,
) -> None:
    """`--problems /nonexistent`: a warning, a note in the table, and a form without a
    crash (Textual 8's Select.BLANK is a value, not "nothing chosen")."""
    app = make_app(problem_roots=[Path("/nonexistent")])
    async with app.run_test(size=SIZE) as pilot:
        home = app.screen
        assert isinstance(home, HomeScreen)
        await wait_for(pilot, lambda: home.query_one("#problems", DataTable).row_count > 0)
        note = str(home.query_one("#problems", DataTable).get_row_at(0)[0])
        assert "no problems found" in note and "/nonexistent: no such folder" in note
        assert any("problem folder not found: /nonexistent" in str(n.message)
                   for n in app._notifications)
        await pilot.press("n")
        form = app.screen
        assert isinstance(form, NewRunScreen)
        select = form.query_one("#problem-input", Select)
        assert select.is_blank()
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: form.checks == 1)
        errors = {ff.id: ff.error for ff in form.query(FormField) if ff.error}
        assert "choose a problem, or give its folder" in errors["problem"]


async def test_dashboard_shows_the_recorded_run(make_app: AppFactory, run_dir: Path,
                                                size: tuple[int, int]) -> None:
    app = make_app(run_dir)
    async with app.run_test(size=size) as pilot:
        dash = await _dashboard(pilot, app)
        best = dash.index.best()
        assert best is not None and best.commit
        assert dash.state.status == "finished"
        header = _text(dash.query_one("#figures", Static))
        assert f"best {best.score:.4f} ({best.id} {best.short})" in header
        assert "finished" in header
        maps = list(dash.query(IslandHeatmap))
        assert [m.island for m in maps] == [0, 1]
        assert maps[1].cells  # island 1 holds its elites and the migrant
        # Every map on screen, at 80 x 24 too (once the maps are laid out at their size).
        await wait_for(pilot, lambda: all(0 < m.region.right <= size[0]
                                          and 0 < m.region.bottom <= size[1] for m in maps))
        # The leaderboard lists every scored candidate, a page at a time.
        board = dash.query_one("#leaderboard", Leaderboard)
        assert board.row_count == min(PAGE, dash.index.scored) == PAGE
        assert str(board.get_row_at(0)[1]) == best.id
        assert str(board.get_row_at(0)[2]) == best.short
        title = dash.query_one("#board-title", Static)  # set from the board's Paged message
        await wait_for(pilot, lambda: "1–50 of 52 · page 1/2" in _text(title))
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


async def test_the_leaderboard_pages_and_sorts(make_app: AppFactory, run_dir: Path) -> None:
    app = make_app(run_dir)
    async with app.run_test(size=SIZE) as pilot:
        dash = await _dashboard(pilot, app)
        board = dash.query_one("#leaderboard", Leaderboard)
        board.focus()
        await pilot.press("right_square_bracket")
        assert board.page_no == 1 and board.row_count == dash.index.scored - PAGE == 2
        assert board.shown_ids() == [r.id for r in dash.index.top(2, offset=PAGE)]
        await pilot.press("left_square_bracket", "S")  # sort by id, lowest first
        assert board.sort_key == "id" and board.page_no == 0
        ok_ids = [r.id for r in dash.index if r.ok]
        assert board.shown_ids() == ok_ids[:PAGE]
        await pilot.press("R")
        assert board.shown_ids() == ok_ids[::-1][:PAGE]
        title = dash.query_one("#board-title", Static)
        await wait_for(pilot, lambda: "by id" in _text(title))
        # A click on the island header sorts by island, highest first.
        await pilot.click(Leaderboard, offset=(board.columns["island"].get_render_width(board)
                                               // 2 + _column_x(board, "island"), 0))
        await pilot.pause()
        assert board.sort_key == "island"
        islands = [dash.index.rows[c].island for c in board.shown_ids()]
        assert islands == sorted(islands, reverse=True)
        # Enter opens the row's candidate.
        board.move_cursor(row=3)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, CandidateScreen))
        assert isinstance(app.screen, CandidateScreen)
        assert app.screen.cid == board.shown_ids()[3]


def _column_x(board: Leaderboard, key: str) -> int:
    x = 0
    for k, column in board.columns.items():
        if k.value == key:
            return x
        x += column.get_render_width(board)
    raise KeyError(key)


async def test_the_progress_and_outcome_tabs(make_app: AppFactory, run_dir: Path,
                                             size: tuple[int, int]) -> None:
    app = make_app(run_dir)
    async with app.run_test(size=size) as pilot:
        dash = await _dashboard(pilot, app)
        await pilot.press("2")
        assert dash.query_one("#tabs", TabbedContent).active == "progress"
        plot = dash.query_one(ScorePlot)
        await wait_for(pilot, lambda: bool(plot.series))  # drawn when the tab opens
        assert [s.name for s in plot.series] == ["island 0", "island 1", "overall"]
        assert plot.series[-1].points == dash.index.best_curve()
        drawn = str(plot.render())
        assert "best score over evaluations" in drawn
        assert any(0x2800 < ord(ch) <= 0x28FF for ch in drawn)  # braille dots were drawn
        await pilot.press("3")
        bars = dash.query_one(OutcomeBars)
        await wait_for(pilot, lambda: bool(bars.sections))
        text = str(bars.render())
        diff = dash.index.outcomes()["diff"]
        assert f"{diff.ok}/{diff.proposed} ok" in text and "by model" in text
        assert "anthropic/claude-haiku" in text
        await pilot.press("4")
        assert dash.query_one("#tabs", TabbedContent).active == "events"


async def test_dashboard_follows_a_run_written_by_another_process(
    make_app: AppFactory, run_dir: Path
) -> None:
    app = make_app(run_dir)
    async with app.run_test(size=SIZE) as pilot:
        dash = await _dashboard(pilot, app)
        before = len(dash.index)
        best = dash.index.best()
        assert best is not None and best.score is not None
        # Another process records a new best and appends its events.
        new = Candidate(id="c000060", seq=60, parents=[best.id], operator="diff", island=0,
                        cell=[3, 3], score=best.score + 1, status=Status.OK, inserted=True,
                        metrics={"value": best.score + 1}, entry="initial.py")
        with GitLineageStore.open(run_dir / "lineage.git") as store:
            sha = store.record(new, "def solve(x):\n    return 42\n",
                               {"artifacts/stdout.txt": "hi\n"})
        events = [
            {"t": 1.0, "kind": "evaluated", "id": new.id, "seq": 60, "parents": new.parents,
             "operator": "diff", "model": None, "island": 0, "status": "ok", "stage": "score",
             "score": new.score, "cell": [3, 3], "inserted": True, "commit": sha},
            {"t": 1.1, "kind": "progress", "evaluations": 54, "candidates": 61,
             "best_score": new.score, "best_id": new.id, "rate": 9.0, "cost": 0.05},
        ]
        with (run_dir / "events.jsonl").open("a") as fh:
            fh.write("".join(json.dumps(e) + "\n" for e in events))
        await wait_for(pilot, lambda: len(dash.index) == before + 1)
        assert dash.index.best() is not None and dash.index.best().id == new.id  # type: ignore[union-attr]
        assert dash.index.rows[new.id].commit == sha and dash.state.evaluations == 54
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
        assert dash.state.status == "finished"


async def test_candidate_screen_program_diff_info_and_breadcrumb(
    make_app: AppFactory, run_dir: Path, size: tuple[int, int]
) -> None:
    app = make_app(run_dir)
    async with app.run_test(size=size) as pilot:
        dash = await _dashboard(pilot, app)
        best = dash.index.best()
        assert best is not None
        await pilot.press("b")
        await wait_for(pilot, lambda: isinstance(app.screen, CandidateScreen)
                       and app.screen.detail is not None)
        cs = app.screen
        assert isinstance(cs, CandidateScreen) and cs.detail is not None
        assert "def solve" in cs.detail.program
        summary = _text(cs.query_one("#summary", Static))
        assert f"{best.id} {best.short} diff on island 1 by openai/gpt-4.1-mini" in summary
        await pilot.press("d")
        assert cs.query_one(TabbedContent).active == "diff"
        diffs = list(cs.query(DiffView))
        assert len(diffs) == len(best.parents) >= 1
        assert "\n-    return" in diffs[0].diff and "\n+    return" in diffs[0].diff
        await pilot.press("i")
        info = _plain(cs.query_one("#info-text", Static))
        assert "timings (s)" in info and "propose 1.250" in info and "metric value" in info
        assert "last stage run" in info and "rejected/stopped" not in info
        assert "stopped at" not in info and best.commit in info  # type: ignore[operator]
        await pilot.press("m")
        assert "Improve solve()" in _text(cs.query_one("#llm-text", Static))
        # Parent jumps replace what the one screen shows; escape walks the breadcrumb back.
        depth = len(app.screen_stack)
        line = dash.index.primary_line(best.id)
        for _ in range(3):
            await pilot.press("p")
        await wait_for(pilot, lambda: cs.detail is not None and cs.cid == line[-4])
        assert app.screen is cs and len(app.screen_stack) == depth
        assert cs.trail == line[-1:-5:-1]
        crumbs = _text(cs.query_one("#crumbs", Static))
        assert " › ".join(line[-1:-5:-1]) in crumbs
        for want in line[-3:]:
            await pilot.press("escape")
            assert cs.cid == want
        await pilot.press("escape")
        assert app.screen is dash


async def test_an_offline_seed_says_what_it_is(make_app: AppFactory, run_dir: Path) -> None:
    app = make_app(run_dir)
    async with app.run_test(size=SIZE) as pilot:
        dash = await _dashboard(pilot, app)
        dash.open_candidate("c000000")
        await wait_for(pilot, lambda: isinstance(app.screen, CandidateScreen)
                       and app.screen.detail is not None)
        cs = app.screen
        assert isinstance(cs, CandidateScreen)
        summary = _text(cs.query_one("#summary", Static))
        assert "seed on island 0  2.4500" in summary and "by -" not in summary
        await pilot.press("d")
        await pilot.pause()
        body = cs.query_one("#diff-body")
        assert not list(body.query(DiffView))
        assert any("a seed has no parent" in str(w.render()) for w in body.query(Static))
        await pilot.press("i")
        info = _plain(cs.query_one("#info-text", Static))
        assert "— (offline operator)" in info and "— (a seed)" in info
        # An ok candidate is not described as rejected or stopped somewhere.
        assert "stopped at" not in info and "rejected" not in info and "last stage run" in info


async def test_a_crossover_child_is_listed_under_both_parents(
    make_app: AppFactory, run_dir: Path
) -> None:
    app = make_app(run_dir)
    async with app.run_test(size=SIZE) as pilot:
        dash = await _dashboard(pilot, app)
        cross = next(r for r in dash.index if len(r.parents) == 2)
        second = cross.parents[1]
        assert cross.id in dash.index.children(second)
        dash.open_candidate(second)
        await wait_for(pilot, lambda: isinstance(app.screen, CandidateScreen)
                       and app.screen.detail is not None)
        cs = app.screen
        assert isinstance(cs, CandidateScreen)
        relatives = cs.query_one("#relatives", OptionList)
        labels = [str(relatives.get_option_at_index(i).prompt)
                  for i in range(relatives.option_count)]
        assert any(label.startswith(f"×↓ {cross.id}") for label in labels)


async def test_help_lists_the_bindings_of_the_screen_it_is_opened_from(
    make_app: AppFactory, run_dir: Path
) -> None:
    app = make_app(run_dir)
    async with app.run_test(size=SIZE) as pilot:
        dash = await _dashboard(pilot, app)
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        on_dash = _plain(app.screen.query_one("#help-table", Static))
        assert "Map axes" in on_dash and "Pause/resume" in on_dash and "Resume" in on_dash
        assert "Everywhere" in on_dash and "Theme" in on_dash and "Parent" not in on_dash
        await pilot.press("escape")
        assert app.screen is dash
        dash.open_candidate("c000003")
        await wait_for(pilot, lambda: isinstance(app.screen, CandidateScreen)
                       and app.screen.detail is not None)
        await pilot.press("f1")
        on_cand = _plain(app.screen.query_one("#help-table", Static))
        assert "2nd parent" in on_cand and "Map axes" not in on_cand
        assert "breadcrumb" in on_cand
        await pilot.press("escape")
        dark = app.current_theme.dark
        await pilot.press("ctrl+t")
        assert app.current_theme.dark != dark


async def test_the_palette_goes_to_a_candidate_and_has_the_app_commands(
    make_app: AppFactory, run_dir: Path
) -> None:
    from textual.command import CommandPalette

    app = make_app(run_dir)
    async with app.run_test(size=SIZE) as pilot:
        await _dashboard(pilot, app)
        await pilot.press("ctrl+p")
        await wait_for(pilot, lambda: isinstance(app.screen, CommandPalette))
        await pilot.press(*"c000012")
        await wait_for(pilot, lambda: "Go to c000012" in _options(app))
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, CandidateScreen))
        assert isinstance(app.screen, CandidateScreen) and app.screen.cid == "c000012"
        await pilot.press("ctrl+p")
        await wait_for(pilot, lambda: isinstance(app.screen, CommandPalette))
        await pilot.press(*"export")
        await wait_for(pilot, lambda: "Export the lineage as HTML" in _options(app))
        await pilot.press("enter")
        page = Path("runs/toy-run/lineage.html")
        await wait_for(pilot, page.is_file, 30)
        assert "codeevoLineage" in page.read_text()
        for command in ("new run", "resume the run", "open run toy-run", "lineage graph"):
            await pilot.press("ctrl+p")
            await wait_for(pilot, lambda: isinstance(app.screen, CommandPalette))
            await pilot.press(*command)
            await wait_for(pilot, lambda c=command: c.lower() in _options(app).lower())
            await pilot.press("escape")
            await wait_for(pilot, lambda: not isinstance(app.screen, CommandPalette))


def _options(app: CodeevoApp) -> str:
    from textual.widgets import OptionList

    try:
        options = app.screen.query_one(OptionList)
    except Exception:  # noqa: BLE001 - not drawn yet
        return ""
    return "\n".join(str(options.get_option_at_index(i).prompt)
                     for i in range(options.option_count))


async def test_new_run_form_takes_a_path_and_checks_model_names(
    make_app: AppFactory, workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A problem folder can be typed in; models go through the run's pre-flight check (the
    provider litellm knows, the key in the environment) and its findings show under Models."""
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("n")
        form = app.screen
        assert isinstance(form, NewRunScreen)
        form.query_one("#path-input", Input).value = str(workspace / "nowhere")
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: form.checks == 1)
        errors = {ff.id: ff.error for ff in form.query(FormField) if ff.error}
        assert set(errors) == {"path"} and "nowhere" in errors["path"]
        form.query_one("#path-input", Input).value = str(workspace / "problems" / "toy")
        form.query_one("#name-input", Input).value = "fresh"
        form.query_one("#models-input", Input).value = "opnai/gpt-4.1-mini, claude-x"
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: form.checks == 2, 120)  # the LLM worker starts
        errors = {ff.id: ff.error for ff in form.query(FormField) if ff.error}
        assert set(errors) == {"models"}
        assert "llm.models.0.name: 'opnai/gpt-4.1-mini': litellm knows no provider 'opnai'" \
            in errors["models"]
        assert "llm.models.1.name: 'claude-x'" in errors["models"]
        form.query_one("#models-input", Input).value = "openai/gpt-4.1-mini"
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: form.checks == 3, 120)
        errors = {ff.id: ff.error for ff in form.query(FormField) if ff.error}
        assert set(errors) == {"models"} and "needs OPENAI_API_KEY" in errors["models"]
        assert isinstance(app.screen, NewRunScreen)  # nothing started
    assert not (workspace / "runs" / "fresh").exists()


async def test_quit_without_a_live_run_exits(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("q")
        await pilot.pause()
    assert app.return_code == 0
