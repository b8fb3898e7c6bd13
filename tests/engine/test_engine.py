from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path

from codeevo.candidate import Status
from codeevo.events import read_events
from codeevo.mutation.base import Proposal, ProposalRequest
from tests.doubles import LiteralSandbox, NudgeOperator, toy_score
from tests.engine.conftest import EngineFactory


def _close(engine) -> None:  # type: ignore[no-untyped-def]
    engine.store.close()
    engine.events.close()


def test_runs_to_evaluation_budget_and_improves(make_engine: EngineFactory, tmp_path: Path) -> None:
    engine = make_engine(seed=1, budget={"max_evaluations": 40},
                         population={"num_islands": 2, "migration_interval": 10})
    outcome = asyncio.run(engine.run())
    _close(engine)
    assert outcome.finished and "evaluation budget" in outcome.reason
    assert outcome.evaluations == 40
    seed_score = toy_score((tmp_path / "problems/toy/initial.py").read_text())
    assert outcome.best is not None and outcome.best.score is not None
    assert outcome.best.score > seed_score
    events = list(read_events(tmp_path / "run" / "events.jsonl"))
    kinds = [e["kind"] for e in events]
    assert kinds[0] == "started" and kinds[-1] == "stopped"
    assert "migrated" in kinds
    evaluated = [e for e in events if e["kind"] == "evaluated"]
    assert len(evaluated) == engine.seq
    fsck = subprocess.run(["git", "-C", str(tmp_path / "run/lineage.git"), "fsck", "--strict"],
                          capture_output=True, text=True)
    assert fsck.returncode == 0, fsck.stderr


def test_slots_bound_concurrency_without_barrier(make_engine: EngineFactory) -> None:
    sandbox = LiteralSandbox(delay=0.05)
    engine = make_engine(seed=2, sandbox=sandbox, operator=NudgeOperator(delay=0.01),
                         budget={"max_evaluations": 30},
                         engine={"proposal_slots": 4, "eval_slots": 3})
    asyncio.run(engine.run())
    _close(engine)
    assert sandbox.max_in_flight == 3  # eval slots are used, never exceeded


def test_same_seed_one_slot_same_lineage(make_engine: EngineFactory, tmp_path: Path) -> None:
    """Everything but wall-clock timings is identical, commit for commit."""
    runs = []
    for run in ("a", "b"):
        engine = make_engine(run, seed=5, budget={"max_evaluations": 25},
                             engine={"proposal_slots": 1, "eval_slots": 1, "max_in_flight": 1})
        asyncio.run(engine.run())
        runs.append([
            (c.model_dump(exclude={"timings"}), engine.store.program(c.id),
             engine.store.files(c.id))
            for c in engine.store.candidates()
        ])
        _close(engine)
    assert runs[0] == runs[1] and len(runs[0]) >= 25
    assert len({prog for _, prog, _ in runs[0]}) > 10


def test_resume_continues_from_lineage(make_engine: EngineFactory) -> None:
    cfg = dict(seed=3, budget={"max_evaluations": 15}, population={"num_islands": 2})
    first = make_engine("r", **cfg)
    asyncio.run(first.run())
    before = [c.id for c in first.store.candidates()]
    snap = first.islands.snapshot()
    _close(first)
    cfg["budget"] = {"max_evaluations": 30}
    second = make_engine("r", resume=True, **cfg)
    assert second.islands.snapshot() == snap  # archives rebuilt exactly from the lineage
    outcome = asyncio.run(second.run())
    after = [c.id for c in second.store.candidates()]
    _close(second)
    assert after[: len(before)] == before
    assert outcome.evaluations == 30
    assert len(after) == len(set(after))


def test_stop_cancels_in_flight_and_keeps_records(make_engine: EngineFactory) -> None:
    sandbox = LiteralSandbox(delay=0.2)

    async def main() -> None:
        engine = make_engine(seed=4, sandbox=sandbox, budget={"max_evaluations": 1000})
        task = asyncio.create_task(engine.run())
        await asyncio.sleep(1.0)
        engine.stop("test stop")
        outcome = await task
        assert not outcome.finished and outcome.reason == "test stop"
        n = len(list(engine.store.candidates()))
        assert 2 <= n < 1000
        assert sandbox.in_flight == 0 and sandbox.closed
        _close(engine)

    asyncio.run(main())


def test_pause_holds_new_work(make_engine: EngineFactory) -> None:
    async def main() -> None:
        engine = make_engine(seed=6, sandbox=LiteralSandbox(delay=0.02),
                             budget={"max_evaluations": 60})
        task = asyncio.create_task(engine.run())
        await asyncio.sleep(0.3)
        engine.pause()
        while engine.in_flight:  # in-flight work drains (however slow the machine)
            await asyncio.sleep(0.01)
        n1 = engine.seq
        await asyncio.sleep(0.4)
        assert engine.seq == n1 and engine.paused
        engine.resume()
        outcome = await task
        assert outcome.finished and engine.seq > n1
        _close(engine)

    asyncio.run(main())


class CostlyOperator(NudgeOperator):
    async def propose(self, request: ProposalRequest, rng):  # type: ignore[no-untyped-def]
        p = await super().propose(request, rng)
        return Proposal(program=p.program, operator="nudge", parents=p.parents, model="m/x",
                        tokens_in=100, tokens_out=50, cost=0.01)


def test_cost_and_token_budgets_stop_cleanly(make_engine: EngineFactory) -> None:
    engine = make_engine("c", seed=7, operator=CostlyOperator(),
                         budget={"max_evaluations": 1000, "max_cost": 0.1})
    outcome = asyncio.run(engine.run())
    _close(engine)
    assert outcome.finished and "cost budget" in outcome.reason
    assert 0.1 <= engine.stats.cost < 0.1 + 0.01 * 8
    assert engine.stats.by_model["m/x"].calls >= 10
    engine = make_engine("t", seed=7, operator=CostlyOperator(),
                         budget={"max_evaluations": 1000, "max_tokens": 1500})
    outcome = asyncio.run(engine.run())
    _close(engine)
    assert "token budget" in outcome.reason and engine.stats.tokens >= 1500


def test_wall_time_budget(make_engine: EngineFactory) -> None:
    engine = make_engine("w", seed=8, sandbox=LiteralSandbox(delay=0.05),
                         budget={"max_evaluations": None, "max_wall_seconds": 0.6})
    outcome = asyncio.run(engine.run())
    _close(engine)
    assert outcome.finished and "wall-time" in outcome.reason


class BrokenOperator(NudgeOperator):
    async def propose(self, request: ProposalRequest, rng):  # type: ignore[no-untyped-def]
        return Proposal(program="X = (\n", operator="nudge", parents=(request.parent.candidate.id,))


def test_rejections_recorded_with_stage(make_engine: EngineFactory) -> None:
    engine = make_engine("x", seed=9, operator=BrokenOperator(), budget={"max_evaluations": 5})
    outcome = asyncio.run(engine.run())
    cands = list(engine.store.candidates())
    _close(engine)
    assert "stalled" in outcome.reason
    rejected = [c for c in cands if c.status == Status.REJECTED]
    assert rejected and all(c.stage == "parse" for c in rejected)
    assert engine.stats.evaluations == 1  # only the seed reached the sandbox
