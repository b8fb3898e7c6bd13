"""The stand-ins for openevolve.evaluation_result and shinka.core behave as documented."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

STANDINS = Path(__file__).resolve().parents[2] / "codeevo" / "compat" / "standins"


@pytest.fixture
def standins() -> Iterator[None]:
    sys.path.insert(0, str(STANDINS))
    try:
        yield
    finally:
        sys.path.remove(str(STANDINS))
        for name in [m for m in sys.modules if m.split(".")[0] in ("openevolve", "shinka")]:
            del sys.modules[name]


def test_evaluation_result(standins: None) -> None:
    from openevolve.evaluation_result import EvaluationResult

    r = EvaluationResult(metrics={"combined_score": 0.5}, artifacts={"log": "ok", "b": b"xy"})
    assert r.to_dict() == {"combined_score": 0.5} and r.has_artifacts()
    assert r.get_artifact_size("b") == 2 and r.get_total_artifact_size() == 4
    assert EvaluationResult.from_dict({"a": 1.0}).artifacts == {}


def test_run_shinka_eval_writes_the_results_contract(standins: None, tmp_path: Path) -> None:
    from shinka.core import run_shinka_eval

    program = tmp_path / "prog.py"
    program.write_text("def exp(seed):\n    return seed * 2\n")
    out = tmp_path / "results"
    metrics, correct, error = run_shinka_eval(
        str(program), str(out), "exp", 3,
        validate_fn=lambda r: (r < 5, f"{r} too big"),
        aggregate_metrics_fn=lambda rs: {"combined_score": float(sum(rs)),
                                          "extra_data": {"raw": rs}})
    assert metrics["combined_score"] == 12.0 and not correct
    assert error == "Validation failed: 6 too big"
    assert json.loads((out / "correct.json").read_text()) == {"correct": False,
                                                             "error": error}
    saved = json.loads((out / "metrics.json").read_text())
    assert saved["num_valid_runs"] == 2 and saved["all_validation_errors"] == ["6 too big"]
    assert (out / "extra.pkl").is_file() and "extra_data" not in saved
    program.write_text("def exp(seed):\n    raise ValueError('boom')\n")
    metrics, correct, error = run_shinka_eval(str(program), str(tmp_path / "r2"), "exp", 1)
    assert not correct and error == "boom" and metrics["combined_score"] == 0.0
