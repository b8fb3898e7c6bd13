"""The progress line fits the terminal: parts are dropped least important first, never cut."""

from __future__ import annotations

from codeevo.progress import describe

EVENT = {
    "best_score": 2.6104, "rate": 41.5, "tokens": 123456, "cost": 1.2345,
    "failures": {"failed:fitness": 12, "rejected:parse": 7, "timeout:fitness": 2},
    "by_model": {"openai/gpt-4.1-mini": {"cost": 0.9}, "anthropic/claude-haiku-4-5": {"cost": 0.3},
                 "openai/gpt-4.1": {"cost": 0.03}},
    "budget_left": {"evaluations": 120, "cost": 3.77},
}


def test_full_line_has_every_part() -> None:
    line = describe(EVENT)
    for text in ("best 2.6104", "41.5/min", "fail failed:fitness=12", "123456 tok $1.2345",
                 "openai/gpt-4.1:$0.030", "left evaluations=120,cost=3.77"):
        assert text in line
    assert len(line) > 160  # the case that a terminal used to cut


def test_narrow_line_keeps_what_matters_and_never_cuts_a_part() -> None:
    full = describe(EVENT).split(" | ")
    for width in (20, 40, 60, 90, 130):
        line = describe(EVENT, width)
        assert len(line) <= width
        assert line.startswith("best 2.6104")
        assert all(part in full for part in line.split(" | "))  # whole parts only
    assert "41.5/min" in describe(EVENT, 40)
    assert "left evaluations=120" in describe(EVENT, 150)
    assert "openai/gpt-4.1:" not in describe(EVENT, 150)  # per-model costs go first
    assert "left" not in describe(EVENT, 90)  # and nothing less important fills a gap


def test_line_shows_slots_nodes_and_infra() -> None:
    base = {"best_score": 1.5, "rate": 12.0, "failures": {"failed:full": 2}}
    assert describe(base) == "best 1.5000 | 12.0/min | fail failed:full=2"
    local = describe({**base, "nodes": 1, "slots": 2, "busy": 2})
    assert local.endswith("| slots 2/2")
    cluster = describe({**base, "nodes": 3, "slots": 5, "busy": 4, "infra": 1})
    assert "| slots 4/5 on 3 nodes | infra 1" in cluster
    narrow = describe({**base, "nodes": 3, "slots": 5, "busy": 4}, 50)
    assert "slots 4/5 on 3 nodes" in narrow  # a cluster's occupancy outranks failures
    assert "slots" not in describe({**base, "nodes": 1, "slots": 2, "busy": 2}, 50)


def test_line_shows_each_nodes_occupancy_and_drops_it_first() -> None:
    base = {"best_score": 1.5, "rate": 12.0, "failures": {}, "nodes": 2, "slots": 3, "busy": 2,
            "per_node": {"10.0.0.8/ef34ab": [0, 1], "10.0.0.7/ab12cd": [2, 2]}}
    assert describe(base).endswith("| nodes 10.0.0.7/ab12cd 2/2, 10.0.0.8/ef34ab 0/1")
    narrow = describe(base, 60)
    assert "slots 2/3 on 2 nodes" in narrow and "ab12cd" not in narrow
    assert "nodes 10" not in describe({**base, "per_node": {"x": "junk"}})  # malformed: left out
