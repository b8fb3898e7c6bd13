"""Per-evaluation overhead of each sandbox on a trivial evaluator (median of many runs).

    python benchmarks/sandbox_overhead.py [--runs 30] [--image codeevo-cpu:latest]

Sandboxes: local and Docker, each with a warm runner (the default: one runner scores every
evaluation) and a fresh runner per evaluation (``warm_pool: false``; Docker: a fresh
container). The evaluator runs one trivial candidate process (forked from the template) and
returns its value, so what is timed is the sandbox itself: job, candidate process, sweep,
result line (and, fresh, the runner's start-up and clean-up). Targets (issue 4): local <=
0.05 s, Docker fresh <= 0.6 s, warm <= 0.1 s. Docker rows are left out, with the reason, when
no engine or image is available.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from codeevo.config import SandboxConfig, StageConfig  # noqa: E402
from codeevo.errors import CodeevoError  # noqa: E402
from codeevo.sandbox.base import SandboxJob  # noqa: E402

EVALUATOR = ("def score(ctx):\n    r = ctx.run_candidate('f')\n"
             "    return {'score': float(r.value)}\n")
TARGETS = {"local (warm runner)": 0.05, "local (fresh runner)": 0.6,
           "docker (warm runner)": 0.1, "docker (fresh container)": 0.6}


async def measure(sandbox: Any, job: SandboxJob, runs: int, warmup: int = 2) -> list[float]:
    times = []
    try:
        for i in range(warmup + runs):
            t0 = time.perf_counter()
            res = await sandbox.evaluate(job)
            dt = time.perf_counter() - t0
            if res.status.value != "ok":
                raise RuntimeError(f"{sandbox.name}: {res.status.value}: {res.reason}")
            if i >= warmup:
                times.append(dt)
    finally:
        await sandbox.close()
    return times


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--image", default="codeevo-cpu:latest")
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="codeevo-bench-"))
    (folder / "evaluator.py").write_text(EVALUATOR)
    job = SandboxJob(program="def f():\n    return 1\n", entry="program.py",
                     evaluator_dir=folder,
                     evaluator_module="evaluator",
                     stages=(StageConfig(name="s", function="score", timeout=30),))
    rows: list[tuple[str, list[float] | str]] = []

    from codeevo.sandbox.local import LocalSandbox

    for name, warm in (("local (warm runner)", True), ("local (fresh runner)", False)):
        sb = LocalSandbox(SandboxConfig(warm_pool=warm))
        rows.append((name, await measure(sb, job, args.runs)))
    try:
        from codeevo.sandbox.docker import DockerSandbox, connect

        client = connect()
        for name, warm in (("docker (warm runner)", True), ("docker (fresh container)", False)):
            sb = DockerSandbox(SandboxConfig(warm_pool=warm), args.image, client=client)
            rows.append((name, await measure(sb, job, args.runs)))
    except CodeevoError as exc:
        rows.append(("docker", f"not measured: {exc}"))

    import os

    print(f"sandbox overhead, trivial evaluator + one candidate process, {args.runs} runs each "
          f"(after 2 warm-up runs), load average {os.getloadavg()[0]:.1f}")
    print(f"{'sandbox':26} {'median':>8} {'p10':>8} {'p90':>8} {'target':>8}  verdict")
    for name, times in rows:
        if isinstance(times, str):
            print(f"{name:26} {times}")
            continue
        q = statistics.quantiles(times, n=10)
        med, target = statistics.median(times), TARGETS[name]
        verdict = "ok" if med <= target else "OVER TARGET"
        print(f"{name:26} {med:8.3f} {q[0]:8.3f} {q[-1]:8.3f} {target:8.2f}  {verdict}")


if __name__ == "__main__":
    asyncio.run(main())
