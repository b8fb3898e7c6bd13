"""Circle packing end to end through LocalSandbox, and its exact verifier on its own."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

from codeevo.candidate import EvalResult, Status
from codeevo.config import SandboxConfig
from codeevo.problem import load_problem
from codeevo.sandbox.base import SandboxJob
from codeevo.sandbox.local import LocalSandbox

ROOT = Path(__file__).resolve().parents[2]
PROBLEM = load_problem(ROOT / "problems" / "circle_packing")


def _evaluator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("cp_evaluator",
                                                  PROBLEM.evaluator_dir / "evaluator.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


EV = _evaluator()

# Two big circles that touch exactly (d = 0.5 = r1 + r2), and 24 small ones in a row above.
TOUCHING = """
def run_packing():
    centers = [(0.25, 0.25), (0.75, 0.25)] + [((i + 0.5) / 24, 0.9) for i in range(24)]
    radii = [0.25, R2] + [0.5 / 24 * 0.99] * 24
    return centers, radii
"""


async def score(program: str) -> EvalResult:
    job = SandboxJob(program=program, entry="initial.py", evaluator_dir=PROBLEM.evaluator_dir,
                     evaluator_module=PROBLEM.config.evaluator.module,
                     stages=tuple(PROBLEM.config.stages),
                     evaluator_config=PROBLEM.config.evaluator.config)
    sandbox = LocalSandbox(SandboxConfig(timeout_slack_s=5))
    try:
        return await sandbox.evaluate(job)
    finally:
        await sandbox.close()  # its warm runner must not outlive the test's event loop


async def test_seed_program_scores() -> None:
    result = await score(PROBLEM.seed_program)
    assert result.status == Status.OK and result.stage == "full", result
    assert result.score is not None and 1.5 < result.score < 2.2
    assert result.metrics["n_circles"] == 26 and result.metrics["min_radius"] > 0
    assert 0 <= result.features["radius_spread"] <= 1


async def test_exactly_touching_circles_are_valid() -> None:
    result = await score(TOUCHING.replace("R2", "0.25"))
    assert result.status == Status.OK and result.stage == "full", result
    assert result.score == pytest.approx(0.5 + 0.5 * 0.99)


async def test_overlap_by_1e15_scores_zero_with_the_reason() -> None:
    result = await score(TOUCHING.replace("R2", "0.25 + 1e-15"))
    assert result.status == Status.OK and result.stage == "validity"
    assert result.score == 0.0
    assert "circles 0 and 1 overlap" in result.artifacts["invalid"]
    assert "circle 1: crosses x = 1" in result.artifacts["invalid"]


async def test_overlapping_packing_scores_zero() -> None:
    program = "def run_packing():\n    return [(0.5, 0.5)] * 26, [0.1] * 26\n"
    result = await score(program)
    assert result.score == 0.0 and result.stage == "validity"
    assert "overlap" in (result.reason or "")
    assert "... and" in result.artifacts["invalid"]  # 325 pairs: only the first are listed


async def test_numpy_result_and_bad_shapes() -> None:
    ok = await score("import numpy as np\ndef run_packing():\n"
                     "    c = np.array([[0.1 + 0.03 * i, 0.5] for i in range(26)])\n"
                     "    return c, np.full(26, 0.01)\n")
    assert ok.status == Status.OK and ok.score == pytest.approx(0.26), ok
    bad = await score("def run_packing():\n    return [(0.5, 0.5)], [0.1]\n")
    assert bad.score == 0.0 and "26" in (bad.reason or "")


async def test_crashing_candidate_is_failed() -> None:
    result = await score("def run_packing():\n    raise RuntimeError('nope')\n")
    assert result.status == Status.FAILED and "nope" in (result.reason or "")


@pytest.mark.parametrize(
    "centers,radii,needle",
    [
        ([(0.1, 0.5)], [0.1 + 2**-55], "crosses x = 0"),
        ([(0.5, 0.9)], [0.1 + 2**-52], "crosses y = 1"),
        ([(0.5, 0.5)], [0.0], "not positive"),
        ([(0.3, 0.5), (0.5, 0.5)], [0.1, 0.1 + 2**-54], "circles 0 and 1 overlap"),
    ],
)
def test_exact_verifier_has_zero_tolerance(centers: list[tuple[float, float]],
                                           radii: list[float], needle: str) -> None:
    problems = EV.exact_violations(centers, radii)
    assert any(needle in p for p in problems), problems


def test_exact_verifier_accepts_exact_contact() -> None:
    assert EV.exact_violations([(0.25, 0.5), (0.75, 0.5)], [0.25, 0.25]) == []


def test_parse_rejects_non_numbers() -> None:
    n = 2
    assert isinstance(EV.parse_packing([[[0.1, 0.1], [0.2, "x"]], [0.1, 0.1]], n), str)
    assert isinstance(EV.parse_packing([[[0.1, 0.1], [0.2, 0.2]], [0.1, float("nan")]], n), str)
    assert isinstance(EV.parse_packing([[[0.1, True], [0.2, 0.2]], [0.1, 0.1]], n), str)
    assert isinstance(EV.parse_packing([[[0.1, 10**400], [0.2, 0.2]], [0.1, 0.1]], n), str)
    assert EV.parse_packing([[[0, 1], [0.2, 0.2]], [0.1, 0.1]], n) == (
        [(0.0, 1.0), (0.2, 0.2)], [0.1, 0.1])
