"""Runs started from the TUI: the real engine on circle packing, local sandbox, offline operator.

Steering tells the truth: pause says how many candidates are still in flight until the last
one is in, stop asks first, a stopped run resumes with a new budget, detaching says where the
run went on. Every wait is on an event of the run, never on the clock.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import DataTable, Input, Select, Static

from codeevo.events import read_events
from codeevo.runs import RunDir, run_summary
from codeevo.tui.app import CodeevoApp
from codeevo.tui.screens.candidate import CandidateScreen
from codeevo.tui.screens.confirm import ConfirmDialog
from codeevo.tui.screens.dashboard import DashboardScreen
from codeevo.tui.screens.new_run import NewRunScreen
from codeevo.tui.screens.quit_dialog import QuitDialog
from codeevo.tui.screens.resume_dialog import ResumeDialog
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


# A budget no run reaches while a test drives it: the offline operators evaluate hundreds of
# candidates in seconds, and a run that finished on its own cannot be paused or stopped.
LONG = "10000000"


async def _start(pilot: Any, app: CodeevoApp, budget: str, name: str) -> DashboardScreen:
    await pilot.press("n")
    await _fill_form(app, budget, name)
    await pilot.press("ctrl+s")
    await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen), 60)
    dash = app.screen
    assert isinstance(dash, DashboardScreen) and dash.live is not None
    return dash


def _events(run: Path) -> list[dict[str, Any]]:
    return list(read_events(run / "events.jsonl"))


def _header(dash: DashboardScreen) -> str:
    return str(dash.query_one("#figures", Static).render())


async def test_start_watch_to_budget_then_open_best_and_a_diff(tmp_path: Path) -> None:
    app = _app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        dash = await _start(pilot, app, "8", "cp")
        await wait_for(pilot, lambda: dash.state.status == "finished", 120)
        assert dash.state.evaluations == 8
        assert dash.state.stop_reason == "evaluation budget reached (8)"
        assert dash.batches >= 1 and len(dash.index) >= 8
        best = dash.index.best()
        assert best is not None and best.commit  # events carry each candidate's commit
        await pilot.press("b")
        await wait_for(pilot, lambda: isinstance(app.screen, CandidateScreen)
                       and app.screen.detail is not None)
        assert isinstance(app.screen, CandidateScreen) and app.screen.cid == best.id
        await pilot.press("escape")
        # The best child of a parent on the leaderboard: open it and look at its diff.
        board = dash.query_one("#leaderboard", DataTable)
        row = next(i for i, c in enumerate(dash.index.top(50)) if c.parents)
        board.focus()
        board.move_cursor(row=row)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, CandidateScreen)
                       and app.screen.detail is not None)
        await pilot.press("d")
        await pilot.pause()
        diffs = list(app.screen.query(DiffView))
        assert diffs and "@@" in diffs[0].diff
    run = tmp_path / "runs" / "cp"
    assert run_summary(run).status == "finished"
    assert RunDir.open(run).driver_pid() is None


async def test_pause_says_what_is_still_in_flight_then_stop_asks_then_resume(
    tmp_path: Path,
) -> None:
    app = _app(tmp_path)
    run = tmp_path / "runs" / "long"
    async with app.run_test(size=SIZE) as pilot:
        dash = await _start(pilot, app, LONG, "long")
        await wait_for(pilot, lambda: dash.state.evaluations >= 2, 120)
        await pilot.press("space")
        assert dash.live is not None and dash.live.paused
        shown = _header(dash)  # never a bare "paused" while work is in flight
        assert "● pausing" in shown or "● paused — nothing in flight" in shown
        await wait_for(pilot, lambda: dash.state.in_flight == 0, 120)
        assert "paused — nothing in flight" in _header(dash)
        # The engine's word for it: `drained` (when anything was in flight at the pause).
        await wait_for(pilot, lambda: any(e["kind"] in ("drained", "paused") and
                                          not e.get("in_flight", 0) for e in _events(run)), 60)
        events = _events(run)
        kinds = [e["kind"] for e in events]
        (at,) = [i for i, k in enumerate(kinds) if k == "paused"]
        told = events[at]["in_flight"]
        after = [e for e in events[at:] if e["kind"] == "evaluated"]
        assert len(after) == told  # exactly those in flight were recorded after the pause
        if told:
            assert kinds[-1] == "drained"  # ... and then nothing more
        settled = dash.state.evaluations
        assert settled == dash.index.evaluations  # nothing can start until resumed
        await pilot.press("space")
        assert dash.live is not None and not dash.live.paused
        await wait_for(pilot, lambda: dash.state.evaluations > settled, 120)
        # Stop asks first; "no" leaves the run going.
        await pilot.press("s")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        await pilot.press("n")
        assert app.screen is dash and dash.live.running
        await pilot.press("s")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        await pilot.press("y")
        await wait_for(pilot, lambda: dash.live is not None and dash.live.done.is_set(), 120)
        await wait_for(pilot, lambda: dash.state.status == "stopped", 30)
        stopped_at = dash.index.evaluations
        # A stopped run resumes from the UI with a new budget.
        await pilot.press("r")
        await wait_for(pilot, lambda: isinstance(app.screen, ResumeDialog))
        dialog = app.screen
        assert isinstance(dialog, ResumeDialog)
        dialog.query_one("#more-input", Input).value = "zero"
        await pilot.press("ctrl+s")
        assert "a whole number" in dialog.query_one("#more", FormField).error
        dialog.query_one("#more-input", Input).value = "3"
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen)
                       and app.screen is not dash, 60)
        resumed = app.screen
        assert isinstance(resumed, DashboardScreen) and resumed.live is not None
        await wait_for(pilot, lambda: resumed.state.status == "finished", 120)
        assert resumed.state.evaluations == stopped_at + 3
        assert resumed.state.stop_reason == f"evaluation budget reached ({stopped_at + 3})"
    assert run_summary(run).status == "finished"
    assert RunDir.open(run).load_config().budget.max_evaluations == stopped_at + 3


async def test_quit_and_detach_says_where_the_run_goes_on(tmp_path: Path) -> None:
    app = _app(tmp_path)
    run = tmp_path / "runs" / "bg"
    pid = None
    try:
        async with app.run_test(size=SIZE) as pilot:
            dash = await _start(pilot, app, LONG, "bg")
            await wait_for(pilot, lambda: dash.state.evaluations >= 1, 120)
            await pilot.press("q")
            await wait_for(pilot, lambda: isinstance(app.screen, QuitDialog), 10)
            await pilot.press("d")
            await wait_for(pilot, lambda: bool(app.exit_notes), 120)
        (note,) = app.exit_notes
        pid = int(note.split(" as pid ", 1)[1].split()[0])
        assert f"log: {run / 'detached.log'}" in note and f"kill {pid}" in note
        deadline = time.monotonic() + 120
        while RunDir.open(run).driver_pid() != pid:  # the background resume took the run
            assert time.monotonic() < deadline, "the detached run never started"
            time.sleep(0.2)
    finally:
        if pid is not None:
            _stop(pid)
    assert run_summary(run).status in ("stopped", "finished")


def _stop(pid: int) -> None:
    """End the background run this test started (its own pid), and reap it."""
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            done, _ = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            done = pid if not Path(f"/proc/{pid}").exists() else 0
        if done:
            return
        time.sleep(0.1)
    os.kill(pid, signal.SIGKILL)


def test_codeevo_tui_prints_the_exit_notes(monkeypatch: pytest.MonkeyPatch,
                                           capsys: pytest.CaptureFixture[str],
                                           tmp_path: Path) -> None:
    from codeevo.cli import main

    def run(self: CodeevoApp) -> None:
        self.exit_notes.append("runs/x: continues in the background as pid 4242")

    monkeypatch.setattr(CodeevoApp, "run", run)
    assert main(["tui", "--runs", str(tmp_path), "--problems", str(tmp_path / "none")]) == 0
    out, err = capsys.readouterr()
    assert "continues in the background as pid 4242" in out
    assert f"--problems {tmp_path / 'none'}: no such folder" in err
    assert sys.executable  # (the detached run is `python -m codeevo resume RUN`)
