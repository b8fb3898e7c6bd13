"""`codeevo import DIR --out PROBLEM_DIR` writes a native problem that scores the same."""

from __future__ import annotations

import asyncio
from pathlib import Path

from codeevo.config import RunConfig
from codeevo.evaluate import evaluate_program
from codeevo.mutation.blocks import split
from codeevo.problem import load_problem

from .conftest import OE_EXAMPLE, SHINKA_EXAMPLE, codeevo

LOCAL = RunConfig.model_validate({"sandbox": {"kind": "local"}})


def test_import_openevolve_folder(tmp_path: Path) -> None:
    out = tmp_path / "knapsack"
    r = codeevo("import", str(OE_EXAMPLE), "--out", str(out))
    assert r.returncode == 0, r.stderr
    assert "checkpoint_interval" in r.stderr  # the warning block is shown
    text = (out / "problem.yaml").read_text()
    assert text.startswith("# Imported by `codeevo import`")
    assert "#   config.yaml:3: checkpoint_interval" in text
    native = load_problem(out)
    assert native.origin is None and native.config.evaluator.shares_candidate_process
    assert len(split(native.seed_program).blocks) == 1  # the markers were written
    assert native.notices() and "shares the candidate's process" in native.notices()[0]
    foreign = load_problem(OE_EXAMPLE)
    assert native.config.defaults == foreign.config.defaults
    a = asyncio.run(evaluate_program(native, native.seed_program, LOCAL))
    b = asyncio.run(evaluate_program(foreign, foreign.seed_program, LOCAL))
    assert a.status.value == "ok" and a.score == b.score
    assert a.metrics.keys() == b.metrics.keys()  # (timings differ)
    # the original folder is untouched, and a second import refuses to overwrite
    assert "# EVOLVE-BLOCK-START" not in (OE_EXAMPLE / "initial_program.py").read_text()
    again = codeevo("import", str(OE_EXAMPLE), "--out", str(out))
    assert again.returncode == 2 and "not empty" in again.stderr


def test_import_shinka_folder_and_bad_sources(tmp_path: Path) -> None:
    out = tmp_path / "spread"
    assert codeevo("import", str(SHINKA_EXAMPLE), "--out", str(out)).returncode == 0
    native = load_problem(out)
    assert "twelve points" in native.prompt
    r = codeevo("eval", str(out), "--sandbox", "local", "--json")
    assert r.returncode == 0, r.stderr
    r = codeevo("import", str(out), "--out", str(tmp_path / "x"))
    assert r.returncode == 2 and "not an OpenEvolve folder" in r.stderr
