"""The MAP-Elites maps: projection of 3+ feature dimensions and cycling the shown pair."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from codeevo.config import FeatureConfig
from codeevo.tui.app import CodeevoApp
from codeevo.tui.run_index import Elite
from codeevo.tui.screens.dashboard import DashboardScreen
from codeevo.tui.widgets.heatmap import IslandHeatmap, axis_pairs
from tests.tui.conftest import SIZE
from tests.tui.helpers import wait_for

pytestmark = pytest.mark.tui

FEATURES = [FeatureConfig(name="a", bins=2), FeatureConfig(name="b", bins=3),
            FeatureConfig(name="c", bins=4)]
GRID = {(0, 0, 3): Elite("c1", 1.0), (0, 2, 3): Elite("c2", 5.0), (1, 1, 0): Elite("c3", 2.0)}


def test_axis_pairs() -> None:
    assert axis_pairs(0) == axis_pairs(1) == axis_pairs(2) == [(0, 1)]
    assert axis_pairs(3) == [(0, 1), (0, 2), (1, 2)]


def test_a_map_projects_onto_the_dims_it_shows_and_the_best_elite_wins() -> None:
    heat = IslandHeatmap(0, FEATURES)
    heat.set_cells(GRID, (0.0, 5.0))
    assert (heat.bins_x, heat.bins_y) == (2, 3)
    assert {k: e.id for k, e in heat.cells.items()} == {(0, 0): "c1", (0, 2): "c2",
                                                        (1, 1): "c3"}
    heat.set_cells(GRID, (0.0, 5.0), (0, 2))  # a × c: c1 and c2 share cell (0, 3)
    assert (heat.bins_x, heat.bins_y) == (2, 4)
    assert {k: e.id for k, e in heat.cells.items()} == {(0, 3): "c2", (1, 0): "c3"}
    heat.set_cells(GRID, (0.0, 5.0), (1, 2))
    assert {k: e.id for k, e in heat.cells.items()} == {(0, 3): "c1", (2, 3): "c2",
                                                        (1, 0): "c3"}


async def test_x_cycles_the_axes_of_every_map(
    make_app: Callable[..., CodeevoApp], run_dir: Path
) -> None:
    app = make_app(run_dir)
    async with app.run_test(size=SIZE) as pilot:
        dash = app.screen
        assert isinstance(dash, DashboardScreen)
        await wait_for(pilot, lambda: dash.loaded)
        await pilot.press("x")  # the toy problem has two dimensions: nothing else to show
        assert dash.dims == (0, 1)
        dash.features = FEATURES
        dash.index.grids = {0: dict(GRID), 1: {(1, 2, 1): Elite("c4", 3.0)}}
        await pilot.press("x")
        await pilot.pause()
        maps = {m.island: m for m in dash.query(IslandHeatmap)}
        assert dash.dims == (0, 2) and all(m.dims == (0, 2) for m in maps.values())
        assert maps[0].cells[(0, 3)].id == "c2" and maps[1].cells[(1, 1)].id == "c4"
        assert "a × c" in str(dash.query_one("#cell").render())
        await pilot.press("x", "x")
        assert dash.dims == (0, 1)
