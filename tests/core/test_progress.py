"""The headless progress line."""

from __future__ import annotations

from codeevo.progress import describe


def test_line_shows_slots_nodes_and_infra() -> None:
    base = {"best_score": 1.5, "rate": 12.0, "failures": {"failed:full": 2}}
    assert describe(base) == "best 1.5000 | 12.0/min | fail failed:full=2"
    local = describe({**base, "nodes": 1, "slots": 2, "busy": 2})
    assert local.endswith("| slots 2/2")
    cluster = describe({**base, "nodes": 3, "slots": 5, "busy": 4, "infra": 1})
    assert "| slots 4/5 on 3 nodes | infra 1" in cluster
