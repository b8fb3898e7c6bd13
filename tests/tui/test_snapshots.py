"""Screenshots of each screen on the fixed recorded run, at 80 x 24 and 160 x 48 (pinned clock).

Update after an intended change: `pytest tests/tui/test_snapshots.py --snapshot-update`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from rich.cells import cell_len
from rich.text import Text
from textual.pilot import Pilot
from textual.widgets import Input

from codeevo.tui.app import CodeevoApp
from codeevo.tui.screens.candidate import CandidateScreen
from codeevo.tui.screens.dashboard import DashboardScreen
from codeevo.tui.screens.home import HomeScreen
from codeevo.tui.screens.lineage import LineageScreen
from codeevo.tui.widgets.leaderboard import Leaderboard
from codeevo.tui.widgets.score_plot import ScorePlot
from tests.tui.helpers import wait_for

pytestmark = pytest.mark.tui
AppFactory = Callable[..., CodeevoApp]
Snap = Callable[..., bool]


async def _home_ready(pilot: Pilot[None]) -> None:
    screen = pilot.app.screen
    assert isinstance(screen, HomeScreen)
    await wait_for(pilot, lambda: screen.run_paths != [])


async def _dashboard_ready(pilot: Pilot[None]) -> None:
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, DashboardScreen)
                   and pilot.app.screen.loaded)
    await pilot.pause(0.1)
    board = pilot.app.screen.query_one("#leaderboard", Leaderboard)
    await wait_for(pilot, lambda: _columns_fit(board))


def _columns_fit(board: Leaderboard) -> bool:
    """DataTable widens its columns on idle after rows are added; a busy machine can take the
    screenshot before that (squashed "c0" ids)."""
    for key, column in board.columns.items():
        widths = [cell.cell_len if isinstance(cell, Text) else cell_len(str(cell))
                  for cell in board.get_column(key)]
        if board.row_count and column.content_width < max(widths):
            return False
    return True


def test_home(snap_compare: Snap, make_app: AppFactory, size: tuple[int, int]) -> None:
    assert snap_compare(make_app(), terminal_size=size, run_before=_home_ready)


def test_new_run_form_with_errors(snap_compare: Snap, make_app: AppFactory,
                                  size: tuple[int, int]) -> None:
    async def before(pilot: Pilot[None]) -> None:
        await _home_ready(pilot)
        await pilot.press("n")
        await pilot.pause()
        form = pilot.app.screen
        for field in form.query(Input):  # a blinking cursor would make the picture random
            field.cursor_blink = False
        form.query_one("#islands-input").value = "0"  # type: ignore[attr-defined]
        form.query_one("#seed-input").value = "x"  # type: ignore[attr-defined]
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: form.checks == 1)  # type: ignore[attr-defined]
        # The first field in error has focus and has been scrolled into view with its error.
        field = form.query_one("#islands")
        await wait_for(pilot, lambda: form.focused is not None and field.region.bottom > 0
                       and form.query_one("VerticalScroll").region.contains_region(
                           field.region))

    assert snap_compare(make_app(), terminal_size=size, run_before=before)


def test_dashboard(snap_compare: Snap, make_app: AppFactory, run_dir: Path,
                   size: tuple[int, int]) -> None:
    async def before(pilot: Pilot[None]) -> None:
        await _dashboard_ready(pilot)
        await pilot.press("shift+tab")  # from the leaderboard back to island 1's map
        await pilot.pause(0.1)

    assert snap_compare(make_app(run_dir), terminal_size=size, run_before=before)


def test_dashboard_progress_plot(snap_compare: Snap, make_app: AppFactory, run_dir: Path,
                                 size: tuple[int, int]) -> None:
    async def before(pilot: Pilot[None]) -> None:
        await _dashboard_ready(pilot)
        await pilot.press("2")
        await wait_for(pilot, lambda: bool(pilot.app.screen.query_one(ScorePlot).series))

    assert snap_compare(make_app(run_dir), terminal_size=size, run_before=before)


def test_candidate_diff(snap_compare: Snap, make_app: AppFactory, run_dir: Path,
                        size: tuple[int, int]) -> None:
    async def before(pilot: Pilot[None]) -> None:
        await _dashboard_ready(pilot)
        await pilot.press("b")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, CandidateScreen)
                       and pilot.app.screen.detail is not None)
        await pilot.press("p")  # one step along the breadcrumb
        await wait_for(pilot, lambda: pilot.app.screen.detail is not None)  # type: ignore[attr-defined]
        await pilot.press("d")
        await pilot.pause(0.1)

    assert snap_compare(make_app(run_dir), terminal_size=size, run_before=before)


def test_lineage_graph(snap_compare: Snap, make_app: AppFactory, run_dir: Path,
                       size: tuple[int, int]) -> None:
    async def before(pilot: Pilot[None]) -> None:
        await _dashboard_ready(pilot)
        await pilot.press("l")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, LineageScreen)
                       and pilot.app.screen.graph.laid_out)
        await pilot.press("b")
        screen = pilot.app.screen
        assert isinstance(screen, LineageScreen)
        graph = screen.graph
        # Centred on the best once the view has scrolled there.
        await wait_for(pilot, lambda: graph.scroll_offset.y
                       == min(graph.max_scroll_y, max(0, graph.cursor - graph.size.height // 2)))

    assert snap_compare(make_app(run_dir), terminal_size=size, run_before=before)


def test_help_light_theme(snap_compare: Snap, make_app: AppFactory, run_dir: Path,
                          size: tuple[int, int]) -> None:
    async def before(pilot: Pilot[None]) -> None:
        await _dashboard_ready(pilot)
        await pilot.press("ctrl+t", "question_mark")
        await pilot.pause()

    assert snap_compare(make_app(run_dir), terminal_size=size, run_before=before)
