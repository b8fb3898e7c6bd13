"""Merge-problem benchmark: seconds and whole-machine CPU-seconds per evaluation, cold vs warm.

    PYTHONPATH=. python benchmarks/merge_eval.py [--runs 10] [--docker] [--table] [--fresh]
        [--problem problems/merge_transformer | problems/merge_calib]

Cold: a fresh runner per evaluation (``sandbox.warm_pool: false``): interpreter start, torch
import, evaluator setup (reading the zoos), the candidate's process, scoring. Warm: one runner
scores every evaluation (setup once; candidates forked from a template that imported numpy and
torch). The problem's seed (task arithmetic on problems/merge), through the real local
sandbox (and with --docker the codeevo-torch image). CPU is the whole machine's busy time from
/proc/stat, so every process counts (other load on a shared machine too: the load average is
printed); the sandbox CPU column is what the runner and its candidates' processes used (wait4
rusage), which other load does not inflate (cold: it leaves out the runner's start-up).
Target (issue 13): <= 1.0 s wall per warm evaluation (from 4.7 s cold).

--table also scores every baseline (one warm runner) and prints the baseline table; --fresh
builds the zoos into a temporary cache (measures build time). --problem picks the zoo family
and track (default problems/merge): problems/merge_transformer (the transformer zoo),
problems/merge_calib (the data-assisted track; its methods get their own table).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "evaluators" / "merge"))


def busy_cpu() -> float:
    """Whole-machine busy CPU-seconds so far (all of /proc/stat's cpu line but idle/iowait)."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    ticks = os.sysconf("SC_CLK_TCK")
    return (sum(fields[:8]) - fields[3] - fields[4]) / ticks


async def measure(sandbox: Any, job: Any, runs: int) -> list[tuple[float, float, Any]]:
    out = []
    try:
        for _ in range(runs):
            c0, t0 = busy_cpu(), time.perf_counter()
            res = await sandbox.evaluate(job)
            out.append((time.perf_counter() - t0, busy_cpu() - c0, res))
            if res.status.value != "ok":
                raise RuntimeError(f"{sandbox.name}: {res.status.value}: {res.reason}")
    finally:
        await sandbox.close()
    return out


def row(name: str, got: list[tuple[float, float, Any]]) -> str:
    wall = statistics.median(w for w, _, _ in got)
    cpu = statistics.median(c for _, c, _ in got)
    inside = statistics.median(r.timings.get("cpu", 0.0) for _, _, r in got)
    merge = statistics.median(r.metrics.get("merge_seconds", 0.0) for _, _, r in got)
    return f"{name:34} {wall:8.2f} {cpu:8.2f} {inside:9.2f} {merge:9.3f} {len(got):5}"


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=10, help="evaluations per row")
    ap.add_argument("--docker", action="store_true", help="also the codeevo-torch container")
    ap.add_argument("--table", action="store_true", help="score every baseline too")
    ap.add_argument("--fresh", action="store_true", help="rebuild zoos in a temporary cache")
    ap.add_argument("--problem", type=Path, default=ROOT / "problems" / "merge",
                    help="problem folder (zoo family and track)")
    args = ap.parse_args()
    if args.fresh:
        os.environ["CODEEVO_CACHE"] = tempfile.mkdtemp(prefix="codeevo-bench-")

    from codeevo.assets import prepare_assets
    from codeevo.config import SandboxConfig
    from codeevo.problem import load_problem
    from codeevo.sandbox.base import SandboxJob
    from codeevo.sandbox.local import LocalSandbox

    problem = load_problem(args.problem)
    t0 = time.perf_counter()
    assets = prepare_assets(problem)
    print(f"cpus: {os.cpu_count()}  load average: {os.getloadavg()[0]:.2f}  "
          f"zoos ready in {time.perf_counter() - t0:.1f} s")
    program = problem.seed_program

    def job(text: str) -> SandboxJob:
        return SandboxJob(program=text, entry=problem.entry_name,
                          evaluator_dir=problem.evaluator_dir,
                          evaluator_module=problem.config.evaluator.module,
                          stages=tuple(problem.config.stages),
                          evaluator_config=problem.config.evaluator.config, assets_dir=assets,
                          warm_imports=tuple(problem.config.warm_imports))

    print(f"\n{problem.name}'s seed program; medians over {args.runs} evaluations")
    print(f"{'sandbox':34} {'wall s':>8} {'CPU s':>8} {'sandbox':>9} {'merge s':>9} {'runs':>5}")
    print(f"{'':34} {'':>8} {'machine':>8} {'CPU s':>9}")
    cold = await measure(LocalSandbox(SandboxConfig(warm_pool=False)), job(program), args.runs)
    print(row("local, cold (fresh runner each)", cold), flush=True)
    warm = await measure(LocalSandbox(SandboxConfig()), job(program), args.runs + 1)
    print(row("local, warm (first one left out)", warm[1:]), flush=True)
    print(f"{'':34} first warm evaluation: {warm[0][0]:.2f} s wall, {warm[0][1]:.2f} CPU-s "
          "(runner start + setup)")
    if args.docker:
        from codeevo.errors import CodeevoError
        from codeevo.sandbox.docker import DockerSandbox

        try:
            cold_d = await measure(DockerSandbox(SandboxConfig(warm_pool=False), "codeevo-torch"),
                                   job(program), args.runs)
            print(row("docker, cold (fresh container each)", cold_d), flush=True)
            warm_d = await measure(DockerSandbox(SandboxConfig(), "codeevo-torch"), job(program),
                                   args.runs + 1)
            print(row("docker, warm (first one left out)", warm_d[1:]), flush=True)
        except CodeevoError as exc:
            print(f"docker: not measured: {exc}")
    if args.table:
        from codeevo.merging.report import ReportRow, track_tables

        sandbox = LocalSandbox(SandboxConfig())
        rows = []
        try:
            for name, text in {"seed": problem.seed_program,
                               **problem.baseline_programs()}.items():
                r = await sandbox.evaluate(job(text))
                report = ReportRow(name, track=("data-assisted" if r.metrics.get("data_assisted")
                                                else "data-free"))
                if r.status.value == "ok":
                    report.results["search"] = dict(r.metrics)
                else:
                    report.errors["search"] = f"{r.status.value}: {r.reason}"
                rows.append(report)
        finally:
            await sandbox.close()
        print()
        print(track_tables(rows, ("search",)))


if __name__ == "__main__":
    asyncio.run(main())
