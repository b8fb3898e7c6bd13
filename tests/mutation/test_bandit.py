"""The (model, operator) bandit: learns from recorded candidates, prefers the cheaper of two
equally good arms, and its state is a function of the candidates (resume rebuilds it)."""

from __future__ import annotations

import random

import pytest

from codeevo.candidate import Candidate, Status
from codeevo.config import BanditConfig
from codeevo.mutation.bandit import OperatorBandit


class World:
    """Simulated proposals: each model improves its parent with some probability, at a cost."""

    def __init__(self, p_improve: dict[str, float], cost: dict[str, float]) -> None:
        self.p = p_improve
        self.cost = cost
        self.best = 0.0
        self.seq = 1
        self.log: list[Candidate] = [Candidate(id="c000000", seq=0, operator="seed", score=0.0)]

    def propose(self, model: str | None, op: str, rng: random.Random) -> Candidate:
        assert model is not None
        good = rng.random() < self.p[model]
        score = self.best + 1.0 if good else self.best - 1.0
        parent = max((c for c in self.log if c.ok), key=lambda c: c.score or 0.0)
        cand = Candidate(id=f"c{self.seq:06d}", seq=self.seq, parents=[parent.id],
                         operator=op, model=model, status=Status.OK, score=score,
                         cost=self.cost[model])
        self.seq += 1
        self.best = max(self.best, score)
        self.log.append(cand)
        return cand


def _run(bandit: OperatorBandit, world: World, n: int, seed: int = 0) -> list[Candidate]:
    rng = random.Random(seed)
    for c in world.log:
        bandit.observe(c)
    out = []
    for _ in range(n):
        model, op = bandit.choose(rng)
        cand = world.propose(model, op, rng)
        bandit.observe(cand)
        out.append(cand)
    return out


@pytest.mark.parametrize("kind", ["thompson", "ucb"])
def test_most_proposals_go_to_the_model_that_improves(kind: str) -> None:
    world = World({"good": 0.9, "bad": 0.0}, {"good": 0.001, "bad": 0.001})
    bandit = OperatorBandit(BanditConfig(kind=kind), ["good", "bad"], ["diff"])
    cands = _run(bandit, world, 100)
    share = sum(c.model == "good" for c in cands) / len(cands)
    assert share >= 0.75, share


def test_of_two_equally_good_models_the_cheaper_wins() -> None:
    world = World({"cheap": 0.8, "dear": 0.8}, {"cheap": 0.0002, "dear": 0.002})
    bandit = OperatorBandit(BanditConfig(), ["cheap", "dear"], ["diff", "rewrite"])
    cands = _run(bandit, world, 100)
    cheap = sum(c.model == "cheap" for c in cands)
    assert cheap >= 75, cheap
    # without cost awareness neither is preferred (over seeds, about half each)
    shares = []
    for seed in range(12):
        world = World({"cheap": 0.8, "dear": 0.8}, {"cheap": 0.0002, "dear": 0.002})
        blind = OperatorBandit(BanditConfig(cost_weight=0), ["cheap", "dear"], ["diff"])
        shares.append(sum(c.model == "cheap" for c in _run(blind, world, 100, seed)) / 100)
    assert 0.3 <= sum(shares) / len(shares) <= 0.7, shares


def test_state_is_rebuilt_from_the_candidates() -> None:
    world = World({"a": 0.5, "b": 0.2}, {"a": 0.001, "b": 0.0005})
    live = OperatorBandit(BanditConfig(report_every=1000), ["a", "b"], ["diff", "crossover"])
    _run(live, world, 60, seed=4)
    again = OperatorBandit(BanditConfig(report_every=1000), ["a", "b"], ["diff", "crossover"])
    for c in world.log:  # what restore() does: the lineage, in seq order
        again.observe(c)
    assert again.report() == live.report()
    rng1, rng2 = random.Random(9), random.Random(9)
    assert [again.choose(rng1) for _ in range(20)] == [live.choose(rng2) for _ in range(20)]


def test_reports_and_exclusions() -> None:
    bandit = OperatorBandit(BanditConfig(report_every=3), ["m"], ["diff", "crossover"])
    rng = random.Random(1)
    assert all(bandit.choose(rng, exclude_operators={"crossover"})[1] == "diff"
               for _ in range(20))
    world = World({"m": 1.0}, {"m": 0.01})
    bandit.observe(world.log[0])
    due = [bandit.observe(world.propose("m", "diff", rng)) for _ in range(3)]
    assert due == [False, False, True]
    report = bandit.report()
    arm = next(a for a in report["arms"] if a["operator"] == "diff")
    assert (arm["pulls"], arm["window"], arm["share"], arm["improved"]) == (3, 3, 1.0, 3)
    assert arm["reward"] == 1.0 and arm["cost"] == 0.01


@pytest.mark.parametrize("kind", ["ucb", "thompson"])
def test_an_operator_without_a_model_is_one_arm_and_learns(kind: str) -> None:
    """The AST mutator and the tuner call no model (their candidates record none): one arm
    each, credited with their candidates. As (model, tune) arms they were never credited, and
    UCB chose the first of them forever."""
    bandit = OperatorBandit(BanditConfig(kind=kind), ["a", "b"], ["diff", "tune"],
                            modelless=("ast", "tune"))
    assert bandit.arms == [("a", "diff"), ("b", "diff"), (None, "tune")]
    rng = random.Random(3)
    chosen = []
    for seq in range(1, 41):
        model, op = bandit.choose(rng)
        chosen.append((model, op))
        bandit.observe(Candidate(id=f"c{seq:06d}", seq=seq, parents=["c000000"], operator=op,
                                 model=model, status=Status.OK, score=0.0))
    assert bandit.stats[(None, "tune")].pulls == chosen.count((None, "tune")) > 0
    assert sum(s.pulls for s in bandit.stats.values()) == 40  # every candidate credited
    assert len(set(chosen)) == 3
