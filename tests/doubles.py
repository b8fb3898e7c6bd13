"""Small test doubles for the engine's seams (a real implementation exists for each)."""

from __future__ import annotations

import ast
import asyncio
import random

from codeevo.candidate import EvalResult, Status
from codeevo.mutation.base import Proposal, ProposalRequest
from codeevo.sandbox.base import SandboxJob

TOY_SEED = """# a toy program: score = X * Y - (X - 3) ** 2
# EVOLVE-BLOCK-START
X = 1.0
Y = 2.0
# EVOLVE-BLOCK-END
"""


def toy_score(program: str) -> float | None:
    """Score the toy program by reading its literals (no candidate code is executed)."""
    values: dict[str, float] = {}
    for node in ast.parse(program).body:
        if (isinstance(node, ast.Assign) and len(node.targets) == 1
                and isinstance(node.targets[0], ast.Name)):
            try:
                values[node.targets[0].id] = float(ast.literal_eval(node.value))
            except (ValueError, TypeError):
                return None
    if "X" not in values or "Y" not in values:
        return None
    x, y = values["X"], values["Y"]
    return min(x, 5.0) * min(y, 5.0) - (x - 3.0) ** 2


class LiteralSandbox:
    """Scores toy programs by their literals, with an optional delay; counts calls."""

    name = "literal"

    def __init__(self, delay: float = 0.0) -> None:
        self.delay = delay
        self.calls = 0
        self.in_flight = 0
        self.max_in_flight = 0
        self.closed = False

    async def evaluate(self, job: SandboxJob) -> EvalResult:
        self.calls += 1
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            if self.delay:
                await asyncio.sleep(self.delay)
            score = toy_score(job.program)
        finally:
            self.in_flight -= 1
        if score is None:
            return EvalResult(status=Status.FAILED, stage="full", reason="no X/Y literal")
        return EvalResult(status=Status.OK, score=score, stage="full",
                          features={"x": 0.0}, metrics={"score": score})

    async def close(self) -> None:
        self.closed = True


class NudgeOperator:
    """Changes X or Y by a random step; with a second parent, crosses Y over."""

    name = "nudge"
    needs_two_parents = False
    self_limited = False

    def __init__(self, delay: float = 0.0) -> None:
        self.delay = delay

    async def propose(self, request: ProposalRequest, rng: random.Random) -> Proposal:
        if self.delay:
            await asyncio.sleep(self.delay)
        prog = request.parent.program
        lines = prog.splitlines(keepends=True)
        out = []
        var = rng.choice(["X", "Y"])
        for line in lines:
            if line.startswith(f"{var} = "):
                val = float(line.split("=")[1]) + rng.choice([-0.5, -0.25, 0.25, 0.5])
                line = f"{var} = {round(val, 4)}\n"
            out.append(line)
        parents: tuple[str, ...] = (request.parent.candidate.id,)
        if request.second_parent is not None and rng.random() < 0.3:
            ys = [ln for ln in request.second_parent.program.splitlines(keepends=True)
                  if ln.startswith("Y = ")]
            out = [ys[0] if ln.startswith("Y = ") and ys else ln for ln in out]
            parents = (request.parent.candidate.id, request.second_parent.candidate.id)
        return Proposal(program="".join(out), operator="nudge", parents=parents,
                        exchange={"note.txt": f"nudged {var}"})
