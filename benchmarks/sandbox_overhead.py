"""Per-evaluation overhead of each sandbox on a trivial evaluator (median of many runs).

    python benchmarks/sandbox_overhead.py [--runs 30] [--image codeevo-cpu:latest]

Sandboxes: local (a killable process), Docker with a fresh container per evaluation, and
Docker's warm pool (exec in a reused container, cleaned between uses). The evaluator returns
a constant score without starting a candidate process, so what is timed is the sandbox itself:
payload, runner start-up, result line, clean-up. Targets (issue 4): local <= 0.05 s,
fresh <= 0.6 s, warm <= 0.1 s. Docker rows are left out, with the reason, when no engine or
image is available.
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

EVALUATOR = "def score(ctx):\n    return {'score': 1.0}\n"
TARGETS = {"local": 0.05, "docker (fresh container)": 0.6, "docker (warm pool)": 0.1}


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
    job = SandboxJob(program="x = 1\n", entry="program.py", evaluator_dir=folder,
                     evaluator_module="evaluator",
                     stages=(StageConfig(name="s", function="score", timeout=30),))
    rows: list[tuple[str, list[float] | str]] = []

    from codeevo.sandbox.local import LocalSandbox

    rows.append(("local", await measure(LocalSandbox(SandboxConfig()), job, args.runs)))
    try:
        from codeevo.sandbox.docker import DockerSandbox, connect

        client = connect()
        for name, warm in (("docker (fresh container)", False), ("docker (warm pool)", True)):
            sb = DockerSandbox(SandboxConfig(warm_pool=warm), args.image, client=client)
            rows.append((name, await measure(sb, job, args.runs)))
    except CodeevoError as exc:
        rows.append(("docker", f"not measured: {exc}"))

    print(f"sandbox overhead, trivial evaluator, {args.runs} runs each (after 2 warm-up runs)")
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
