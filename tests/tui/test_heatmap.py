"""The MAP-Elites maps: projection of 3+ feature dimensions and cycling the shown pair."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from codeevo.config import FeatureConfig
from codeevo.lineage.index import Elite
from codeevo.tui.app import CodeevoApp
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
        dash.index.cells = {0: dict(GRID), 1: {(1, 2, 1): Elite("c4", 3.0)}}
        await pilot.press("x")
        await pilot.pause()
        maps = {m.island: m for m in dash.query(IslandHeatmap)}
        assert dash.dims == (0, 2) and all(m.dims == (0, 2) for m in maps.values())
        assert maps[0].cells[(0, 3)].id == "c2" and maps[1].cells[(1, 1)].id == "c4"
        assert "a × c" in str(dash.query_one("#cell").render())
        await pilot.press("x", "x")
        assert dash.dims == (0, 1)


def test_compact_maps_pack_two_rows_a_line() -> None:
    heat = IslandHeatmap(0, [FeatureConfig(name="a", bins=10), FeatureConfig(name="b", bins=10)])
    heat.set_cells({(0, 0): Elite("c1", 1.0), (9, 9): Elite("c2", 2.0)}, (1.0, 2.0))
    assert heat.footprint(3, False) == (34, 12)
    assert heat.footprint(1, True) == (14, 7)
    heat.set_size(1, True)
    lines = heat.render().plain.split("\n")
    assert len(lines) == 5 and all(line == "▀" * 10 for line in lines)


async def test_many_islands_fit_an_80_column_screen(
    make_app: Callable[..., CodeevoApp], run_dir: Path
) -> None:
    """Eight islands of 10 x 10 cells: the maps shrink to half blocks, wrap into rows, and
    each one scrolls into view when it gets focus."""
    app = make_app(run_dir)
    async with app.run_test(size=(80, 24)) as pilot:
        dash = app.screen
        assert isinstance(dash, DashboardScreen)
        await wait_for(pilot, lambda: dash.loaded)
        dash.features = [FeatureConfig(name="a", bins=10), FeatureConfig(name="b", bins=10)]
        dash.index.cells = {i: {(i, 9 - i): Elite(f"c{i}", float(i))} for i in range(8)}
        dash._last_scale = None
        dash._refresh(set(range(8)), [])
        for m in dash.query(IslandHeatmap):
            m.features = dash.features
            m.bins_x = m.bins_y = 10
        dash.fit_maps()
        await pilot.pause(0.2)
        maps = list(dash.query(IslandHeatmap))
        assert len(maps) == 8 and all(m.compact for m in maps)
        area = dash.query_one("#maps")
        for m in maps:  # none runs off the side; the area scrolls to the ones below
            m.focus()
            await wait_for(pilot, lambda m=m: area.region.y <= m.region.y
                           and m.region.bottom <= area.region.bottom)
            assert m.region.width == m.footprint(1, True)[0] and 0 < m.region.right <= 80
        assert area.region.bottom <= 24 - 6  # room is left for the tabs
