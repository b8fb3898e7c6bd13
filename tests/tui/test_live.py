"""Runs started from the TUI: the real engine on circle packing, local sandbox, offline operator."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import DataTable, Input, Select

from codeevo.runs import RunDir, run_summary
from codeevo.tui.app import CodeevoApp
from codeevo.tui.screens.candidate import CandidateScreen
from codeevo.tui.screens.dashboard import DashboardScreen
from codeevo.tui.screens.new_run import NewRunScreen
from codeevo.tui.screens.quit_dialog import QuitDialog
from codeevo.tui.widgets.diff_view import DiffView
from codeevo.tui.widgets.form_field import FormField
from tests.tui.conftest import SIZE
from tests.tui.helpers import wait_for

pytestmark = pytest.mark.tui
PROBLEMS = Path(__file__).resolve().parents[2] / "problems"


def _app(tmp_path: Path) -> CodeevoApp:
    return CodeevoApp(runs_root=tmp_path / "runs", problem_roots=[PROBLEMS])


async def _fill_form(app: CodeevoApp, budget: str, name: str = "cp") -> NewRunScreen:
    form = app.screen
    assert isinstance(form, NewRunScreen)
    form.query_one("#problem-input", Select).value = str((PROBLEMS / "circle_packing").resolve())
    form.query_one("#name-input", Input).value = name
    form.query_one("#budget-input", Input).value = budget
    form.query_one("#sandbox-input", Select).value = "local"
    form.query_one("#islands-input", Input).value = "2"
    form.query_one("#seed-input", Input).value = "3"
    return form


async def test_start_watch_to_budget_then_open_best_and_a_diff(tmp_path: Path) -> None:
    app = _app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("n")
        await _fill_form(app, "8")
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen), 30)
        dash = app.screen
        assert isinstance(dash, DashboardScreen) and dash.live is not None
        await wait_for(pilot, lambda: dash.state.status == "finished", 120)
        assert dash.state.evaluations == 8
        assert dash.state.stop_reason == "evaluation budget reached (8)"
        assert dash.batches >= 1 and len(dash.index) >= 8
        best = dash.index.best()
        assert best is not None and dash.state.best_id == best.id
        await pilot.press("b")
        await wait_for(pilot, lambda: isinstance(app.screen, CandidateScreen)
                       and app.screen.detail is not None)
        assert isinstance(app.screen, CandidateScreen) and app.screen.cid == best.id
        await pilot.press("escape")
        # The best child of a parent on the leaderboard: open it and look at its diff.
        board = dash.query_one("#leaderboard", DataTable)
        row = next(i for i, c in enumerate(dash.index.top(25)) if c.parents)
        board.focus()
        board.move_cursor(row=row)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, CandidateScreen)
                       and app.screen.detail is not None)
        await pilot.press("d")
        await pilot.pause()
        diffs = list(app.screen.query(DiffView))
        assert diffs and "@@" in diffs[0].diff
    # An ordinary run directory, closed cleanly.
    run = tmp_path / "runs" / "cp"
    assert run_summary(run).status == "finished"
    assert RunDir.open(run).driver_pid() is None


async def test_pause_resume_stop_and_quit(tmp_path: Path) -> None:
    app = _app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("n")
        await _fill_form(app, "400", name="long")
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen), 30)
        dash = app.screen
        assert isinstance(dash, DashboardScreen) and dash.live is not None
        await wait_for(pilot, lambda: dash.state.evaluations >= 2, 60)
        await pilot.press("space")
        assert dash.live.paused and dash.state.status == "paused"
        await wait_for(pilot, lambda: any(e.get("kind") == "paused"
                                          for e in _events(tmp_path / "runs" / "long")), 10)
        await pilot.pause(1.5)  # in-flight candidates finish, nothing new starts
        settled = dash.state.evaluations
        await pilot.pause(1.5)
        assert dash.state.evaluations == settled
        await pilot.press("space")
        assert not dash.live.paused
        await wait_for(pilot, lambda: dash.state.evaluations > settled, 60)
        # Quit while running: the dialog offers stop / detach; stop closes the run cleanly.
        await pilot.press("q")
        await wait_for(pilot, lambda: isinstance(app.screen, QuitDialog), 5)
        await pilot.press("s")
        await wait_for(pilot, lambda: dash.live is not None and dash.live.done.is_set(), 60)
        await pilot.pause(0.2)
    run = tmp_path / "runs" / "long"
    summary = run_summary(run)
    assert summary.status == "stopped" and summary.stop_reason == "stopped: the TUI quit"
    assert RunDir.open(run).driver_pid() is None


async def test_invalid_form_input_is_shown_by_field(tmp_path: Path) -> None:
    app = _app(tmp_path)
    (tmp_path / "runs" / "taken").mkdir(parents=True)
    (tmp_path / "runs" / "taken" / "run.json").write_text("{}")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("n")
        form = await _fill_form(app, "-5", name="taken")
        form.query_one("#islands-input", Input).value = "two"
        form.query_one("#max_cost-input", Input).value = "0"
        await pilot.press("ctrl+s")
        await pilot.pause()
        errors = {ff.id: ff.error for ff in form.query(FormField) if ff.error}
        assert set(errors) == {"name", "budget", "islands", "max_cost"}
        assert "budget.max_evaluations" in errors["budget"]
        assert "population.num_islands" in errors["islands"]
        assert "already holds a run" in errors["name"]
        assert isinstance(app.screen, NewRunScreen)  # nothing started
        form.query_one("#name-input", Input).value = "ok name!"
        form.query_one("#budget-input", Input).value = "5"
        form.query_one("#islands-input", Input).value = "2"
        form.query_one("#max_cost-input", Input).value = ""
        await pilot.press("ctrl+s")
        await pilot.pause()
        errors = {ff.id: ff.error for ff in form.query(FormField) if ff.error}
        assert set(errors) == {"name"}
    assert not (tmp_path / "runs" / "ok name!").exists()


def _events(run: Path) -> list[dict[str, object]]:
    from codeevo.events import read_events

    return list(read_events(run / "events.jsonl"))
