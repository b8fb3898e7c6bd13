"""The report table: real evaluations of programs on a small custom zoo, both splits."""

from __future__ import annotations

import asyncio

import pytest
from conftest import PROBLEM

from codeevo.config import RunConfig
from codeevo.merging.report import ReportRow, markdown_table, score_programs
from codeevo.problem import load_problem

pytestmark = pytest.mark.slow


def test_markdown_table_shows_percentages_and_failures() -> None:
    rows = [ReportRow("ties", {"search": {"normalized_acc": 0.785, "gap_closed": 0.27,
                                          "worst_task": 0.59}}),
            ReportRow("broken", errors={"search": "failed: NaN"})]
    table = markdown_table(rows, ("search",))
    assert "| ties | 78.5 | 27.0 | 59.0 |" in table
    assert "| broken | failed: NaN | - | - |" in table


def test_score_programs_on_search_and_heldout() -> None:
    problem = load_problem(PROBLEM)
    # A small zoo (2 tasks, narrow, short recipes) keeps this test quick.
    small = {"width": 32, "pretrain": {"steps": 150}, "finetune": {"steps": 60}}
    cfg = problem.config.evaluator.config | {"zoo": small, "search": {"seeds": [7], "k": 2},
                                             "heldout": {"seeds": [8], "k": 2}}
    problem = type(problem)(problem.root, problem.config.model_copy(deep=True),
                            problem.seed_program, problem.prompt, problem.evaluator_dir)
    problem.config.evaluator.config = cfg
    programs = {n: (PROBLEM / "baselines" / f"{n}.py").read_text()
                for n in ("simple_average", "tsv_m")}
    run_cfg = RunConfig.model_validate({"sandbox": {"kind": "local"}})
    rows = asyncio.run(score_programs(problem, programs, run_cfg, ("search", "heldout")))
    assert [r.method for r in rows] == ["simple_average", "tsv_m"]
    for row in rows:
        assert not row.errors, row.errors
        assert set(row.results) == {"search", "heldout"}
        assert 0 < row.results["heldout"]["normalized_acc"] <= 1.2
