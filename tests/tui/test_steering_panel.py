"""The dashboard's steering panel: bandit allocation over time and the latest insights, from a
real run's lineage and events (and hidden for a run without them)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from rich.console import Console
from textual.widgets import Static

from codeevo.cli import main
from codeevo.tui.app import CodeevoApp
from codeevo.tui.screens.dashboard import DashboardScreen
from codeevo.tui.widgets.steering_panel import SteeringPanel, share_bars
from tests.llm.toy import make_toy_problem
from tests.tui.conftest import SIZE
from tests.tui.helpers import wait_for

pytestmark = pytest.mark.tui


def _plain(widget: Static) -> str:
    console = Console(width=160, record=True, file=io.StringIO())
    console.print(widget.content)
    return console.export_text()


@pytest.fixture
def runs(tmp_path: Path) -> Path:
    """Two offline runs of the toy problem: one steered (bandit and insights on), one plain."""
    problem = make_toy_problem(tmp_path)
    assert main(["run", str(problem), "--out", str(tmp_path / "runs" / "toy"), "--sandbox",
                 "local", "--quiet", "--evals", "12", "--set", "bandit.enabled=true", "--set",
                 "bandit.report_every=3", "--set", "insights.enabled=true", "--set",
                 "insights.interval=5"]) == 0
    assert main(["run", str(problem), "--out", str(tmp_path / "runs" / "plain"), "--sandbox",
                 "local", "--quiet", "--evals", "3"]) == 0
    return tmp_path


async def test_panel_shows_the_bandit_and_insights_of_a_run(runs: Path) -> None:
    tmp_path = runs
    run = tmp_path / "runs" / "toy"
    app = CodeevoApp(run, runs_root=tmp_path / "runs", problem_roots=[tmp_path / "problems"])
    async with app.run_test(size=SIZE) as pilot:
        dash = app.screen
        assert isinstance(dash, DashboardScreen)
        panel = dash.query_one("#steering", SteeringPanel)
        await wait_for(pilot, lambda: panel.has_class("shown") and panel.insight is not None
                       and panel.report is not None)
        bandit = _plain(panel.query_one("#bandit", Static))
        assert "bandit (thompson" in bandit and "offline·ast" in bandit
        insights = _plain(panel.query_one("#insights", Static))
        assert "insights v2 after 10 evaluations (digest)" in insights
        # live events extend the allocation curve
        before = len(panel.history["offline·ast"])
        panel.add([{"kind": "bandit", "policy": "thompson", "proposals": 999,
                    "arms": [{"model": None, "operator": "ast", "pulls": 999, "window": 3,
                              "share": 1.0, "improved": 1, "reward": 0.5, "cost": 0.0}]}])
        assert len(panel.history["offline·ast"]) == before + 1


async def test_panel_stays_hidden_without_bandit_or_insights(runs: Path) -> None:
    tmp_path = runs
    run = tmp_path / "runs" / "plain"
    app = CodeevoApp(run, runs_root=tmp_path / "runs", problem_roots=[tmp_path / "problems"])
    async with app.run_test(size=SIZE) as pilot:
        dash = app.screen
        assert isinstance(dash, DashboardScreen)
        await wait_for(pilot, lambda: dash.loaded)
        await pilot.pause(0.2)
        assert not dash.query_one("#steering", SteeringPanel).has_class("shown")


def test_share_bars() -> None:
    assert share_bars([0.0, 0.5, 1.0]) == " ▄█"


async def test_new_run_form_starts_a_foreign_folder(tmp_path: Path) -> None:
    """The TUI's new-run form lists OpenEvolve / ShinkaEvolve folders and runs them as they
    are; the run records where it came from."""
    import json

    from textual.widgets import Input, Select

    from codeevo.runs import run_summary
    from codeevo.tui.screens.new_run import NewRunScreen

    problems = Path(__file__).resolve().parents[2] / "problems"
    app = CodeevoApp(runs_root=tmp_path / "runs", problem_roots=[problems])
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("n")
        form = app.screen
        assert isinstance(form, NewRunScreen)
        listed = {p.name for p in form.problems}
        assert {"openevolve_knapsack", "shinka_spread"} <= listed
        form.query_one("#problem-input", Select).value = str(
            (problems / "shinka_spread").resolve())
        await pilot.pause()  # the form suggests a run name for the chosen problem
        form.query_one("#name-input", Input).value = "spread"
        form.query_one("#budget-input", Input).value = "4"
        form.query_one("#sandbox-input", Select).value = "local"
        checked = form.validate_form()
        assert checked is not None and checked[0].origin is not None
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen), 30)
        dash = app.screen
        assert isinstance(dash, DashboardScreen)
        await wait_for(pilot, lambda: dash.state.status == "finished", 120)
        # the "stopped" event comes before the engine thread closes the run (and releases the
        # driver lock): wait for the thread, or run_summary may still see a live driver
        await wait_for(pilot, lambda: dash.live is not None and dash.live.done.is_set(), 60)
    run = tmp_path / "runs" / "spread"
    assert run_summary(run).status == "finished"
    meta = json.loads((run / "run.json").read_text())
    assert meta["foreign"]["format"] == "shinkaevolve" and meta["foreign"]["shared_process"]
