"""Bring your own zoo: safetensors checkpoints + a user scorer, scored through LocalSandbox."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import torch
from conftest import PROBLEM
from safetensors.torch import save_file

from codeevo.config import RunConfig, deep_merge
from codeevo.problem import load_problem

SCORER = '''
import torch
from pathlib import Path

def load(folder):
    return torch.load(str(folder / "data" / "target.pt"))

def score(state, weights, split):
    # closer to the target (the sum of both expert deltas) is better; 1.0 = exact
    err = float((weights["w"] - state).abs().mean())
    return {"score": 1.0 / (1.0 + 10 * err), "worst": 1.0 / (1.0 + 20 * err)}
'''


def test_user_zoo_scores_with_fair_protocol(tmp_path: Path) -> None:
    from codeevo.evaluate import evaluate_program

    zoo = tmp_path / "my_zoo"
    (zoo / "experts").mkdir(parents=True)
    (zoo / "data").mkdir()
    base = torch.zeros(3, 3)
    save_file({"w": base}, str(zoo / "base.safetensors"))
    save_file({"w": base + 1.0}, str(zoo / "experts" / "a.safetensors"))
    save_file({"w": base + 2.0}, str(zoo / "experts" / "b.safetensors"))
    torch.save(base + 3.0, str(zoo / "data" / "target.pt"))
    (zoo / "evaluate.py").write_text(SCORER)

    problem = load_problem(PROBLEM)
    cfg = RunConfig.model_validate({"sandbox": {"kind": "local"}})
    ev = deep_merge(problem.config.evaluator.config, {"user_zoo": str(zoo)})
    ta = (PROBLEM / "baselines" / "task_arithmetic.py").read_text()
    r = asyncio.run(evaluate_program(problem, ta, cfg, evaluator_config=ev))
    assert r.status.value == "ok", (r.reason, r.artifacts)
    # task arithmetic gives 0.3·3 = 0.9; the λ grid (max 2.0) reaches 1.8 at best
    assert r.metrics["scale"] == 2.0
    assert r.score == pytest.approx(1.0 / (1.0 + 10 * 1.2), rel=1e-4)
    assert r.metrics["pretrained_acc"] < r.score
