"""What the read-only commands print: `best` piped is the program and nothing else, `report`
says when it does not apply, `eval --help` lists only what eval uses."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CP = ROOT / "problems" / "circle_packing"


def codeevo(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "codeevo", *args], capture_output=True,
                          text=True, timeout=300, cwd=ROOT, env=env)


@pytest.fixture(scope="module")
def cp_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    run = tmp_path_factory.mktemp("out") / "cp"
    r = codeevo("run", str(CP), "--evals", "6", "--seed", "1", "--sandbox", "local",
                "--out", str(run), "--quiet")
    assert r.returncode == 0, r.stderr
    yield run


def test_best_piped_is_the_program_exactly(cp_run: Path, tmp_path: Path) -> None:
    program = json.loads(codeevo("best", str(cp_run), "--json").stdout)["program"]
    piped = codeevo("best", str(cp_run))  # stdout is a pipe, not a terminal
    assert piped.returncode == 0
    assert piped.stdout == program  # no line numbers, no 80-column cut, no summary
    assert "score" in piped.stderr  # the summary went to stderr
    out = tmp_path / "best.py"
    r = codeevo("best", str(cp_run), "--out", str(out))
    assert r.returncode == 0 and out.read_text() == program and r.stdout == ""
    assert f"program written to {out}" in r.stderr
    r = codeevo("best", str(cp_run), "--out", str(tmp_path / "no" / "such" / "dir.py"))
    assert r.returncode == 2 and "cannot write" in r.stderr and "Traceback" not in r.stderr


def test_report_on_a_non_merge_run_says_it_does_not_apply(cp_run: Path) -> None:
    r = codeevo("report", str(cp_run))
    assert r.returncode == 2
    assert "does not apply" in r.stderr and "circle_packing" in r.stderr
    assert r.stdout == ""


def test_eval_help_lists_only_what_eval_uses() -> None:
    text = codeevo("eval", "--help").stdout
    for flag in ("--program", "--evaluator-set", "--sandbox", "--config", "--set"):
        assert flag in text
    for flag in ("--islands", "--proposal-slots", "--eval-slots", "--max-in-flight",
                 "--model", "--api-base", "--evals", "--max-cost"):
        assert flag not in text, flag


def test_problems_lists_the_sandbox_auto_picks() -> None:
    import asyncio

    from codeevo.config import RunConfig
    from codeevo.problem import load_problem
    from codeevo.sandbox.select import make_sandbox

    rows = json.loads(codeevo("problems", "--json").stdout)
    assert rows
    for row in rows:
        sandbox, how = make_sandbox(RunConfig(), load_problem(row["path"]))
        try:
            assert row["sandbox"] == sandbox.name, (row, how)
        finally:
            asyncio.run(sandbox.close())
