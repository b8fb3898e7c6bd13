"""Pause tells the truth (how many candidates are still in flight, and when the last one is in),
and resume rebuilds the run through the lineage read model, on either store."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from codeevo.config import RunConfig
from codeevo.engine import Engine
from codeevo.events import EventLog
from codeevo.lineage.index import LineageIndex
from codeevo.lineage.memory import MemoryLineageStore
from codeevo.problem import Problem
from tests.doubles import LiteralSandbox, NudgeOperator
from tests.engine.conftest import EngineFactory


def test_paused_counts_the_in_flight_and_drained_follows_the_last(
    make_engine: EngineFactory,
) -> None:
    events: list[dict[str, Any]] = []

    async def main() -> None:
        drained = asyncio.Event()

        def seen(event: dict[str, Any]) -> None:
            events.append(event)
            if event["kind"] == "drained":
                drained.set()

        engine = make_engine(seed=6, sandbox=LiteralSandbox(delay=0.05), on_event=seen,
                             budget={"max_evaluations": 400},
                             engine={"proposal_slots": 3, "eval_slots": 3})
        task = asyncio.create_task(engine.run())
        while engine.in_flight < 2:  # several candidates on their way
            await asyncio.sleep(0.005)
        engine.pause()
        await drained.wait()
        assert engine.in_flight == 0
        seq = engine.seq
        for _ in range(20):  # the loop keeps turning; nothing new starts
            await asyncio.sleep(0.01)
        assert engine.seq == seq
        engine.resume()
        engine.stop("test over")
        await task

    asyncio.run(main())
    kinds = [e["kind"] for e in events]
    paused = kinds.index("paused")
    drained = kinds.index("drained")
    in_flight = events[paused]["in_flight"]
    recorded = [e for e in events[paused:drained] if e["kind"] == "evaluated"]
    assert in_flight >= 2 and len(recorded) == in_flight
    assert kinds.count("drained") == 1


def test_pausing_with_nothing_in_flight_says_zero(make_engine: EngineFactory) -> None:
    events: list[dict[str, Any]] = []
    engine = make_engine(seed=1, on_event=events.append, budget={"max_evaluations": 5})
    engine.pause()
    assert events[-1]["kind"] == "paused" and events[-1]["in_flight"] == 0


def test_resume_on_the_memory_store_goes_through_the_read_model(
    tmp_path: Path, toy_problem: Problem
) -> None:
    store = MemoryLineageStore()

    def engine(budget: int) -> Engine:
        config = RunConfig.model_validate({"seed": 2, "budget": {"max_evaluations": budget}})
        return Engine(toy_problem, config, sandbox=LiteralSandbox(),
                      operators={"nudge": NudgeOperator()}, mix={"nudge": 1.0}, store=store,
                      events=EventLog(tmp_path / "events.jsonl"))

    first = engine(12)
    asyncio.run(first.run())
    snap = first.islands.snapshot()
    index = LineageIndex.from_store(store)
    second = engine(20)
    assert second.restore() == len(index)
    assert second.seq == index.next_seq
    assert second.seen_hashes == index.program_hashes
    assert second.islands.snapshot() == snap
    assert second.stats.evaluations == index.evaluations
    outcome = asyncio.run(second.run())
    assert outcome.evaluations == 20
    assert [r["seq"] for r, _ in store.records()] == list(range(len(store.records())))


class _PairOnly(NudgeOperator):
    """Declares (through the Operator protocol) that it needs two parents."""

    name = "pair"
    needs_two_parents = True

    async def propose(self, request, rng):  # type: ignore[no-untyped-def]
        assert request.second_parent is not None, "offered without a second parent"
        return await super().propose(request, rng)


def test_the_engine_reads_needs_two_parents_from_the_protocol(
    tmp_path: Path, toy_problem: Problem
) -> None:
    from codeevo.mutation.base import Operator

    pair, single = _PairOnly(), NudgeOperator()
    assert isinstance(pair, Operator) and pair.needs_two_parents and not pair.self_limited
    config = RunConfig.model_validate({"seed": 5, "budget": {"max_evaluations": 30}})
    engine = Engine(toy_problem, config, sandbox=LiteralSandbox(),
                    operators={"pair": pair, "nudge": single}, mix={"pair": 0.9, "nudge": 0.1},
                    store=MemoryLineageStore(), events=EventLog(tmp_path / "events.jsonl"))
    outcome = asyncio.run(engine.run())
    assert outcome.finished  # the pair operator never ran while an island had one elite
    ops = [r["operator"] for r, _ in engine.store.records()]
    assert "nudge" in ops
