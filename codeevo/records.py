"""What the engine records for a candidate, built from what it went through: the Candidate
(status, score, tokens, the node that scored it), the sandbox's split of its evaluation time,
the features every program gets, and the proposal with its parents and the novelty judge's
costs folded in. Pure functions: the engine owns the order and the lineage writes."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from codeevo.candidate import Candidate, EvalResult, Status
from codeevo.executor.base import Evaluation
from codeevo.mutation.base import Proposal
from codeevo.mutation.novelty import NoveltyVerdict
from codeevo.mutation.screen import program_hash


def builtin_features(program: str) -> dict[str, float]:
    return {"code_length": float(len(program)), "code_lines": float(program.count("\n") + 1)}


def eval_timings(result: EvalResult) -> dict[str, float]:
    """The sandbox's split of an evaluation: startup / setup / score (seconds, rounded), and
    cpu: CPU-seconds the sandbox's runner and candidate processes used."""
    return {k: round(result.timings[k], 4) for k in ("startup", "setup", "score", "cpu")
            if k in result.timings}


def new_candidate(proposal: Proposal, island: int, result: EvalResult, *, entry: str,
                  executor: str, where: Evaluation | None = None) -> Candidate:
    """The candidate to record (id and seq are assigned when it is recorded)."""
    program = proposal.program or ""
    extra: dict[str, Any] = (
        {"latency": round(proposal.latency, 4), "retries": proposal.retries}
        if proposal.model else {}
    )
    if where is not None and executor != "local":
        # Which cluster node scored it (a local run keeps candidate.json as it was).
        extra["node"] = where.node
        if where.attempts > 1:
            extra["attempts"] = where.attempts
    return Candidate(
        id="",
        seq=-1,
        parents=list(proposal.parents),
        operator=proposal.operator,
        model=proposal.model,
        island=island,
        status=result.status,
        stage=result.stage,
        reason=result.reason,
        score=result.score if result.status == Status.OK else None,
        metrics=result.metrics,
        features=result.features,
        tokens={"input": proposal.tokens_in, "output": proposal.tokens_out},
        cost=proposal.cost,
        program_hash=program_hash(program) if program else "",
        entry=entry,
        extra=extra,
    )


def with_parents(proposal: Proposal, parents: tuple[str, ...]) -> Proposal:
    return replace(proposal, parents=tuple(parents))


def with_judge(proposal: Proposal, verdict: NoveltyVerdict) -> Proposal:
    """The proposal with what novelty screening cost (embedding, judge) and the judge's
    transcript added."""
    if not (verdict.judged or verdict.tokens_in or verdict.cost):
        return proposal
    return replace(proposal, tokens_in=proposal.tokens_in + verdict.tokens_in,
                   tokens_out=proposal.tokens_out + verdict.tokens_out,
                   cost=proposal.cost + verdict.cost,
                   model=proposal.model or verdict.model,
                   exchange={**proposal.exchange, **verdict.exchange})
