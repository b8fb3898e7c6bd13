"""LLM operators: SEARCH/REPLACE diff, full rewrite of the EVOLVE-BLOCKs, crossover of two
parents. A reply that does not parse or apply goes back to the model with the error for up to
`repair_turns` turns; whatever happens, the Proposal carries the whole transcript
(`exchange`: prompt.md, response.md, repair-1-prompt.md, repair-1-response.md, ...), the
tokens, dollars, latency and retries of every turn, and on failure the error and its stage:
"llm" (the request failed), "parse" (no usable answer, or not valid Python) or "apply" (the
edit does not fit the program).

AllModelsFailedError and ReplayMissError are not caught: they mean the run should stop. Nor is
BudgetReached on a proposal's first request (the engine drops that proposal and finishes).
"""

from __future__ import annotations

import ast
import random
import re
from dataclasses import dataclass, field

from codeevo.budget import BudgetReached
from codeevo.config import RunConfig
from codeevo.llm.base import LLMCallError, LLMClient, Message
from codeevo.mutation import blocks
from codeevo.mutation.base import Operator, Proposal, ProposalRequest
from codeevo.mutation.diff import DiffError, apply_diff, parse_diff
from codeevo.mutation.prompts import build_messages, render_transcript, repair_message

_FENCE = re.compile(r"^```[ \t]*([\w+-]*)[ \t]*\n(.*?)^```[ \t]*$", re.DOTALL | re.MULTILINE)


@dataclass
class _Tally:
    """What the turns of one proposal cost, and what they said."""

    exchange: dict[str, str] = field(default_factory=dict)
    model: str | None = None
    tokens_in: int = 0
    tokens_out: int = 0
    cost: float = 0.0
    latency: float = 0.0
    retries: int = 0

    def proposal(self, operator: str, parents: tuple[str, ...], program: str | None = None,
                 error: str | None = None, stage: str = "propose") -> Proposal:
        return Proposal(program=program, operator=operator, model=self.model, parents=parents,
                        error=error, stage=stage, exchange=dict(self.exchange),
                        tokens_in=self.tokens_in, tokens_out=self.tokens_out,
                        cost=self.cost, latency=self.latency, retries=self.retries)


class LLMOperator:
    """Shared loop: ask, turn the reply into a child, repair on error. Subclasses implement
    `child(request, reply)`, raising DiffError with stage "parse" or "apply"."""

    name = "llm"
    # The client caps requests in flight (its slots); the engine does not hold a proposal
    # slot around propose(), so prompts and diffs are worked on while every slot is busy.
    self_limited = True

    def __init__(self, client: LLMClient, repair_turns: int = 2) -> None:
        self.client = client
        self.repair_turns = repair_turns

    def parents(self, request: ProposalRequest) -> tuple[str, ...]:
        return (request.parent.candidate.id,)

    def child(self, request: ProposalRequest, reply: str) -> str:
        raise NotImplementedError

    async def propose(self, request: ProposalRequest, rng: random.Random) -> Proposal:
        parents = self.parents(request)
        tally = _Tally(model=request.model)
        messages = build_messages(request, self.name)
        tally.exchange["prompt.md"] = render_transcript(messages)
        error, stage = "", "parse"
        for turn in range(self.repair_turns + 1):
            prefix = f"repair-{turn}-" if turn else ""
            try:
                reply = await self.client.complete(messages, rng, model=tally.model)
            except BudgetReached as exc:
                if turn == 0:
                    raise  # nothing spent yet: the engine drops this proposal and finishes
                # Earlier turns were paid for: record the candidate with what it cost.
                tally.exchange[f"{prefix}error.md"] = f"not sent: {exc}\n"
                return tally.proposal(self.name, parents, stage="budget",
                                      error=f"repair turn not sent: {exc}")
            except LLMCallError as exc:
                tally.model = exc.model
                tally.latency += exc.latency
                tally.retries += exc.retries
                tally.exchange[f"{prefix}error.md"] = f"request failed: {exc.reason}\n"
                return tally.proposal(self.name, parents, error=f"LLM request failed: "
                                      f"{exc.reason}", stage="llm")
            tally.model = reply.model
            tally.tokens_in += reply.tokens_in
            tally.tokens_out += reply.tokens_out
            tally.cost += reply.cost
            tally.latency += reply.latency
            tally.retries += reply.retries
            tally.exchange[f"{prefix}response.md"] = reply.text
            try:
                program = self.child(request, reply.text)
                _check(request.parent.program, program)
            except DiffError as exc:
                error, stage = str(exc), exc.stage
            else:
                return tally.proposal(self.name, parents, program=program)
            if turn < self.repair_turns:
                ask = repair_message(self.name, error, request.parent.program,
                                     request.problem.templates)
                tally.exchange[f"repair-{turn + 1}-prompt.md"] = ask["content"] + "\n"
                messages = [*messages, Message(role="assistant", content=reply.text), ask]
        turns = self.repair_turns + 1
        return tally.proposal(self.name, parents, stage=stage,
                              error=f"{error} (after {turns} turn{'s' if turns > 1 else ''})")


class LLMDiffOperator(LLMOperator):
    """Asks for SEARCH/REPLACE blocks and applies them inside the parent's EVOLVE-BLOCKs."""

    name = "diff"

    def child(self, request: ProposalRequest, reply: str) -> str:
        return apply_diff(request.parent.program, parse_diff(reply))


class LLMRewriteOperator(LLMOperator):
    """Asks for new contents of every EVOLVE-BLOCK; the fixed parts come from the parent."""

    name = "rewrite"

    def child(self, request: ProposalRequest, reply: str) -> str:
        return rewrite_blocks(request.parent.program, reply)


class LLMCrossoverOperator(LLMOperator):
    """Shows two parents, asks for new EVOLVE-BLOCK contents of the first; parents = both."""

    name = "crossover"
    needs_two_parents = True  # the engine picks another operator when the island has one elite

    def parents(self, request: ProposalRequest) -> tuple[str, ...]:
        if request.second_parent is None:
            return (request.parent.candidate.id,)
        return (request.parent.candidate.id, request.second_parent.candidate.id)

    async def propose(self, request: ProposalRequest, rng: random.Random) -> Proposal:
        if request.second_parent is None:
            return Proposal(program=None, operator=self.name, parents=self.parents(request),
                            error="crossover needs a second parent (the island has only one "
                            "program)", stage="propose")
        return await super().propose(request, rng)

    def child(self, request: ProposalRequest, reply: str) -> str:
        return rewrite_blocks(request.parent.program, reply)


def rewrite_blocks(parent: str, reply: str) -> str:
    """The parent with its EVOLVE-BLOCKs replaced by the fenced code blocks of `reply`.

    Accepts one fence per EVOLVE-BLOCK, in order, or a single fence holding a whole program
    with markers (its blocks are taken). Raises DiffError(stage="parse")."""
    n = len(blocks.split(parent).blocks)
    fences = [body for lang, body in _FENCE.findall(reply)
              if lang.lower() in ("", "python", "py", "python3")]
    if not fences:
        raise DiffError("no ```python fenced code block found: answer with the new content "
                        f"of each of the {n} EVOLVE-BLOCK(s) in its own fence", "parse")
    marked = [f for f in fences if blocks.START in f]
    if len(marked) == 1:
        try:
            return blocks.replace_blocks(parent, list(blocks.split(marked[0]).blocks))
        except blocks.BlockError as exc:
            raise DiffError(f"the code you sent has EVOLVE-BLOCK markers that do not match "
                            f"the program's {n} block(s): {exc}", "parse") from exc
    if len(fences) != n:
        raise DiffError(f"expected {n} fenced code block(s), one per EVOLVE-BLOCK, found "
                        f"{len(fences)}", "parse")
    return blocks.replace_blocks(parent, fences)


def _check(parent: str, child: str) -> None:
    """The child must parse, differ from the parent and keep the fixed parts intact."""
    try:
        ast.parse(child)
    except SyntaxError as exc:
        line = (exc.text or "").strip()
        raise DiffError(f"the resulting program is not valid Python: line {exc.lineno}: "
                        f"{exc.msg}" + (f" ({line!r})" if line else ""), "parse") from exc
    why = blocks.edits_confined(parent, child)
    if why is not None:
        raise DiffError(f"the result changes code outside the EVOLVE-BLOCKs: {why}", "apply")
    if child == parent:
        raise DiffError("the change leaves the program exactly as it was; make a real change",
                        "apply")


def make_llm_operators(run_config: RunConfig, client: LLMClient) -> dict[str, Operator]:
    """The three LLM operators sharing `client`, with the run's repair-turn setting."""
    turns = run_config.operators.repair_turns
    return {
        "diff": LLMDiffOperator(client, turns),
        "rewrite": LLMRewriteOperator(client, turns),
        "crossover": LLMCrossoverOperator(client, turns),
    }
