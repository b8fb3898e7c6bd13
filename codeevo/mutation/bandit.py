"""A cost-aware bandit over (model, operator) arms: it replaces the fixed weights of the
ensemble and the operator mix when `bandit.enabled` (docs/llm.md).

Reward of one proposal, credited to the (model, operator) that produced it: 0 unless the child
beats its primary parent; an improvement earns 0.5 plus up to 0.5 more for its size relative to
the run's mean improvement so far. Each arm's value is scaled by its cost: (c_min / c_arm) **
`cost_weight`, c being the arm's mean dollars per proposal (so with weight 1 the bandit
maximises improvement per dollar; two equally good models: the cheaper wins). Choice:
Thompson sampling on Beta posteriors (default) or UCB1. The state is a pure function of the
recorded candidates in order, so a resumed run rebuilds it exactly from the lineage.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from codeevo.candidate import Candidate
from codeevo.config import BanditConfig

Arm = tuple[str | None, str]  # (model, operator); model None for the offline operator
FOUNDERS = ("seed", "baseline")


@dataclass
class ArmStats:
    pulls: int = 0
    reward: float = 0.0
    cost: float = 0.0
    window: int = 0  # pulls since the last report
    improved: int = 0


class OperatorBandit:
    """Chooses the (model, operator) of each proposal; learns from recorded candidates."""

    def __init__(self, config: BanditConfig, models: Iterable[str | None],
                 operators: Iterable[str], modelless: Iterable[str] = ()) -> None:
        """One arm per (model, operator); an operator in `modelless` (the AST mutator, the
        tuner: they call no model, and record no model) gets one arm, (None, operator)."""
        self.config = config
        alone = set(modelless)
        ops = list(operators)
        self.arms: list[Arm] = [(m, o) for m in models for o in ops if o not in alone]
        self.arms += [(None, o) for o in ops if o in alone]
        if not self.arms:
            raise ValueError("the bandit needs at least one model and one operator")
        self.stats: dict[Arm, ArmStats] = {arm: ArmStats() for arm in self.arms}
        self.scores: dict[str, float | None] = {}
        self.proposals = 0
        self._window = 0
        self._gains = 0.0
        self._gain_n = 0

    # -- choosing
    def choose(self, rng: random.Random, exclude_operators: Iterable[str] = ()) -> Arm:
        """An arm (always draws the same numbers from `rng` for the same state)."""
        banned = set(exclude_operators)
        arms = [a for a in self.arms if a[1] not in banned] or list(self.arms)
        factor = self._cost_factors(arms)
        if self.config.kind == "ucb":
            fresh = [a for a in arms if self.stats[a].pulls == 0]
            if fresh:
                return fresh[0]
            total = sum(self.stats[a].pulls for a in arms)
            def index(a: Arm) -> float:
                s = self.stats[a]
                bonus = self.config.exploration * math.sqrt(2 * math.log(total) / s.pulls)
                return s.reward / s.pulls * factor[a] + bonus
            return max(arms, key=index)
        draws = {}
        for a in arms:  # one draw per arm, in a fixed order
            s = self.stats[a]
            draws[a] = rng.betavariate(1.0 + s.reward, 1.0 + s.pulls - s.reward) * factor[a]
        return max(arms, key=lambda a: draws[a])

    def _cost_factors(self, arms: list[Arm]) -> dict[Arm, float]:
        w = self.config.cost_weight
        pulls = sum(self.stats[a].pulls for a in self.arms)
        spent = sum(self.stats[a].cost for a in self.arms)
        prior = spent / pulls if pulls else 0.0  # an untried arm is assumed average
        means = {a: (self.stats[a].cost + prior) / (self.stats[a].pulls + 1) for a in arms}
        top = max(means.values())
        if w == 0 or top <= 0:
            return {a: 1.0 for a in arms}
        floor = 0.05 * top  # a free arm is at most ~20x as attractive as the dearest
        low = min(means.values()) + floor
        return {a: (low / (means[a] + floor)) ** w for a in arms}

    # -- learning
    def observe(self, cand: Candidate) -> bool:
        """Credit a recorded candidate to its arm; True when a report is due."""
        self.scores[cand.id] = cand.score if cand.ok else None
        if cand.operator in FOUNDERS:
            return False
        arm = (cand.model, cand.operator)
        stats = self.stats.get(arm)
        if stats is None:
            return False  # an arm we do not steer (a model no longer configured, ...)
        parent = self.scores.get(cand.parents[0]) if cand.parents else None
        reward = 0.0
        if cand.ok and parent is not None and cand.score is not None and cand.score > parent:
            gain = cand.score - parent
            self._gains += gain
            self._gain_n += 1
            mean = self._gains / self._gain_n
            reward = 0.5 + 0.5 * min(1.0, gain / mean if mean > 0 else 1.0)
            stats.improved += 1
        stats.pulls += 1
        stats.reward += reward
        stats.cost += cand.cost
        stats.window += 1
        self.proposals += 1
        self._window += 1
        return self._window >= self.config.report_every

    def report(self) -> dict[str, Any]:
        """A `bandit` event's fields (the window restarts)."""
        window = max(self._window, 1)
        arms = []
        for (model, op), s in self.stats.items():
            arms.append({"model": model, "operator": op, "pulls": s.pulls,
                         "window": s.window, "share": round(s.window / window, 4),
                         "improved": s.improved,
                         "reward": round(s.reward / s.pulls, 4) if s.pulls else None,
                         "cost": round(s.cost / s.pulls, 8) if s.pulls else None})
            s.window = 0
        self._window = 0
        lead = max(arms, key=lambda a: (a["window"], a["pulls"]))
        top = f"{lead['model'] or 'offline'}·{lead['operator']} {lead['share']:.0%}"
        return {"top": top, "proposals": self.proposals, "policy": self.config.kind,
                "arms": arms}
