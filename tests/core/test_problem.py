from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from codeevo.errors import ConfigError
from codeevo.problem import find_problems, load_problem

SEED = """import math

# EVOLVE-BLOCK-START
def value():
    return 1.0
# EVOLVE-BLOCK-END
"""
EVALUATOR = "def full(ctx):\n    return {'score': 1.0}\n"


def make_problem(root: Path, yaml_text: str | None = None) -> Path:
    prob = root / "problems" / "toy"
    prob.mkdir(parents=True)
    (root / "evaluators" / "toy").mkdir(parents=True)
    (root / "evaluators" / "toy" / "evaluator.py").write_text(EVALUATOR)
    (prob / "initial.py").write_text(SEED)
    (prob / "prompt.md").write_text("make value() big\n")
    (prob / "problem.yaml").write_text(
        yaml_text
        or "name: toy\ndescription: a toy\nstages:\n  - {name: full, function: full}\n"
    )
    return prob


def test_loads_valid_problem(tmp_path: Path) -> None:
    p = load_problem(make_problem(tmp_path))
    assert p.name == "toy" and p.entry_name == "initial.py"
    assert p.evaluator_dir == (tmp_path / "evaluators" / "toy").resolve()
    assert find_problems(tmp_path / "problems") == [p.root]


def test_unknown_key_in_problem_yaml(tmp_path: Path) -> None:
    prob = make_problem(tmp_path, "name: toy\nstages:\n  - {name: full, function: full}\n"
                        "featurez: []\n")
    with pytest.raises(ConfigError, match=r"problem.yaml:4: featurez: unknown key"):
        load_problem(prob)


def test_missing_stage_function(tmp_path: Path) -> None:
    prob = make_problem(tmp_path, "name: toy\nstages:\n  - {name: full, function: nope}\n")
    with pytest.raises(ConfigError, match="function 'nope' is not defined"):
        load_problem(prob)


def test_seed_without_markers(tmp_path: Path) -> None:
    prob = make_problem(tmp_path)
    (prob / "initial.py").write_text("x = 1\n")
    with pytest.raises(ConfigError, match="initial.py: no '# EVOLVE-BLOCK-START'"):
        load_problem(prob)


def test_seed_syntax_error_names_line(tmp_path: Path) -> None:
    prob = make_problem(tmp_path)
    (prob / "initial.py").write_text(SEED + "def broken(:\n")
    with pytest.raises(ConfigError, match=r"initial.py:7: seed program does not parse"):
        load_problem(prob)


def test_missing_evaluator_folder(tmp_path: Path) -> None:
    prob = make_problem(tmp_path)
    shutil.rmtree(tmp_path / "evaluators")
    with pytest.raises(ConfigError, match="evaluator: folder"):
        load_problem(prob)


def test_bad_feature_range(tmp_path: Path) -> None:
    prob = make_problem(tmp_path, "name: toy\nstages:\n  - {name: full, function: full}\n"
                        "features:\n  - {name: x, low: 1, high: 0}\n")
    with pytest.raises(ConfigError, match="features.0"):
        load_problem(prob)


def test_repo_problems_all_load() -> None:
    root = Path(__file__).resolve().parents[2] / "problems"
    found = find_problems(root)
    assert found, "the repository ships problems"
    for path in found:
        load_problem(path)
