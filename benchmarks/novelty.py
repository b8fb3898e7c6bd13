"""Novelty screening: rejection rate and sandbox seconds saved.

A. Offline circle packing (the AST operator, no model): novelty off, and on at several
   thresholds (the offline n-gram embedding). The AST operator's search is small literal
   nudges, so this shows what screening costs an offline run.
B. A loopback run on circle packing whose scripted model often repeats itself: for a parent
   it has answered before it re-sends an earlier edit (reworded comment, different
   whitespace: a new program hash, the same code) with probability --repeat; otherwise it
   nudges a random constant. Novelty off vs on (the default threshold), same seed and the
   same evaluation budget: LLM calls, rejections, sandbox seconds saved, best score.

"Saved" = children rejected by novelty x the run's mean evaluation time (what evaluating them
would have cost). Figures vary with machine load; the ratios are measured in one run.

    PYTHONPATH=. python benchmarks/novelty.py [--evals 120] [--seeds 1,2] [--repeat 0.5]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from codeevo.lineage.store import GitLineageStore  # noqa: E402
from tests.llm.server import LoggedRequest, Reply, ScriptedLLMServer, ok  # noqa: E402

CP = ROOT / "problems" / "circle_packing"
_FLOAT = re.compile(r"^(?P<indent>[ \t]*)(?P<lhs>[^\n=#]+?=\s*)(?P<head>[^\n#]*?)"
                    r"(?P<num>\d+\.\d+)(?P<tail>[^\n#]*)(#.*)?$", re.MULTILINE)


class RepeatingModel:
    """Nudges a constant of the current program; for a parent seen before, re-sends one of
    its earlier edits (with a new comment) with probability `repeat`."""

    def __init__(self, repeat: float, seed: int) -> None:
        self.repeat = repeat
        self.rng = random.Random(seed)
        self.done: dict[int, list[tuple[str, str]]] = {}
        self.lock = threading.Lock()
        self.calls = 0

    def __call__(self, req: LoggedRequest) -> Reply:
        user = next(m["content"] for m in req.body["messages"] if m["role"] == "user")
        if "SEARCH/REPLACE" not in user:
            return ok("- small constant changes help")
        program = user.split("```python\n", 1)[1].split("```", 1)[0]
        block = program.split("EVOLVE-BLOCK-START", 1)[-1].split("EVOLVE-BLOCK-END", 1)[0]
        with self.lock:
            self.calls += 1
            key = hash(block)
            earlier = self.done.get(key, [])
            if earlier and self.rng.random() < self.repeat:
                old, new = self.rng.choice(earlier)
                note = self.rng.choice(["again", "retry", "same idea", "once more", "redo"])
            else:
                lines = [m for m in _FLOAT.finditer(block) if "range" not in m.group(0)]
                m = self.rng.choice(lines)
                value = float(m["num"]) * (1 + self.rng.uniform(-0.08, 0.08))
                old = m.group(0)
                new = (f"{m['indent']}{m['lhs']}{m['head']}{value:.5g}{m['tail']}").rstrip()
                earlier.append((old, new))
                self.done[key] = earlier
                note = f"nudge {self.calls}"
        return ok(f"Trying a change ({note}).\n<<<<<<< SEARCH\n{old}\n=======\n"
                  f"{new}  # {note}\n>>>>>>> REPLACE\n", tokens_in=900, tokens_out=60)


def run(args: list[str], out: Path) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-m", "codeevo", "run", str(CP), "--out", str(out),
                           "--sandbox", "local", "--json", "--quiet", *args],
                          capture_output=True, text=True, cwd=ROOT, env=env, check=False)
    if proc.returncode not in (0, 1):
        raise RuntimeError(proc.stderr[-2000:])
    summary = json.loads(proc.stdout.strip().splitlines()[-1])
    with GitLineageStore.open(out / "lineage.git") as store:
        cands = list(store.candidates())
    evals = [c.timings.get("eval", 0.0) for c in cands
             if c.status.value != "rejected" and c.operator != "seed"]
    novelty = sum(1 for c in cands if c.stage == "novelty")
    mean = statistics.fmean(evals) if evals else 0.0
    return {"candidates": len(cands) - 1, "evaluations": summary["evaluations"],
            "novelty": novelty, "duplicates": sum(1 for c in cands if c.stage == "duplicate"),
            "saved_s": novelty * mean, "eval_s": sum(evals), "best": summary["best_score"],
            "llm_calls": sum(v["calls"] for v in summary.get("by_model", {}).values())}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--evals", type=int, default=120)
    ap.add_argument("--seeds", default="1,2")
    ap.add_argument("--thresholds", default="0.999,0.995,0.99")
    ap.add_argument("--repeat", type=float, default=0.5)
    ap.add_argument("--skip-offline", action="store_true")
    opts = ap.parse_args()
    seeds = [int(s) for s in opts.seeds.split(",")]
    work = Path(tempfile.mkdtemp(prefix="codeevo-novelty-"))
    base = ["--evals", str(opts.evals), "--set", "engine.max_in_flight=1"]
    if not opts.skip_offline:
        print(f"A. offline circle packing, {opts.evals} evaluations, seeds {seeds}")
        print(f"{'novelty':>12} {'candidates':>10} {'rejected':>9} {'rate':>6} "
              f"{'saved s':>8} {'eval s':>8} {'best':>8}")
        settings = [("off", ["--set", "novelty.enabled=false"])] + [
            (f"on @{t}", ["--set", "novelty.enabled=true", "--set", f"novelty.threshold={t}"])
            for t in opts.thresholds.split(",")]
        for label, extra in settings:
            rows = [run([*base, "--seed", str(s), *extra], work / f"a-{label}-{s}")
                    for s in seeds]
            cands = sum(r["candidates"] for r in rows)
            rej = sum(r["novelty"] for r in rows)
            print(f"{label:>12} {cands:>10} {rej:>9} {rej / max(cands, 1):>6.1%} "
                  f"{sum(r['saved_s'] for r in rows):>8.1f} "
                  f"{sum(r['eval_s'] for r in rows):>8.1f} "
                  f"{statistics.fmean(r['best'] for r in rows):>8.4f}")
    print(f"\nB. loopback model repeating itself (p={opts.repeat}), {opts.evals} evaluations, "
          f"seeds {seeds}")
    print(f"{'novelty':>12} {'LLM calls':>9} {'rejected':>9} {'dupes':>6} {'rate':>6} "
          f"{'saved s':>8} {'eval s':>8} {'best':>8}")
    for label, extra in (("off", ["--set", "novelty.enabled=false"]), ("on (default)", [])):
        rows = []
        for s in seeds:
            with ScriptedLLMServer(responder=RepeatingModel(opts.repeat, s)) as server:
                rows.append(run([*base, "--seed", str(s), "--model", "openai/repeater",
                                 "--api-base", server.base_url + "/v1",
                                 "--set", "operators.mix={diff: 1}",
                                 "--set", "insights.enabled=false", *extra],
                                work / f"b-{label.split()[0]}-{s}"))
        calls = sum(r["llm_calls"] for r in rows)
        rej = sum(r["novelty"] for r in rows)
        print(f"{label:>12} {calls:>9} {rej:>9} {sum(r['duplicates'] for r in rows):>6} "
              f"{rej / max(calls, 1):>6.1%} {sum(r['saved_s'] for r in rows):>8.1f} "
              f"{sum(r['eval_s'] for r in rows):>8.1f} "
              f"{statistics.fmean(r['best'] for r in rows):>8.4f}")
    print(f"\n(runs kept in {work})")


if __name__ == "__main__":
    main()
