"""The bandit's allocation curve (issue 18): two models on the loopback server, through the real
client, the local sandbox and the lineage; `score = X`, one island, diff operator only.

1. "good vs bad": the good model's replies raise X by 1, the bad one's lower it.
2. "cheap vs dear": both raise X by 1; the dear one costs 10x per token.

For each, over the first 100 proposals: the share going to the first model in each window of
10, the overall share, the score reached and the dollars spent, against the same run with
fixed equal weights (bandit off).

    PYTHONPATH=. python benchmarks/bandit.py [--proposals 100] [--seed 11] [--policy thompson]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from codeevo.events import read_events  # noqa: E402
from codeevo.lineage.store import GitLineageStore  # noqa: E402
from tests.llm.server import ScriptedLLMServer  # noqa: E402
from tests.llm.test_bandit_e2e import _problem, responder  # noqa: E402


def run(work: Path, steps: dict[str, float], prices: dict[str, float], proposals: int,
        seed: int, bandit: dict[str, Any]) -> dict[str, Any]:
    with ScriptedLLMServer(responder=responder(steps)) as server:
        models = [{"name": f"openai/{n}", "api_base": server.base_url + "/v1",
                   "input_price_per_mtok": p, "output_price_per_mtok": p}
                  for n, p in prices.items()]
        cfg = work / "config.yaml"
        cfg.write_text(yaml.safe_dump({
            "seed": seed, "llm": {"models": models, "timeout": 10, "max_retries": 1},
            "operators": {"mix": {"diff": 1.0}}, "population": {"num_islands": 1},
            "engine": {"max_in_flight": 1}, "bandit": bandit,
            "insights": {"enabled": False},
            "budget": {"max_evaluations": proposals + 1}}))
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        out = work / "run"
        proc = subprocess.run([sys.executable, "-m", "codeevo", "run", str(_problem(work)),
                               "--config", str(cfg), "--out", str(out), "--sandbox", "local",
                               "--json", "--quiet"], capture_output=True, text=True, env=env,
                              cwd=ROOT, check=False)
        if proc.returncode != 0:
            raise RuntimeError(proc.stderr[-2000:])
    summary = json.loads(proc.stdout.strip().splitlines()[-1])
    first = f"openai/{next(iter(prices))}"
    with GitLineageStore.open(out / "lineage.git") as store:
        cands = [c for c in store.candidates() if c.operator != "seed"][:proposals]
    curve = []
    for k in range(0, len(cands), 10):
        win = cands[k:k + 10]
        curve.append(sum(c.model == first for c in win) / len(win))
    reports = [e for e in read_events(out / "events.jsonl") if e["kind"] == "bandit"]
    best = max([0.0] + [c.score for c in cands if c.ok and c.score is not None])
    cost = sum(c.cost for c in cands)
    del summary
    return {"share": sum(c.model == first for c in cands) / len(cands), "curve": curve,
            "best": best, "cost": cost, "reports": len(reports),
            "dollars_per_point": cost / max(best, 1e-9)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--proposals", type=int, default=100)
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--policy", default="thompson", choices=["thompson", "ucb"])
    opts = ap.parse_args()
    root = Path(tempfile.mkdtemp(prefix="codeevo-bandit-"))
    cases = [("good vs bad", {"good": 1.0, "bad": -1.0}, {"good": 1.0, "bad": 1.0}),
             ("cheap vs dear", {"cheap": 1.0, "dear": 1.0}, {"cheap": 0.5, "dear": 5.0})]
    for name, steps, prices in cases:
        print(f"\n{name} ({opts.proposals} proposals, seed {opts.seed}, {opts.policy})")
        for label, bandit in (("bandit", {"enabled": True, "kind": opts.policy}),
                              ("fixed weights", {"enabled": False})):
            work = root / f"{name.replace(' ', '-')}-{label.replace(' ', '-')}"
            work.mkdir(parents=True)
            r = run(work, steps, prices, opts.proposals, opts.seed, bandit)
            first = next(iter(prices))
            curve = " ".join(f"{x:.1f}" for x in r["curve"])
            print(f"  {label:>13}: {first} share {r['share']:.0%}  per 10: [{curve}]  "
                  f"best X = {r['best']:g}  ${r['cost']:.5f} (${r['dollars_per_point']:.6f} "
                  f"per point)")
    print(f"\n(runs kept in {root})")


if __name__ == "__main__":
    main()
