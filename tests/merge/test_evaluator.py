"""The evaluator end to end through the real LocalSandbox (codeevo.evaluate.evaluate_program)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import numpy as np
import pytest
from conftest import EVALUATOR, PROBLEM

from codeevo.candidate import EvalResult
from codeevo.config import RunConfig, deep_merge
from codeevo.problem import load_problem

pytestmark = pytest.mark.slow


def evaluate(program: str, **override: Any) -> EvalResult:
    from codeevo.evaluate import evaluate_program

    problem = load_problem(PROBLEM)
    cfg = RunConfig.model_validate({"sandbox": {"kind": "local"}})
    ev = deep_merge(problem.config.evaluator.config, override)
    return asyncio.run(evaluate_program(problem, program, cfg, evaluator_config=ev))


def test_seed_scores_with_metrics(default_assets: Any) -> None:
    r = evaluate((PROBLEM / "initial.py").read_text())
    assert r.status.value == "ok", (r.reason, r.artifacts)
    assert 0.70 < (r.score or 0) < 0.82
    for key in ("normalized_acc", "gap_closed", "worst_task", "scale", "pretrained_acc"):
        assert key in r.metrics
    assert r.metrics["worst_task"] < r.metrics["normalized_acc"]
    assert "per_task" in r.artifacts
    # Per-zoo scores and their spread: the mean is theirs, the zoos artifact labels them.
    per_zoo = [r.metrics[f"zoo{i}_normalized"] for i in range(int(r.metrics["zoos"]))]
    assert len(per_zoo) == 5 and r.metrics["normalized_acc"] == pytest.approx(
        sum(per_zoo) / 5)
    assert r.metrics["normalized_min"] == min(per_zoo)
    assert r.metrics["normalized_std"] == pytest.approx(float(np.std(per_zoo, ddof=1)))
    zoos = json.loads(r.artifacts["zoos"])
    assert [z["label"] for z in zoos] == [
        "search:256x2/sgd/s0", "search:256x2/sgd/s1", "search:256x2/sgd/s2",
        "search:384x3/sgd/s3", "search:256x2/adam/s4"]
    assert [z["normalized"] for z in zoos] == per_zoo


BAD = {
    "nan": "return base * float('nan')",
    "shape": "return base[:1]",
    "raises": "raise RuntimeError('boom')",
}


@pytest.mark.parametrize("kind", sorted(BAD))
def test_broken_merges_score_zero_with_reason(default_assets: Any, kind: str) -> None:
    program = ("import torch\n# EVOLVE-BLOCK-START\ndef merge_tensor(base, experts, name):\n"
               f"    {BAD[kind]}\n# EVOLVE-BLOCK-END\n")
    r = evaluate(program)
    assert r.score == 0.0
    assert r.reason
    words = {"nan": "NaN", "shape": "shape", "raises": "boom"}
    assert words[kind] in r.reason


def test_over_time_limit_scores_zero(default_assets: Any) -> None:
    program = ("import time\n# EVOLVE-BLOCK-START\ndef merge_tensor(base, experts, name):\n"
               "    time.sleep(30)\n    return base\n# EVOLVE-BLOCK-END\n")
    r = evaluate(program, time_limit=3)
    assert r.score == 0.0
    assert r.status.value == "timeout"


PEEK = '''
import json, os, sys
import torch
from pathlib import Path
SECRET_NAMES = ("eval_", "manifest.json", "meta.json", "zoo.npz")
ROOTS = [Path.cwd(), *Path.cwd().parents, Path("/tmp"), Path(os.environ.get("HOME", "/")),
         Path(EVALUATOR_DIR), Path(CACHE_DIR), Path("/root/.cache")]
# EVOLVE-BLOCK-START
def _scan():
    found, seen = [], 0
    for root in ROOTS:
        for dirpath, dirnames, filenames in os.walk(root):
            depth = len(Path(dirpath).parts) - len(root.parts)
            if depth > 5 or seen > 200000:
                dirnames[:] = []
                continue
            for f in filenames:
                seen += 1
                p = os.path.join(dirpath, f)
                secret = f.startswith(SECRET_NAMES) or f in SECRET_NAMES or (
                    f.endswith(".npz") and not f.startswith(("zoo", "merged")))
                if secret and os.access(p, os.R_OK):
                    found.append(p)
    return found
FOUND = _scan()
print("PEEK " + json.dumps(FOUND[:20]))
def merge_tensor(base, experts, name):
    return torch.stack(experts).mean(0)
# EVOLVE-BLOCK-END
'''


def test_candidate_cannot_find_data_labels_or_heads(default_assets: Any, cache_dir: Any) -> None:
    program = (PEEK.replace("EVALUATOR_DIR", repr(str(EVALUATOR)))
               .replace("CACHE_DIR", repr(str(cache_dir))))
    r = evaluate(program)
    assert r.status.value == "ok", (r.reason, r.artifacts)
    line = next(x for x in r.artifacts["stdout"].splitlines() if x.startswith("PEEK "))
    found = json.loads(line[5:])
    # Only the weights it was given (zoo*.npz in its own folder) may be visible.
    assert found == [], found
