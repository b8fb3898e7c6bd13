"""Discovery that generalises: AST-only vs AST + tune, at equal evaluation budgets.

    PYTHONPATH=. python benchmarks/discovery.py [--budgets 150 300] [--seeds 1 2 3]
        [--arms ast ast+tune] [--out runs/bench-discovery] [--fresh]

For each arm and run seed, one offline run of the merge problem from its seed program
(`codeevo run problems/merge --sandbox local --evals <largest budget>`; the AST-only arm sets
``operators.mix: {ast: 1}``, the other uses the default offline mix). For each budget B the
run's best among its first B evaluations is taken (a prefix of the longest run is a run of
budget B with the same seed), then scored on the held-out suite and compared with TSV-M on the
same zoos: the paired difference with its 95 % bootstrap interval over zoos
(`codeevo.merging.intervals`). Printed: one row per (arm, budget, seed), then per arm and
budget how many runs have the whole interval above zero.

Cheap to rerun: finished runs in `--out` are reused (an unfinished one is resumed) as long as
the problem and evaluator files are the ones the run was started with (a fingerprint in the
run's `bench.json`; a run made with other files is started over, with a line saying so), and
held-out scores go through the report's score cache (``$CODEEVO_CACHE/report``, keyed by
program, evaluator config and evaluator code), so a rerun after faster evaluation lands (or
with another budget) only pays for what is new; `codeevo report --heldout` on these runs
reuses them too. `--fresh` starts the runs over.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from codeevo.assets import cache_root  # noqa: E402
from codeevo.candidate import Candidate, Status  # noqa: E402
from codeevo.config import RunConfig  # noqa: E402
from codeevo.lineage.store import GitLineageStore  # noqa: E402
from codeevo.merging.intervals import paired_difference  # noqa: E402
from codeevo.merging.report import score_programs  # noqa: E402
from codeevo.problem import Problem, load_problem  # noqa: E402

ARMS = {"ast": ["--set", "operators.mix={ast: 1.0}"], "ast+tune": []}


def run_dir(out: Path, arm: str, seed: int) -> Path:
    return out / f"{arm.replace('+', '-')}-s{seed}"


def fingerprint() -> str:
    """What a run's scores depend on besides its seed: the problem's and evaluator's files."""
    problem = load_problem(ROOT / "problems" / "merge")
    digest = hashlib.sha256()
    for folder in (problem.root, problem.evaluator_dir):
        for f in sorted(folder.rglob("*")):
            if f.is_file() and "__pycache__" not in f.parts:
                digest.update(str(f.relative_to(folder)).encode() + f.read_bytes())
    return digest.hexdigest()[:16]


def stale(path: Path, current: str) -> str | None:
    """Why the run in `path` cannot be reused (None when it can)."""
    try:
        made = json.loads((path / "bench.json").read_text()).get("fingerprint")
    except (OSError, ValueError, AttributeError):
        return "it has no bench.json (made by hand or by an older benchmark)"
    if made != current:
        return f"it was made with other problem/evaluator files ({made} != {current})"
    return None


def evaluations(path: Path) -> int:
    if not (path / "lineage.git").exists():
        return 0
    store = GitLineageStore.open(path / "lineage.git")
    try:
        return sum(c.status != Status.REJECTED for c in store.candidates())
    finally:
        store.close()


def ensure_run(out: Path, arm: str, seed: int, budget: int) -> float:
    """Run (or finish) one run; returns the seconds spent now (0 when it was already done)."""
    path = run_dir(out, arm, seed)
    current = fingerprint()
    done = evaluations(path)
    why = stale(path, current) if done else None
    if why:
        print(f"[{arm} seed {seed}] starting {path} over: {why}", flush=True)
        done = 0
    if done >= budget:
        return 0.0
    cmd = [sys.executable, "-m", "codeevo"]
    if done == 0:
        shutil.rmtree(path, ignore_errors=True)
        cmd += ["run", str(ROOT / "problems" / "merge"), "--out", str(path), *ARMS[arm]]
    else:
        cmd += ["resume", str(path)]
    cmd += ["--seed", str(seed), "--evals", str(budget), "--sandbox", "local", "--quiet"]
    t0 = time.perf_counter()
    print(f"[{arm} seed {seed}] {' '.join(cmd[2:])}", flush=True)
    proc = subprocess.Popen(cmd, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    if done == 0:  # the run writes run.json first; an interrupted run keeps its fingerprint
        while proc.poll() is None and not (path / "run.json").is_file():
            time.sleep(0.2)
        if (path / "run.json").is_file():
            (path / "bench.json").write_text(json.dumps({"fingerprint": current}) + "\n")
    if proc.wait():
        raise SystemExit(f"{' '.join(cmd[2:])} failed with exit status {proc.returncode}")
    return time.perf_counter() - t0


def best_within(path: Path, budget: int) -> tuple[Candidate, str, dict[str, int]]:
    """The best candidate among the run's first `budget` evaluations, its program, and counts
    of evaluations by operator and status within that prefix."""
    store = GitLineageStore.open(path / "lineage.git")
    try:
        n, best = 0, None
        counts: dict[str, int] = {}
        for cand in store.candidates():
            if cand.status == Status.REJECTED:
                continue
            n += 1
            if n > budget:
                break
            key = f"{cand.operator}:{cand.status.value}"
            counts[key] = counts.get(key, 0) + 1
            if cand.ok and (best is None or (cand.score or 0) > (best.score or 0)):
                best = cand
        if best is None:
            raise SystemExit(f"{path}: no successful candidate")
        return best, store.program(best.id), counts
    finally:
        store.close()


def heldout_scores(problem: Problem, program: str) -> list[float]:
    """Per-zoo held-out scores (through the report's score cache)."""
    cfg = RunConfig.model_validate({"sandbox": {"kind": "local"}})
    rows = asyncio.run(score_programs(problem, {"p": program}, cfg, ("heldout",),
                                      cache_dir=cache_root() / "report"))
    if "heldout" not in rows[0].per_zoo:
        raise SystemExit(f"held-out evaluation failed: {rows[0].errors}")
    return rows[0].per_zoo["heldout"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--budgets", type=int, nargs="+", default=[150, 300])
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--arms", nargs="+", default=list(ARMS), choices=list(ARMS))
    parser.add_argument("--out", type=Path, default=ROOT / "runs" / "bench-discovery")
    parser.add_argument("--fresh", action="store_true", help="delete earlier runs in --out")
    args = parser.parse_args()
    out: Path = args.out.resolve()
    if args.fresh:
        shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True, exist_ok=True)
    budget = max(args.budgets)
    print(f"cpus: {os.cpu_count()}  out: {out}  budgets: {args.budgets}  seeds: {args.seeds}")

    spent: dict[str, float] = {}
    for arm in args.arms:
        for seed in args.seeds:
            spent[f"{arm}:{seed}"] = ensure_run(out, arm, seed, budget)

    problem = load_problem(ROOT / "problems" / "merge")
    tsv = heldout_scores(problem, (ROOT / "problems/merge/baselines/tsv_m.py").read_text())
    print(f"\nTSV-M on the held-out suite ({len(tsv)} zoos): "
          f"{100 * sum(tsv) / len(tsv):.1f}\n")
    print("| arm | budget | run seed | best search | best id | held-out | Δ vs TSV-M | "
          "95% interval | better on | failed evals |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    summary: dict[tuple[str, int], list[tuple[float, bool]]] = {}
    for arm in args.arms:
        for b in sorted(args.budgets):
            for seed in args.seeds:
                best, program, counts = best_within(run_dir(out, arm, seed), b)
                held = heldout_scores(problem, program)
                diff = paired_difference(held, tsv)
                wins = sum(x > y for x, y in zip(held, tsv, strict=True))
                failed = sum(v for k, v in counts.items() if not k.endswith(":ok"))
                print(f"| {arm} | {b} | {seed} | {100 * (best.score or 0):.1f} | {best.id} | "
                      f"{100 * sum(held) / len(held):.1f} | {100 * diff.mean:+.1f} | "
                      f"{100 * diff.low:+.1f} – {100 * diff.high:+.1f} | "
                      f"{wins}/{len(held)} | {failed} |", flush=True)
                summary.setdefault((arm, b), []).append((best.score or 0.0, diff.low > 0))
    print("\n| arm | budget | mean best search | runs with Δ interval above 0 |")
    print("|---|---|---|---|")
    for (arm, b), rows in summary.items():
        mean = 100 * sum(s for s, _ in rows) / len(rows)
        print(f"| {arm} | {b} | {mean:.1f} | {sum(ok for _, ok in rows)}/{len(rows)} |")
    ran = {k: round(v) for k, v in spent.items() if v}
    if ran:
        print(f"\nrun wall seconds this time: {ran}")


if __name__ == "__main__":
    main()
