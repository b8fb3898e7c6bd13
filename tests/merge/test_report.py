"""The report table: real evaluations of programs on a small custom zoo, both splits."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from conftest import PROBLEM

from codeevo.config import RunConfig
from codeevo.merging.report import (
    ReportRow,
    differences,
    markdown_table,
    per_zoo_scores,
    report_json,
    score_programs,
)
from codeevo.problem import load_problem


def _row(name: str, zoos: list[float], baseline: bool = True) -> ReportRow:
    mean = sum(zoos) / len(zoos)
    return ReportRow(name, {"search": {"normalized_acc": mean, "gap_closed": 0.27,
                                       "worst_task": 0.59}},
                     per_zoo={"search": zoos}, baseline=baseline)


def test_markdown_table_shows_intervals_differences_and_failures() -> None:
    rows = [_row("ties", [0.70, 0.80, 0.85]), _row("tsv_m", [0.80, 0.86, 0.90]),
            ReportRow("broken", errors={"search": "failed: NaN"}, baseline=True),
            _row("run best (c000042)", [0.82, 0.88, 0.93], baseline=False)]
    table = markdown_table(rows, ("search",))
    assert "search zoos (3 zoos)" in table
    assert "| ties | 78.3 | 70.0 – 85.0 | 7.6 | 70.0 | 27.0 | 59.0 |" in table
    assert "| broken | failed: NaN | - | - | - | - | - |" in table
    # Paired differences: only the non-baseline method, against every baseline that scored.
    assert "| run best (c000042) | tsv_m | +2.3 ✓ | +2.0 – +3.0 | 3/3 zoos |" in table
    assert "| run best (c000042) | ties |" in table and "| broken |" not in table.split(
        "paired difference")[1]
    diffs = differences(rows, "search")
    assert [(d.baseline, d.wins) for d in diffs] == [("ties", 3), ("tsv_m", 3)]
    data = report_json(rows, ("search",))
    assert data["differences"][1]["baseline"] == "tsv_m"
    assert data["rows"][0]["intervals"]["search"]["n"] == 3


def test_per_zoo_scores_read_the_evaluators_metrics() -> None:
    metrics = {"zoos": 3.0, "zoo0_normalized": 0.7, "zoo1_normalized": 0.8,
               "zoo2_normalized": 0.9, "zoo0_scale": 1.0}
    assert per_zoo_scores(metrics) == [0.7, 0.8, 0.9]
    del metrics["zoos"]
    assert per_zoo_scores(metrics) == [0.7, 0.8, 0.9]
    assert per_zoo_scores({"normalized_acc": 0.5}) == []


@pytest.mark.slow
def test_score_programs_on_search_and_heldout(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    problem = load_problem(PROBLEM)
    # A small zoo (2 tasks, narrow, short recipes) keeps this test quick.
    small = {"width": 32, "pretrain": {"steps": 150}, "finetune": {"steps": 60}}
    cfg = problem.config.evaluator.config | {"zoo": small, "search": {"seeds": [7], "k": 2},
                                             "heldout": {"seeds": [8, 9], "k": 2}}
    problem = type(problem)(problem.root, problem.config.model_copy(deep=True),
                            problem.seed_program, problem.prompt, problem.evaluator_dir)
    problem.config.evaluator.config = cfg
    programs = {n: (PROBLEM / "baselines" / f"{n}.py").read_text()
                for n in ("simple_average", "tsv_m")}
    run_cfg = RunConfig.model_validate({"sandbox": {"kind": "local"}})
    rows = asyncio.run(score_programs(problem, programs, run_cfg, ("search", "heldout"),
                                      baselines=frozenset({"simple_average"}),
                                      cache_dir=tmp_path))
    assert [r.method for r in rows] == ["simple_average", "tsv_m"]
    for row in rows:
        assert not row.errors, row.errors
        assert set(row.results) == {"search", "heldout"}
        assert 0 < row.results["heldout"]["normalized_acc"] <= 1.2
        assert len(row.per_zoo["heldout"]) == 2  # one score per held-out zoo
        assert row.results["heldout"]["normalized_acc"] == pytest.approx(
            sum(row.per_zoo["heldout"]) / 2)
    assert [d.baseline for d in differences(rows, "heldout")] == ["simple_average"]
    assert len(list(tmp_path.glob("*.json"))) == 4  # two programs, two splits

    # A second report reads every score from the cache: nothing is evaluated again.
    import codeevo.evaluate

    async def no_evaluation(*args: object, **kwargs: object) -> None:
        raise AssertionError("evaluated although cached")

    monkeypatch.setattr(codeevo.evaluate, "evaluate_program", no_evaluation)
    again = asyncio.run(score_programs(problem, programs, run_cfg, ("search", "heldout"),
                                       baselines=frozenset({"simple_average"}),
                                       cache_dir=tmp_path))
    assert [(r.results, r.per_zoo) for r in again] == [(r.results, r.per_zoo) for r in rows]


def test_report_names_an_unreadable_program(tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    from codeevo.cli import main

    missing = tmp_path / "mine.py"
    assert main(["report", str(tmp_path), "--program", str(missing)]) == 2
    assert f"--program {missing}: cannot read" in capsys.readouterr().err
