"""RunState: folding engine events into the dashboard header's figures."""

from __future__ import annotations

from pathlib import Path

from codeevo.runs import RunSummary, run_summary
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
    assert st.budget_left == {"evaluations": 95}


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


def test_pause_counts_down_the_candidates_still_in_flight() -> None:
    """The header says "paused" only when nothing is left in flight."""
    st = RunState()
    st.apply({"kind": "started"})
    st.apply({"kind": "paused", "in_flight": 2})
    assert st.status == "paused" and st.in_flight == 2 and st.draining
    st.apply({"kind": "evaluated", "id": "c000007", "status": "ok", "score": 1.0})
    assert st.in_flight == 1 and st.draining
    st.apply({"kind": "evaluated", "id": "c000008", "status": "rejected", "score": None})
    st.apply({"kind": "drained"})
    assert st.in_flight == 0 and not st.draining
    st.apply({"kind": "resumed"})
    assert st.status == "running" and st.in_flight is None
    st.apply({"kind": "paused"})  # a log from before events counted what was in flight
    assert st.in_flight is None and not st.draining


def test_run_summary_apply_folds_one_event_at_a_time() -> None:
    s = RunSummary(path=Path("r"))
    s.apply({"t": 5.0, "kind": "started"})
    assert (s.status, s.started, s.updated) == ("running", 5.0, 5.0)
    s.apply({"t": 6.0, "kind": "progress", "evaluations": 3, "candidates": 4,
             "best_score": 0.5, "best_id": "c000002", "cost": 0.25,
             "tokens": {"input": 10, "output": 5}, "failures": {"failed:x": 1},
             "budget_left": {"evaluations": 7}, "rate": 30.0})
    assert (s.evaluations, s.candidates, s.best_score, s.best_id) == (3, 4, 0.5, "c000002")
    assert (s.cost, s.tokens, s.rate, s.budget_left) == (0.25, 15, 30.0, {"evaluations": 7})
    s.apply({"t": 7.0, "kind": "progress", "evaluations": 4, "best_score": None})
    assert s.best_score == 0.5  # a progress line without a best keeps the one known
    s.apply({"t": 8.0, "kind": "stopped", "reason": "budget", "finished": True})
    s.apply({"t": 9.0, "kind": "started"})
    assert (s.status, s.stop_reason, s.started, s.updated) == ("running", None, 5.0, 9.0)


def test_dashboard_state_and_run_summary_agree_on_a_recorded_run(run_dir: Path) -> None:
    from codeevo.events import read_events

    st = RunState()
    for event in read_events(run_dir / "events.jsonl"):
        st.apply(event)
    summary = run_summary(run_dir)
    for name in ("status", "evaluations", "candidates", "best_score", "best_id", "cost",
                 "tokens", "started", "updated", "stop_reason", "failures", "rate",
                 "budget_left"):
        assert getattr(st, name) == getattr(summary, name), name
    assert summary.status == "finished"
