"""The operator seam: turn a parent (and maybe a second parent) into a child program."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from codeevo.candidate import Candidate
from codeevo.problem import Problem


@dataclass(frozen=True)
class ParentView:
    """A recorded candidate with its program text, as an operator sees it."""

    candidate: Candidate
    program: str
    artifacts: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ProposalRequest:
    """Everything an operator may use; built by the engine from the population."""

    problem: Problem
    parent: ParentView
    second_parent: ParentView | None = None
    top_programs: tuple[ParentView, ...] = ()
    inspirations: tuple[ParentView, ...] = ()
    island: int = 0
    candidate_id: str = ""
    model: str | None = None  # the model to ask (the bandit's choice); None: the ensemble's
    insights: str = ""  # the run's current insights, for the prompt's $insights section


@dataclass(frozen=True)
class Proposal:
    """An operator's answer. `program` is None when the operator failed (error says why)."""

    program: str | None
    operator: str
    model: str | None = None
    parents: tuple[str, ...] = ()  # candidate ids, primary first (crossover: two)
    error: str | None = None
    stage: str = "propose"  # where a failure happened: propose, llm, parse, apply, repair
    exchange: dict[str, str] = field(default_factory=dict)  # file name → text (prompt, reply)
    tokens_in: int = 0
    tokens_out: int = 0
    cost: float = 0.0
    latency: float = 0.0
    retries: int = 0


@dataclass(frozen=True)
class Outcome:
    """A recorded candidate as an operator that learns from results sees it: the candidate
    (status, score), its program and the exchange files its proposal carried."""

    candidate: Candidate
    program: str
    exchange: dict[str, str] = field(default_factory=dict)


@runtime_checkable
class Operator(Protocol):
    """A mutation operator. The engine always offers a second parent (when the island has one);
    the operator decides whether to use it and names the parents it used in Proposal.parents.
    An operator may set `needs_two_parents = True`: the engine then uses another operator of the
    mix when no second parent exists. An operator that caps its own concurrency (the LLM
    operators: their client holds the request slots) sets `self_limited = True`, and the engine
    then runs propose() without holding one of its proposal slots."""

    name: str

    async def propose(self, request: ProposalRequest, rng: random.Random) -> Proposal: ...


@runtime_checkable
class LearningOperator(Operator, Protocol):
    """An operator that learns from the results of its own proposals (the tuner). The engine
    calls `observe` once for each recorded candidate this operator proposed, in seq order: live
    after the candidate's commit, and on resume replayed from the lineage, so whatever it learns
    is rebuilt from the lineage (keep what it needs in its proposals' exchange files)."""

    def observe(self, outcome: Outcome) -> None: ...
