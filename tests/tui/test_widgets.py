"""Widgets on their own: the header's pause states, the score plot, the outcome bars."""

from __future__ import annotations

import pytest
from textual.app import App, ComposeResult
from textual.widgets import Static

from codeevo.lineage.index import CurvePoint, Outcomes
from codeevo.tui.run_state import RunState
from codeevo.tui.widgets.outcome_bars import OutcomeBars, bar
from codeevo.tui.widgets.run_header import RunHeader
from codeevo.tui.widgets.score_plot import ScorePlot, Series

pytestmark = pytest.mark.tui


class _Host(App[None]):
    def compose(self) -> ComposeResult:
        yield RunHeader(id="header")
        yield ScorePlot(id="plot")
        yield OutcomeBars(id="bars")


async def test_the_header_never_says_paused_while_candidates_are_in_flight() -> None:
    app = _Host()
    async with app.run_test(size=(100, 30)):
        header = app.query_one(RunHeader)

        def shown(state: RunState) -> str:
            header.show(state)
            return str(header.query_one("#figures", Static).render()).split("\n")[0]

        state = RunState(status="pausing")
        assert shown(state).startswith("● pausing…")
        state.apply({"kind": "paused", "in_flight": 3})
        assert shown(state).startswith("● pausing — 3 still in flight")
        state.apply({"kind": "evaluated", "id": "c1", "status": "ok", "score": 1.0})
        assert shown(state).startswith("● pausing — 2 still in flight")
        state.apply({"kind": "drained"})
        assert shown(state).startswith("● paused — nothing in flight")


async def test_the_plot_draws_a_step_line_per_series() -> None:
    app = _Host()
    async with app.run_test(size=(100, 30)) as pilot:
        plot = app.query_one(ScorePlot)
        assert "no scored candidate yet" in str(plot.render())
        rise = [CurvePoint(1, 1.0, "c0"), CurvePoint(10, 2.0, "c9"), CurvePoint(30, 3.0, "c29")]
        plot.show([Series("island 0", "#5fafff", rise[:2]), Series("overall", "bold", rise)], 40)
        await pilot.pause()
        lines = str(plot.render()).split("\n")
        assert "━ island 0" in lines[0] and "━ overall" in lines[0]
        assert lines[1].lstrip().startswith("3 ┤") and "40 evaluations" in lines[-1]
        assert "2 ┤" not in lines[1] and lines[-3].lstrip().startswith("1 ┤")
        dots = [ln.split("┤", 1)[1] for ln in lines[1:-2] if "┤" in ln]
        assert all(any(0x2800 < ord(ch) <= 0x28FF for ch in ln) for ln in (dots[0], dots[-1]))


async def test_outcome_bars() -> None:
    diff = Outcomes("diff", proposed=10, ok=6, improved=2, improvement_rate=0.2)
    assert bar(diff, 10).plain == "██████░░░░"
    app = _Host()
    async with app.run_test(size=(100, 30)) as pilot:
        bars = app.query_one(OutcomeBars)
        bars.show({"diff": diff}, {"openai/gpt-4.1-mini": diff})
        await pilot.pause()
        text = str(bars.render())
        assert "by operator" in text and "by model" in text
        assert "6/10 ok  60.0%" in text and "20.0% improved" in text
