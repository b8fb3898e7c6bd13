"""RunState: folding engine events into the dashboard header's figures."""

from __future__ import annotations

from codeevo.tui.run_state import RunState


def test_progress_sets_totals_and_history() -> None:
    st = RunState()
    st.apply({"t": 0, "kind": "started"})
    st.apply({"t": 1, "kind": "progress", "evaluations": 5, "candidates": 6, "rate": 12.5,
              "best_score": 0.7, "best_id": "c000004", "cost": 0.01, "tokens": 1234,
              "failures": {"failed:validity": 1}, "budget_left": {"evaluations": 95}})
    assert st.status == "running"
    assert (st.evaluations, st.candidates, st.rate) == (5, 6, 12.5)
    assert (st.best_score, st.best_id, st.tokens) == (0.7, "c000004", 1234)
    assert st.failures == {"failed:validity": 1}
    assert st.budget == {"evaluations": 95}
    assert list(st.history) == [0.7]


def test_pause_resume_and_stop_set_the_status() -> None:
    st = RunState()
    st.apply({"kind": "started"})
    st.apply({"kind": "paused"})
    assert st.status == "paused"
    st.apply({"kind": "resumed"})
    assert st.status == "running"
    st.apply({"kind": "stopped", "reason": "evaluation budget reached (5)", "finished": True})
    assert st.status == "finished" and st.stop_reason == "evaluation budget reached (5)"
    st.apply({"kind": "started"})
    st.apply({"kind": "stopped", "reason": "stopped by user", "finished": False})
    assert st.status == "stopped"


def test_evaluated_events_raise_the_best_between_progress_lines() -> None:
    st = RunState()
    st.apply({"kind": "evaluated", "id": "c000001", "status": "ok", "score": 0.3})
    st.apply({"kind": "evaluated", "id": "c000002", "status": "failed", "score": None})
    st.apply({"kind": "evaluated", "id": "c000003", "status": "ok", "score": 0.2})
    assert (st.best_score, st.best_id) == (0.3, "c000001")
