"""The offline AST operator: how often its children are usable, and how fast it proposes.

    PYTHONPATH=. python benchmarks/ast_operator.py [--n 500] [--evaluate 60] [--seed 0]

For each problem's seed program (circle packing, and merge when present) the operator proposes
`--n` children (with the seed as second parent too, so crossover is offered at the configured
rate, though it changes nothing between identical parents). Printed per problem:

- proposed: the operator returned a program (not an error);
- parses: the child passes the `parse` screen (ast.parse + compile);
- screened: it passes all of screening (parse, edits confined to blocks, not a duplicate of the
  seed or of an earlier child);
- ms/proposal: wall time per `propose` call (the screen not included).

With `--evaluate K` (circle packing only, it is cheap to score), K screened children are also
scored in the local sandbox (candidate code runs there, never in this process) and the share
that is a valid packing, and the share that beats the seed, are printed.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from codeevo.candidate import Candidate, Status  # noqa: E402
from codeevo.config import OperatorConfig, RunConfig  # noqa: E402
from codeevo.evaluate import evaluate_program  # noqa: E402
from codeevo.mutation.ast_ops import AstMutationOperator  # noqa: E402
from codeevo.mutation.base import ParentView, ProposalRequest  # noqa: E402
from codeevo.mutation.screen import program_hash, screen  # noqa: E402
from codeevo.problem import Problem, load_problem  # noqa: E402

PROBLEMS = ("circle_packing", "merge")


def propose_children(problem: Problem, n: int, seed: int) -> tuple[dict[str, int], float,
                                                                     list[str]]:
    """(counts, seconds spent proposing, screened children)."""
    op = AstMutationOperator(OperatorConfig())
    rng = random.Random(seed)
    parent = ParentView(Candidate(id="c000000", seq=0, score=1.0), problem.seed_program)
    second = ParentView(Candidate(id="c000001", seq=1, score=1.0), problem.seed_program)
    request = ProposalRequest(problem=problem, parent=parent, second_parent=second)
    seen = {program_hash(problem.seed_program)}
    counts = {"proposed": 0, "parses": 0, "screened": 0}
    children: list[str] = []
    spent = 0.0
    for _ in range(n):
        t0 = time.perf_counter()
        proposal = op.propose_sync(request, rng)
        spent += time.perf_counter() - t0
        if proposal.program is None:
            continue
        counts["proposed"] += 1
        verdict = screen(problem.seed_program, proposal.program, seen)
        if verdict.stage != "parse":
            counts["parses"] += 1
        if verdict.ok:
            counts["screened"] += 1
            seen.add(verdict.program_hash)
            children.append(proposal.program)
    return counts, spent, children


async def score_children(problem: Problem, programs: list[str]) -> list[tuple[str, float | None]]:
    """(status, score) of each program, scored in the local sandbox two at a time."""
    config = RunConfig.model_validate({"sandbox": {"kind": "local"}})
    slots = asyncio.Semaphore(2)

    async def one(program: str) -> tuple[str, float | None]:
        async with slots:
            result = await evaluate_program(problem, program, config)
        full = result.status == Status.OK and result.stage == problem.config.stages[-1].name
        return ("valid" if full else result.status.value), result.score if full else None

    return await asyncio.gather(*(one(p) for p in programs))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=500, help="proposals per problem")
    ap.add_argument("--evaluate", type=int, default=60,
                    help="screened circle-packing children to score in the local sandbox")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    print(f"AST operator, {args.n} proposals from each seed program (seed {args.seed})")
    print(f"  {'problem':<16} {'proposed':>9} {'parses':>9} {'screened':>9} {'ms/proposal':>12}")
    for name in PROBLEMS:
        root = ROOT / "problems" / name
        if not (root / "problem.yaml").is_file():
            print(f"  {name:<16} (not present)")
            continue
        problem = load_problem(root)
        counts, spent, children = propose_children(problem, args.n, args.seed)
        share = {k: f"{100 * v / args.n:.1f}%" for k, v in counts.items()}
        print(f"  {name:<16} {share['proposed']:>9} {share['parses']:>9} "
              f"{share['screened']:>9} {1000 * spent / args.n:>12.2f}")
        if name != "circle_packing" or args.evaluate <= 0:
            continue
        seed_result = asyncio.run(score_children(problem, [problem.seed_program]))[0]
        sample = random.Random(args.seed).sample(children, min(args.evaluate, len(children)))
        t0 = time.perf_counter()
        results = asyncio.run(score_children(problem, sample))
        took = time.perf_counter() - t0
        valid = [s for status, s in results if status == "valid" and s is not None]
        better = [s for s in valid if seed_result[1] is not None and s > seed_result[1]]
        statuses: dict[str, int] = {}
        for status, _ in results:
            statuses[status] = statuses.get(status, 0) + 1
        print(f"    scored {len(sample)} screened children in the local sandbox ({took:.0f} s): "
              f"{100 * len(valid) / len(sample):.0f}% valid packings, "
              f"{100 * len(better) / len(sample):.0f}% beat the seed ({seed_result[1]:.4f}); "
              f"best {max(valid, default=float('nan')):.4f}; by status {statuses}")


if __name__ == "__main__":
    main()
