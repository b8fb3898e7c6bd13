"""The tuner inside the real engine and git lineage: it improves the toy objective, and a
resumed run rebuilds its CMA-ES state from the lineage exactly."""

from __future__ import annotations

import asyncio

from codeevo.mutation.literals import read_literals
from codeevo.mutation.tune import TuneOperator
from tests.doubles import TOY_SEED, toy_score
from tests.engine.conftest import EngineFactory


def test_resume_rebuilds_the_tuner_from_the_lineage(make_engine: EngineFactory) -> None:
    # One candidate in flight: the run is reproducible commit for commit.
    cfg = dict(seed=7, budget={"max_evaluations": 40}, population={"num_islands": 1},
               engine={"max_in_flight": 1})
    live = TuneOperator()
    first = make_engine("t", operator=live, **cfg)
    asyncio.run(first.run())
    key = read_literals(TOY_SEED).skeleton
    state = live.space_state(key)
    files = [first.store.files(c.id) for c in first.store.candidates() if c.operator == "tune"]
    first.store.close()
    first.events.close()
    assert state is not None and state["generation"] >= 2
    assert all("exchange/tune.json" in f for f in files) and len(files) >= 35

    rebuilt = TuneOperator()
    cfg["budget"] = {"max_evaluations": 80}
    second = make_engine("t", resume=True, operator=rebuilt, **cfg)
    assert rebuilt.space_state(key) == state  # replayed from the commits, in seq order
    outcome = asyncio.run(second.run())
    second.store.close()
    second.events.close()
    assert outcome.evaluations == 80
    assert outcome.best is not None and outcome.best.score is not None
    assert outcome.best.score > toy_score(TOY_SEED) + 10  # 2.0 -> near the optimum 21
