"""An assets manifest's ``time_scale`` multiplies the stage timeouts (a held-out split of more
zoos than the search split gets as much time per zoo), through the real local sandbox."""

from __future__ import annotations

import asyncio
import json
import textwrap
from pathlib import Path

import pytest

from codeevo.assets import time_scale, with_time_scale
from codeevo.config import RunConfig
from codeevo.evaluate import evaluate_program
from codeevo.problem import load_problem

PREPARE = '''
import json
from pathlib import Path


def prepare(config, cache_dir):
    out = Path(cache_dir) / "scale-test" / str(config["scale"])
    out.mkdir(parents=True, exist_ok=True)
    (out / "manifest.json").write_text(json.dumps({"time_scale": config["scale"]}))
    return out
'''

EVALUATOR = '''
import time


def fitness(ctx):
    time.sleep(1.0)  # twice the stage's own timeout
    return {"score": 1.0}
'''


def _problem(root: Path) -> Path:
    folder = root / "slow"
    (folder / "ev").mkdir(parents=True)
    (folder / "problem.yaml").write_text(textwrap.dedent("""\
        name: slow
        entry: initial.py
        evaluator: {path: ev, module: evaluator, config: {scale: 1}}
        stages:
          - {name: fitness, function: fitness, timeout: 0.5}
        sandbox_profile: local
        """))
    (folder / "initial.py").write_text("# EVOLVE-BLOCK-START\nX = 1\n# EVOLVE-BLOCK-END\n")
    (folder / "prompt.md").write_text("make it better\n")
    (folder / "ev" / "prepare.py").write_text(PREPARE)
    (folder / "ev" / "evaluator.py").write_text(EVALUATOR)
    return folder


@pytest.mark.parametrize(("scale", "status"), [(1, "timeout"), (8, "ok")])
def test_stage_timeouts_follow_the_assets_time_scale(tmp_path: Path, scale: int, status: str,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CODEEVO_CACHE", str(tmp_path / "cache"))
    problem = load_problem(_problem(tmp_path))
    config = RunConfig.model_validate({"sandbox": {"kind": "local"}})
    result = asyncio.run(evaluate_program(problem, problem.seed_program, config,
                                          evaluator_config={"scale": scale}))
    assert result.status.value == status, result.reason


def test_time_scale_reads_only_a_sane_declared_factor(tmp_path: Path) -> None:
    problem = load_problem(_problem(tmp_path))
    assert time_scale(None) == 1.0 and time_scale(tmp_path) == 1.0  # no manifest
    for value, want in ((2.5, 2.5), (0.5, 1.0), ("9", 1.0), (None, 1.0)):
        (tmp_path / "manifest.json").write_text(json.dumps({"time_scale": value}))
        assert time_scale(tmp_path) == want
    (tmp_path / "manifest.json").write_text(json.dumps({"time_scale": 3}))
    scaled = with_time_scale(problem, tmp_path)
    assert [s.timeout for s in scaled.config.stages] == [1.5]
    assert [s.timeout for s in problem.config.stages] == [0.5]  # the problem is left as it was
