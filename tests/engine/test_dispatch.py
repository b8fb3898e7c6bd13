"""The engine hands jobs to an executor: slots come from it, infra results are kept apart."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path
from typing import Any

import pytest

from codeevo.candidate import Status
from codeevo.config import RunConfig
from codeevo.engine import Engine, SeedInfraError
from codeevo.events import EventLog, read_events
from codeevo.lineage.store import GitLineageStore
from codeevo.mutation.screen import program_hash
from codeevo.problem import Problem
from tests.doubles import ElasticExecutor, LiteralSandbox, NudgeOperator
from tests.engine.conftest import EngineFactory


def _close(engine: Any) -> None:
    engine.store.close()
    engine.events.close()


def test_slot_capacity_comes_from_the_executor(make_engine: EngineFactory) -> None:
    """engine.eval_slots says 1, the executor says 1 and then 4: the engine follows the
    executor, as it follows a Ray cluster whose nodes join mid-run."""
    executor = ElasticExecutor(slots=1, delay=0.02)
    seen: dict[str, int] = {}

    def grow(event: dict[str, Any]) -> None:
        if event["kind"] == "evaluated" and event["seq"] == 5:
            seen["before"] = executor.max_busy
            executor.slots = 4

    engine = make_engine(seed=3, executor=executor, on_event=grow,
                         budget={"max_evaluations": 40},
                         engine={"proposal_slots": 1, "eval_slots": 1})
    asyncio.run(engine.run())
    _close(engine)
    assert executor.started and executor.closed
    assert seen["before"] == 1
    assert executor.max_busy == 4


def test_infra_result_is_recorded_apart(make_engine: EngineFactory, tmp_path: Path) -> None:
    executor = ElasticExecutor(infra_calls={3})
    engine = make_engine(seed=4, executor=executor, budget={"max_evaluations": 12})
    outcome = asyncio.run(engine.run())
    _close(engine)
    assert outcome.finished and outcome.evaluations == 12
    cands = list(engine.store.candidates())
    infra = [c for c in cands if c.status == Status.INFRA]
    assert len(infra) == 1
    lost = infra[0]
    assert not lost.inserted and lost.cell is None and lost.score is None
    assert lost.extra["node"] == "n1" and lost.extra["attempts"] == 4
    assert engine.stats.infra == 1 and engine.stats.evaluations == 12
    assert not any(k.startswith("infra") for k in engine.stats.failures)
    assert program_hash(engine.store.program(lost.id)) not in engine.seen_hashes
    assert lost.id not in engine.programs  # never in an archive
    events = list(read_events(tmp_path / "run" / "events.jsonl"))
    ev = next(e for e in events if e["kind"] == "evaluated" and e["id"] == lost.id)
    assert ev["status"] == "infra" and ev["node"] == "n1" and not ev["inserted"]
    assert events[-2]["kind"] == "progress" and events[-2]["infra"] == 1

    resumed = make_engine(seed=4, resume=True, executor=ElasticExecutor(),
                          budget={"max_evaluations": 12})
    assert resumed.stats.infra == 1 and resumed.stats.evaluations == 12
    assert program_hash(engine.store.program(lost.id)) not in resumed.seen_hashes
    _close(resumed)
    fsck = subprocess.run(["git", "-C", str(tmp_path / "run/lineage.git"), "fsck", "--strict"],
                          capture_output=True, text=True)
    assert fsck.returncode == 0, fsck.stderr


def test_infra_failures_in_a_row_stop_the_run(make_engine: EngineFactory) -> None:
    executor = ElasticExecutor(infra_from=2)
    engine = make_engine(seed=5, executor=executor, budget={"max_evaluations": 50},
                         executor_config={"max_consecutive_infra": 3})
    outcome = asyncio.run(engine.run())
    _close(engine)
    assert not outcome.finished
    assert outcome.reason.startswith("evaluation infrastructure failing: 3 jobs in a row")
    assert "node n1 lost (test)" in outcome.reason
    statuses = [c.status for c in engine.store.candidates()]
    assert statuses == [Status.OK, Status.INFRA, Status.INFRA, Status.INFRA]


def test_seed_the_infrastructure_cannot_score_records_nothing(
    make_engine: EngineFactory,
) -> None:
    engine = make_engine(seed=6, executor=ElasticExecutor(infra_calls={1}))
    with pytest.raises(SeedInfraError, match="the seed program could not be evaluated: node"):
        asyncio.run(engine.run())
    assert list(engine.store.candidates()) == []
    _close(engine)


def test_events_name_the_node(make_engine: EngineFactory, tmp_path: Path) -> None:
    """A local run names node "local" in its events and keeps candidate.json as before; an
    executor of several nodes has each candidate say where it was scored."""
    engine = make_engine("local", seed=7, sandbox=LiteralSandbox(),
                         budget={"max_evaluations": 5})
    asyncio.run(engine.run())
    _close(engine)
    events = list(read_events(tmp_path / "local" / "events.jsonl"))
    evaluated = [e for e in events if e["kind"] == "evaluated"]
    assert {e["node"] for e in evaluated if e["status"] != "rejected"} == {"local"}
    assert {e["node"] for e in evaluated if e["status"] == "rejected"} <= {None}
    assert all("node" not in c.extra for c in engine.store.candidates())
    progress = [e for e in events if e["kind"] == "progress"]
    assert progress and all((e["nodes"], e["slots"]) == (1, 2) for e in progress)

    engine = make_engine("elastic", seed=7, executor=ElasticExecutor(),
                         budget={"max_evaluations": 5})
    asyncio.run(engine.run())
    _close(engine)
    nodes = {c.extra["node"] for c in engine.store.candidates() if c.status != Status.REJECTED}
    assert nodes == {"n0", "n1"}


def test_engine_wants_a_sandbox_or_an_executor(toy_problem: Problem, tmp_path: Path) -> None:
    store = GitLineageStore.create(tmp_path / "lineage.git")
    events = EventLog(tmp_path / "events.jsonl")
    common: dict[str, Any] = dict(operators={"nudge": NudgeOperator()}, mix={"nudge": 1.0},
                                  store=store, events=events)
    with pytest.raises(ValueError, match="not both"):
        Engine(toy_problem, RunConfig(), sandbox=LiteralSandbox(), executor=ElasticExecutor(),
               **common)
    with pytest.raises(ValueError, match="needs a sandbox or an executor"):
        Engine(toy_problem, RunConfig(), **common)
    store.close()
    events.close()


def test_a_seed_that_fails_names_why(make_engine: EngineFactory) -> None:
    """The run cannot start without a scored seed; the error says what the sandbox said."""
    from codeevo.candidate import EvalResult
    from codeevo.engine import SeedError

    class Failing(LiteralSandbox):
        async def evaluate(self, job: Any) -> EvalResult:
            return EvalResult(status=Status.TIMEOUT, stage="full",
                              reason="Traceback ...\nstage full exceeded 60 s")

    engine = make_engine(sandbox=Failing(), budget={"max_evaluations": 3})
    with pytest.raises(SeedError, match=r"\(candidate c000000, commit [0-9a-f]{10}\): timeout "
                       r"at stage full \(stage full exceeded 60 s\); see `codeevo best`"):
        asyncio.run(engine.run())
    _close(engine)


def test_a_learning_operator_never_observes_an_infra_result(make_engine: EngineFactory) -> None:
    """An infrastructure failure says nothing about the proposal: the tuner must not learn
    from it, live or on resume."""
    from codeevo.mutation.base import Outcome

    class Learner(NudgeOperator):
        def __init__(self) -> None:
            super().__init__()
            self.seen: list[str] = []

        def observe(self, outcome: Outcome) -> None:
            self.seen.append(outcome.candidate.status.value)

    live = Learner()
    engine = make_engine(seed=4, executor=ElasticExecutor(infra_calls={3, 6}), operator=live,
                         budget={"max_evaluations": 12})
    asyncio.run(engine.run())
    mine = [c for c in engine.store.candidates() if c.operator == "nudge"]
    _close(engine)
    assert [c.status.value for c in mine].count("infra") == 2
    assert "infra" not in live.seen and len(live.seen) == len(mine) - 2
    replayed = Learner()
    again = make_engine(resume=True, executor=ElasticExecutor(), operator=replayed,
                        budget={"max_evaluations": 12})
    _close(again)
    assert replayed.seen == live.seen
