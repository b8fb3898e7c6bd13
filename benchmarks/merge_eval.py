"""Merge-problem benchmark: zoo build time per seed, fitness time per baseline, baseline table.

    PYTHONPATH=. python benchmarks/merge_eval.py [--fresh] [--problem problems/merge_calib]

--fresh builds the zoos into a temporary cache (measures build time); otherwise the usual cache
(CODEEVO_CACHE or ~/.cache/codeevo) is reused. Fitness runs through the local sandbox. The
problem (default problems/merge) picks the zoo family and track: problems/merge_transformer
(transformer zoo), problems/merge_calib (data-assisted track; its own table).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "evaluators" / "merge"))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--fresh", action="store_true", help="rebuild zoos in a temporary cache")
    parser.add_argument("--problem", type=Path, default=ROOT / "problems" / "merge")
    args = parser.parse_args()
    if args.fresh:
        os.environ["CODEEVO_CACHE"] = tempfile.mkdtemp(prefix="codeevo-bench-")

    from prepare import cached_zoo  # type: ignore[import-not-found]
    from presets import zoo_specs  # type: ignore[import-not-found]

    from codeevo.assets import cache_root
    from codeevo.config import RunConfig
    from codeevo.merging.report import ReportRow, track_tables
    from codeevo.problem import load_problem

    problem = load_problem(args.problem)
    cache = cache_root() / "assets"
    print(f"cpus: {os.cpu_count()}  cache: {cache}  problem: {problem.name}")
    for spec in zoo_specs(dict(problem.config.evaluator.config)):
        t0 = time.perf_counter()
        cached_zoo(spec, cache)
        print(f"zoo seed {spec.seed}: {time.perf_counter() - t0:.1f} s "
              f"({'built' if args.fresh else 'cached or built'})")

    from codeevo.evaluate import evaluate_program

    cfg = RunConfig.model_validate({"sandbox": {"kind": "local"}})
    programs = {"seed": problem.seed_program, **problem.baseline_programs()}
    rows = []
    for name, program in programs.items():
        t0 = time.perf_counter()
        r = asyncio.run(evaluate_program(problem, program, cfg))
        dt = time.perf_counter() - t0
        print(f"fitness {name}: {dt:.1f} s (merge {r.metrics.get('merge_seconds', 0):.2f} s) "
              f"score {r.score}")
        row = ReportRow(name, track=("data-assisted" if r.metrics.get("data_assisted")
                                     else "data-free"))
        if r.status.value == "ok":
            row.results["search"] = dict(r.metrics)
        else:
            row.errors["search"] = f"{r.status.value}: {r.reason}"
        rows.append(row)
    pre = next(iter(rows)).results.get("search", {}).get("pretrained_acc", 0.0)
    print(f"\npre-trained normalized accuracy: {100 * pre:.1f}\n")
    print(track_tables(rows, ("search",)))


if __name__ == "__main__":
    main()
