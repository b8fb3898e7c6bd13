"""The tuning operator: one child per CMA-ES suggestion, only tunable literals change, it
optimises, and its state is rebuilt exactly from the outcomes it was told (resume)."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from codeevo.candidate import Candidate, Status
from codeevo.config import OperatorConfig, ProblemConfig, StageConfig
from codeevo.mutation.base import LearningOperator, Outcome, ParentView, ProposalRequest
from codeevo.mutation.blocks import edits_confined
from codeevo.mutation.literals import read_literals
from codeevo.mutation.tune import TUNE_FILE, TuneOperator
from codeevo.problem import Problem

REPO = Path(__file__).resolve().parents[2]

PROGRAM = """import math
# EVOLVE-BLOCK-START
X = 1.0
Y = 0.5
STEPS = 3
KEEP = 7.5
LIMIT = 2.0  # tune: fixed
def f(v):
    if v.dim() == 2:
        return v * X
    return v[0] + Y
# EVOLVE-BLOCK-END
"""
TARGET = {"X": 2.5, "Y": 0.05, "STEPS": 6}


def problem(fixed: list[str] | None = None) -> Problem:
    cfg = ProblemConfig(name="toy", stages=[StageConfig(name="main", function="evaluate")],
                        fixed_constants=fixed or ["KEEP"])
    return Problem(REPO, cfg, PROGRAM, "prompt", REPO)


def request(program: str, seq: int = 1, score: float = 0.0,
            fixed: list[str] | None = None) -> ProposalRequest:
    cand = Candidate(id=f"c{seq:06d}", seq=seq, score=score)
    return ProposalRequest(problem=problem(fixed), parent=ParentView(cand, program))


def objective(program: str) -> float:
    """Higher is better; the optimum is TARGET (KEEP and LIMIT must not move)."""
    values = {lit.name: lit.value for lit in read_literals(program).literals}
    return -sum((float(values[k]) - v) ** 2 for k, v in TARGET.items())


def test_is_a_learning_operator() -> None:
    assert isinstance(TuneOperator(), LearningOperator)


def test_children_change_only_tunable_literals() -> None:
    op = TuneOperator()
    rng = random.Random(0)
    parent = read_literals(PROGRAM, ["KEEP"])
    assert [lit.name for lit in parent.literals] == ["X", "Y", "STEPS"]
    for _ in range(20):
        prop = op.propose_sync(request(PROGRAM), rng)
        assert prop.program is not None and prop.operator == "tune"
        assert prop.parents == ("c000001",)
        assert edits_confined(PROGRAM, prop.program) is None
        child = read_literals(prop.program, ["KEEP"])
        assert child.skeleton == parent.skeleton
        assert isinstance(child.values[2], int) and child.values[2] >= 1
        assert "KEEP = 7.5" in prop.program and "LIMIT = 2.0  # tune: fixed" in prop.program
        assert "v.dim() == 2" in prop.program and "v[0]" in prop.program
        record = json.loads(prop.exchange[TUNE_FILE])
        assert record["space"] == parent.skeleton and len(record["x"]) == 3
        assert "tune: CMA-ES generation" in prop.exchange["mutation.txt"]


def test_fixed_constants_come_from_the_problem() -> None:
    prop = TuneOperator().propose_sync(request(PROGRAM, fixed=["X", "Y", "STEPS", "KEEP"]),
                                       random.Random(0))
    assert prop.program is None and "no tunable numeric literal" in (prop.error or "")


def _drive(op: TuneOperator, n: int, seed: int = 0, fail_every: int = 0,
           flat: bool = False) -> list[Outcome]:
    """Propose from the best program so far and tell each result, like the engine does."""
    rng = random.Random(seed)
    best = (objective(PROGRAM), PROGRAM)
    outcomes = []
    for i in range(n):
        prop = op.propose_sync(request(best[1], seq=i + 1, score=best[0]), rng)
        assert prop.program is not None, prop.error
        failed = fail_every and i % fail_every == fail_every - 1
        score = 1.0 if flat else objective(prop.program)
        cand = Candidate(id=f"c{i + 2:06d}", seq=i + 2, operator="tune",
                         status=Status.FAILED if failed else Status.OK,
                         score=None if failed else score)
        outcome = Outcome(cand, prop.program, dict(prop.exchange))
        op.observe(outcome)
        outcomes.append(outcome)
        if not failed and score > best[0]:
            best = (score, prop.program)
    return outcomes


def test_optimiser_finds_the_optimum() -> None:
    op = TuneOperator()
    outcomes = _drive(op, 150)
    scores = [o.candidate.score for o in outcomes if o.candidate.score is not None]
    assert max(scores) > -0.05  # from -(1.5² + 0.45² + 3²) ≈ -11.5
    best = max(outcomes, key=lambda o: o.candidate.score or -1e9)
    values = {lit.name: lit.value for lit in read_literals(best.program, ["KEEP"]).literals}
    assert values["STEPS"] == 6 and abs(float(values["X"]) - 2.5) < 0.2


@pytest.mark.parametrize("flat", [False, True])
def test_state_rebuilt_from_outcomes_equals_live(flat: bool) -> None:
    live = TuneOperator(OperatorConfig(tune_population=6))
    # A flat objective stalls CMA-ES (its function-value history stops moving), so it restarts.
    outcomes = _drive(live, 200 if flat else 120, seed=3, fail_every=0 if flat else 7, flat=flat)
    rebuilt = TuneOperator(OperatorConfig(tune_sigma=1.0))  # settings come from the records
    for outcome in outcomes:
        rebuilt.observe(outcome)
    key = read_literals(PROGRAM, ["KEEP"]).skeleton
    state = live.space_state(key)
    assert state is not None and state["generation"] > 0
    assert rebuilt.space_state(key) == state
    assert state["restart"] == (1 if flat else 0)  # the rebuild restarted at the same tell


def test_rejected_and_foreign_outcomes_are_ignored() -> None:
    op = TuneOperator()
    prop = op.propose_sync(request(PROGRAM), random.Random(0))
    assert prop.program is not None
    key = read_literals(PROGRAM, ["KEEP"]).skeleton
    before = op.space_state(key)
    rejected = Candidate(id="c000002", seq=2, operator="tune", status=Status.REJECTED)
    op.observe(Outcome(rejected, prop.program, dict(prop.exchange)))
    ok = Candidate(id="c000003", seq=3, operator="tune", score=1.0)
    op.observe(Outcome(ok, PROGRAM, {TUNE_FILE: "not json"}))
    op.observe(Outcome(ok, PROGRAM, {}))
    assert op.space_state(key) == before
