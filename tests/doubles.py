"""Small test doubles for the engine's seams (a real implementation exists for each)."""

from __future__ import annotations

import ast
import asyncio
import random
from typing import Any

from codeevo.candidate import EvalResult, Status
from codeevo.executor.base import Evaluation, SlotUsage, infra_result
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


class ElasticExecutor:
    """The executor seam's double: LiteralSandbox scores, slots a test may change mid-run
    (as a cluster's do when nodes join), and infrastructure failures on chosen calls."""

    name = "elastic"
    sandbox_name = "literal"

    def __init__(self, slots: int = 1, delay: float = 0.0,
                 infra_calls: set[int] | None = None, infra_from: int | None = None) -> None:
        self.sandbox = LiteralSandbox(delay=delay)
        self.slots = slots
        self.busy = 0
        self.max_busy = 0
        self.calls = 0
        self.infra_calls = infra_calls or set()
        self.infra_from = infra_from
        self.on_event: Any = None
        self.started = False
        self.closed = False

    async def start(self) -> None:
        self.started = True

    def usage(self) -> SlotUsage:
        return SlotUsage(nodes=1, slots=self.slots, busy=self.busy)

    async def evaluate(self, job: SandboxJob) -> Evaluation:
        self.calls += 1
        call = self.calls
        while self.busy >= self.slots:
            await asyncio.sleep(0.001)
        self.busy += 1
        self.max_busy = max(self.max_busy, self.busy)
        try:
            if call in self.infra_calls or (self.infra_from is not None
                                            and call >= self.infra_from):
                return Evaluation(infra_result("node n1 lost (test)"), "n1", attempts=4)
            return Evaluation(await self.sandbox.evaluate(job), f"n{call % 2}")
        finally:
            self.busy -= 1

    async def close(self) -> None:
        self.closed = True
