"""Engine overhead: what the framework costs per candidate when proposing and evaluating are free.

    PYTHONPATH=. python benchmarks/engine_overhead.py [--n 2000] [--islands 4] [--no-profile]
        [--dir /dev/shm]

An instant operator (rewrites one float literal of a ~1.6 KB program) and an instant evaluator
(reads the literals with a regex; no candidate code runs in this process) drive the
real `Engine` with the real `GitLineageStore` and `EventLog` in a temporary run directory.
Everything the engine does around them is its overhead: parent selection, screening, the
lineage commit, archive insertion and migration, and events.

Printed: candidates, total seconds, ms per candidate (wall and CPU; the doubles' own time is
measured and taken out), lineage commits per second (commits / seconds inside `store.record`),
a wall-clock breakdown by phase (each engine entry point wrapped with a timer), and a cProfile
run's top functions. On a loaded machine trust the CPU column more than the wall clock.
Targets (issue 2): < 20 ms per candidate, >= 500 lineage commits/s.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import pstats
import random
import re
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import codeevo.engine as engine_mod  # noqa: E402
from codeevo.candidate import EvalResult, Status  # noqa: E402
from codeevo.config import RunConfig  # noqa: E402
from codeevo.engine import Engine  # noqa: E402
from codeevo.events import EventLog  # noqa: E402
from codeevo.lineage.store import GitLineageStore  # noqa: E402
from codeevo.mutation.base import Proposal, ProposalRequest  # noqa: E402
from codeevo.problem import Problem, load_problem  # noqa: E402
from codeevo.sandbox.base import SandboxJob  # noqa: E402

TARGET_MS = 20.0
TARGET_COMMITS = 500.0
DOUBLES_OP = "(double) propose"
DOUBLES_EVAL = "(double) evaluate"
_PARAMS = 40
_FLOAT = re.compile(r"^(P\d+) = (-?\d+\.\d+)$", re.M)


def seed_program() -> str:
    """A program of realistic size (~1.6 KB): 40 parameters and a function using them."""
    params = "".join(f"P{i} = {0.5:.6f}\n" for i in range(_PARAMS))
    body = "".join(f"    total += P{i} * {i + 1}\n" for i in range(_PARAMS))
    return (
        '"""Benchmark program: the score reads the literals P0..P39 (never executed)."""\n\n'
        f"# EVOLVE-BLOCK-START\n{params}\n\ndef combine():\n    total = 0.0\n{body}"
        "    return total\n# EVOLVE-BLOCK-END\n"
    )


def literal_score(program: str) -> float | None:
    """-sum((P_i - target_i)^2), read from the literals by a regex (never executed)."""
    values = {name: float(text) for name, text in _FLOAT.findall(program)}
    if len(values) < _PARAMS:
        return None
    return -sum((values[f"P{i}"] - i / _PARAMS) ** 2 for i in range(_PARAMS))


class InstantOperator:
    """Moves one parameter by a small random step; with a second parent, takes one from it."""

    name = "instant"
    needs_two_parents = False
    self_limited = False

    async def propose(self, request: ProposalRequest, rng: random.Random) -> Proposal:
        program = request.parent.program
        pick = rng.randrange(_PARAMS)

        def step(m: re.Match[str]) -> str:
            if m.group(1) != f"P{pick}":
                return m.group(0)
            return f"{m.group(1)} = {float(m.group(2)) + rng.gauss(0.0, 0.05):.6f}"

        child = _FLOAT.sub(step, program)
        parents: tuple[str, ...] = (request.parent.candidate.id,)
        if request.second_parent is not None and rng.random() < 0.1:
            donor = dict(_FLOAT.findall(request.second_parent.program))
            other = f"P{rng.randrange(_PARAMS)}"
            child = re.sub(rf"^{other} = .*$", f"{other} = {donor[other]}", child, flags=re.M)
            parents += (request.second_parent.candidate.id,)
        return Proposal(child, self.name, parents=parents, exchange={"note.txt": f"P{pick}"})


class InstantSandbox:
    """Scores by reading literals; returns one evaluator feature and a short stdout artifact."""

    name = "instant"

    async def evaluate(self, job: SandboxJob) -> EvalResult:
        score = literal_score(job.program)
        if score is None:
            return EvalResult(status=Status.FAILED, stage="full", reason="missing parameter")
        spread = min(1.0, abs(score) / 10.0)
        return EvalResult(status=Status.OK, score=score, stage="full",
                          metrics={"score": score}, features={"spread": spread},
                          artifacts={"stdout": f"score {score:.6f}\n"})

    async def close(self) -> None:
        return None


def make_problem(root: Path) -> Problem:
    prob = root / "problems" / "bench"
    prob.mkdir(parents=True)
    ev = root / "evaluators" / "bench"
    ev.mkdir(parents=True)
    (ev / "evaluator.py").write_text("def full(ctx):\n    return {'score': 0.0}\n")
    (prob / "initial.py").write_text(seed_program())
    (prob / "prompt.md").write_text("maximise\n")
    (prob / "problem.yaml").write_text(
        "name: bench\nstages:\n  - {name: full, function: full}\n"
        "features:\n  - {name: spread, bins: 10, low: 0, high: 1}\n"
        "  - {name: code_length, bins: 10, low: 1500, high: 1800}\n"
    )
    return load_problem(prob)


def make_engine(root: Path, run: str, n: int, islands: int) -> Engine:
    problem = make_problem(root / run)
    config = RunConfig.model_validate({
        "seed": 1,
        "budget": {"max_evaluations": n},
        "population": {"num_islands": islands},
    })
    store = GitLineageStore.create(root / run / "lineage.git")
    return Engine(problem, config, sandbox=InstantSandbox(),  # type: ignore[arg-type]
                  operators={"instant": InstantOperator()}, mix={"instant": 1.0},
                  store=store, events=EventLog(root / run / "events.jsonl"))


class PhaseTimer:
    """Wraps engine entry points with wall-clock timers (nested phases are reported apart)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self.calls: dict[str, int] = {}

    def wrap(self, phase: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            t0 = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.seconds[phase] = self.seconds.get(phase, 0.0) + time.perf_counter() - t0
                self.calls[phase] = self.calls.get(phase, 0) + 1
        return timed

    def wrap_async(self, phase: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        async def timed(*args: Any, **kwargs: Any) -> Any:
            t0 = time.perf_counter()
            try:
                return await fn(*args, **kwargs)
            finally:
                self.seconds[phase] = self.seconds.get(phase, 0.0) + time.perf_counter() - t0
                self.calls[phase] = self.calls.get(phase, 0) + 1
        return timed


def instrument(engine: Engine, timer: PhaseTimer) -> None:
    for name in ("select_parent", "select_second_parent", "inspirations", "top_programs"):
        setattr(engine_mod, name, timer.wrap("select", getattr(engine_mod, name)))
    engine_mod.screen = timer.wrap("screen", engine_mod.screen)  # type: ignore[assignment]
    engine.store.record = timer.wrap("record (git commit)", engine.store.record)  # type: ignore[method-assign]
    engine._insert = timer.wrap("insert + migrate", engine._insert)  # type: ignore[method-assign]
    engine.events.emit = timer.wrap("events", engine.events.emit)  # type: ignore[method-assign]
    engine.stats.progress = timer.wrap("progress stats", engine.stats.progress)  # type: ignore[method-assign]
    engine._new_candidate = timer.wrap("build candidate", engine._new_candidate)  # type: ignore[method-assign]
    # The test doubles' own time, measured so it can be taken out of the overhead.
    op = engine.operators["instant"]
    op.propose = timer.wrap_async(DOUBLES_OP, op.propose)  # type: ignore[method-assign]
    engine.sandbox.evaluate = timer.wrap_async(DOUBLES_EVAL, engine.sandbox.evaluate)  # type: ignore[method-assign]


def run_engine(engine: Engine) -> tuple[float, float]:
    """Run to the budget; (wall seconds, CPU seconds of this process)."""
    try:
        t0, c0 = time.perf_counter(), time.process_time()
        asyncio.run(engine.run())
        return time.perf_counter() - t0, time.process_time() - c0
    finally:
        engine.store.close()
        engine.events.close()


def timed_run(root: Path, n: int, islands: int) -> tuple[float, float, Engine, PhaseTimer]:
    engine = make_engine(root, "timed", n, islands)
    names = ("select_parent", "select_second_parent", "inspirations", "top_programs", "screen")
    originals = {k: getattr(engine_mod, k) for k in names}
    timer = PhaseTimer()
    instrument(engine, timer)
    try:
        wall, cpu = run_engine(engine)
    finally:
        for k, v in originals.items():
            setattr(engine_mod, k, v)
    return wall, cpu, engine, timer


def profiled_run(root: Path, n: int, islands: int, top: int) -> str:
    engine = make_engine(root, "profiled", n, islands)
    prof = cProfile.Profile()
    prof.enable()
    run_engine(engine)
    prof.disable()
    out = io.StringIO()
    stats = pstats.Stats(prof, stream=out)
    stats.sort_stats("tottime").print_stats(top)
    out.write("\n-- cumulative, engine-level functions --\n")
    stats.sort_stats("cumulative").print_stats(
        r"engine.py|store.py|events.py|selection.py|screen.py|islands.py|archive.py|stats.py", top
    )
    return out.getvalue()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=2000, help="candidates to evaluate")
    ap.add_argument("--islands", type=int, default=4)
    ap.add_argument("--no-profile", action="store_true")
    ap.add_argument("--dir", default=None,
                    help="where the temporary run directories go (e.g. /dev/shm to take the "
                    "disk out of the figures)")
    ap.add_argument("--top", type=int, default=25, help="functions shown from cProfile")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory(prefix="codeevo-overhead-", dir=args.dir) as tmp:
        root = Path(tmp)
        plain = make_engine(root, "plain", args.n, args.islands)
        p_wall, p_cpu = run_engine(plain)
        wall, cpu, engine, timer = timed_run(root, args.n, args.islands)
        n = engine.seq
        doubles = timer.seconds[DOUBLES_OP] + timer.seconds[DOUBLES_EVAL]
        record_s = timer.seconds["record (git commit)"]
        commits = timer.calls["record (git commit)"]
        best = engine.islands.best()
        assert best is not None and best.score is not None

        print(f"engine overhead: {args.n} evaluations, {args.islands} islands, instant operator "
              "+ instant evaluator, real Engine + GitLineageStore + EventLog, run dirs under "
              f"{Path(tmp).parent}")
        print(f"  best score {best.score:.4f} (seed {literal_score(seed_program()):.4f}): "
              "the loop really searched")
        print()
        print(f"  {'run':<28} {'N cand.':>8} {'total s':>8} {'ms/cand.':>9} {'CPU ms/cand.':>13}")
        print(f"  {'plain':<28} {plain.seq:>8} {p_wall:>8.2f} {1000 * p_wall / plain.seq:>9.2f} "
              f"{1000 * p_cpu / plain.seq:>13.2f}")
        print(f"  {'instrumented':<28} {n:>8} {wall:>8.2f} {1000 * wall / n:>9.2f} "
              f"{1000 * cpu / n:>13.2f}")
        print(f"  {'instrumented minus doubles':<28} {n:>8} {wall - doubles:>8.2f} "
              f"{1000 * (wall - doubles) / n:>9.2f}")
        print(f"  lineage commits/s: {commits / record_s:.0f} ({commits} commits, {record_s:.2f} s "
              f"inside store.record); end to end {plain.seq / p_wall:.0f} candidates/s")
        per = 1000 * (wall - doubles) / n
        print(f"  targets: < {TARGET_MS:g} ms/candidate: {'met' if per < TARGET_MS else 'MISSED'}"
              f"; >= {TARGET_COMMITS:g} commits/s: "
              f"{'met' if commits / record_s >= TARGET_COMMITS else 'MISSED'}")
        print()
        print("breakdown (instrumented run, wall clock; migration events nest inside insert; the "
              "engine runs record on its writer thread, so phases can overlap and rest can go "
              "below 0)")
        print(f"  {'phase':<22} {'calls':>7} {'total s':>8} {'ms/cand.':>9} {'share':>6}")
        for phase, sec in sorted(timer.seconds.items(), key=lambda kv: -kv[1]):
            print(f"  {phase:<22} {timer.calls[phase]:>7} {sec:>8.3f} "
                  f"{1000 * sec / n:>9.3f} {100 * sec / wall:>5.1f}%")
        rest = wall - sum(timer.seconds.values())
        print(f"  {'rest (loop, asyncio)':<22} {'':>7} {rest:>8.3f} "
              f"{1000 * rest / n:>9.3f} {100 * rest / wall:>5.1f}%")
        if not args.no_profile:
            print()
            print("cProfile (separate run; profiling slows everything down):")
            print(profiled_run(root, args.n, args.islands, args.top))


if __name__ == "__main__":
    main()
