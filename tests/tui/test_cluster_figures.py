"""Runs on a cluster: the header shows nodes and slot occupancy, the feed names the node."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.app import App, ComposeResult
from textual.widgets import Static

from codeevo.tui.run_state import RunState
from codeevo.tui.widgets.event_feed import describe
from codeevo.tui.widgets.run_header import RunHeader

pytestmark = pytest.mark.tui


class _HeaderApp(App[None]):
    def compose(self) -> ComposeResult:
        yield RunHeader()


async def test_header_shows_slots_on_nodes() -> None:
    state = RunState(path=Path("r"))
    state.apply({"kind": "started", "t": 1.0})
    state.apply({"kind": "progress", "t": 2.0, "evaluations": 7, "nodes": 3, "slots": 5,
                 "busy": 4})
    assert (state.nodes, state.slots, state.busy) == (3, 5, 4)
    app = _HeaderApp()
    async with app.run_test(size=(140, 6)) as pilot:
        header = app.query_one(RunHeader)
        header.show(state)
        await pilot.pause()
        text = str(header.query_one("#figures", Static).render())
    assert "slots 4/5 on 3 nodes" in text


def test_feed_names_the_node_of_a_cluster_evaluation() -> None:
    base = {"kind": "evaluated", "id": "c000004", "operator": "ast", "island": 1,
            "status": "ok", "score": 1.25}
    remote = describe({**base, "node": "10.0.0.7/ab12cd"})
    local = describe({**base, "node": "local"})
    assert remote is not None and remote.plain.endswith("@10.0.0.7/ab12cd")
    assert local is not None and "@" not in local.plain


async def test_header_shows_each_nodes_occupancy() -> None:
    state = RunState(path=Path("r"))
    state.apply({"kind": "progress", "t": 2.0, "evaluations": 7, "nodes": 2, "slots": 4,
                 "busy": 3, "per_node": {"10.0.0.7/ab12cd": [2, 2], "10.0.0.9/77aa00": [1, 2]}})
    assert state.per_node == {"10.0.0.7/ab12cd": (2, 2), "10.0.0.9/77aa00": (1, 2)}
    app = _HeaderApp()
    async with app.run_test(size=(160, 6)) as pilot:
        header = app.query_one(RunHeader)
        header.show(state)
        await pilot.pause()
        text = str(header.query_one("#figures", Static).render())
    assert "nodes: 10.0.0.7/ab12cd 2/2, 10.0.0.9/77aa00 1/2" in text
    # a later event without per-node figures (a node-less executor) clears them
    state.apply({"kind": "progress", "t": 3.0, "nodes": 1, "slots": 2, "busy": 0})
    assert state.per_node == {}
