"""Foreign folders scored through the real local sandbox: whole-file seeds, the cascade,
dict / EvaluationResult returns, the shared-process notice, the results-directory contract."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from codeevo.candidate import Status
from codeevo.config import RunConfig
from codeevo.errors import ConfigError
from codeevo.evaluate import evaluate_program
from codeevo.mutation.blocks import split
from codeevo.problem import find_problems, load_problem

from .conftest import (
    OE_EVALUATOR,
    OE_EXAMPLE,
    OE_SEED,
    OE_SUBPROCESS_EVALUATOR,
    SHINKA_EXAMPLE,
    codeevo,
    write,
)

LOCAL = RunConfig.model_validate({"sandbox": {"kind": "local"}})


def _score(folder: Path, program: str | None = None):  # type: ignore[no-untyped-def]
    problem = load_problem(folder)
    return asyncio.run(evaluate_program(problem, program or problem.seed_program, LOCAL))


def test_whole_file_seed_evolves_as_one_block(tmp_path: Path) -> None:
    folder = write(tmp_path / "oe", {"initial_program.py": OE_SEED,
                                      "evaluator.py": OE_EVALUATOR})
    problem = load_problem(folder)
    assert problem.origin is not None and problem.origin.whole_file
    lines = problem.seed_program.splitlines()
    assert lines[0] == "#!/usr/bin/env python3"  # the shebang stays first, outside the block
    assert lines[1] == "# EVOLVE-BLOCK-START" and lines[-1] == "# EVOLVE-BLOCK-END"
    (block,) = split(problem.seed_program).blocks
    assert "def value" in block and "X = 1.0" in block  # everything else is evolvable
    assert (folder / "initial_program.py").read_text() == OE_SEED  # the folder is unchanged
    result = _score(folder, problem.seed_program.replace("X = 1.0", "X = 2.5"))
    assert result.status == Status.OK and result.score == 2.5
    assert result.metrics["combined_score"] == 2.5
    assert result.artifacts["detail"] == "value() returned 2.5"
    assert result.artifacts["note"] == "x=2.5"  # a non-numeric metric becomes an artifact


def test_shared_process_notice_and_metadata(tmp_path: Path) -> None:
    shared = write(tmp_path / "shared", {"initial_program.py": OE_SEED,
                                          "evaluator.py": OE_EVALUATOR})
    apart = write(tmp_path / "apart", {"initial_program.py": OE_SEED,
                                        "evaluator.py": OE_SUBPROCESS_EVALUATOR})
    assert load_problem(shared).origin.shared_process  # type: ignore[union-attr]
    assert not load_problem(apart).origin.shared_process  # type: ignore[union-attr]
    assert _score(apart, load_problem(apart).seed_program.replace("1.0", "4.0")).score == 4.0

    out = tmp_path / "run"
    r = codeevo("run", str(shared), "--evals", "4", "--out", str(out), "--sandbox", "local")
    assert r.returncode == 0, r.stderr
    assert "shares the candidate's process" in r.stderr and "--sandbox docker" in r.stderr
    meta = json.loads((out / "run.json").read_text())
    assert meta["foreign"]["shared_process"] is True
    assert "shares the candidate's process" in meta["foreign"]["shared_process_notice"]
    notices = [json.loads(x) for x in (out / "events.jsonl").read_text().splitlines()]
    assert any("shares the candidate" in e.get("message", "") for e in notices
               if e["kind"] == "notice")
    r = codeevo("run", str(apart), "--evals", "3", "--out", str(tmp_path / "run2"),
                "--sandbox", "local")
    assert r.returncode == 0, r.stderr
    assert "shares the candidate's process" not in r.stderr


CASCADE = '''
def _x(path):
    ns = {}
    exec(open(path).read(), ns)
    return ns["X"]


def evaluate_stage1(program_path):
    return {"valid": 1.0, "combined_score": min(_x(program_path), 1.0)}


def evaluate_stage2(program_path):
    return {"combined_score": _x(program_path) * 2, "size": 0.25}


def evaluate_stage3(program_path):
    raise RuntimeError("stage 3 blew up")
'''


def test_cascade_thresholds_and_merged_metrics(tmp_path: Path) -> None:
    folder = write(tmp_path / "oe", {
        "initial_program.py": "# EVOLVE-BLOCK-START\nX = 0.2\n# EVOLVE-BLOCK-END\n",
        "evaluator.py": CASCADE,
        "config.yaml": "evaluator:\n  cascade_thresholds: [0.5, 1.5]\n  timeout: 20\n"})
    problem = load_problem(folder)
    assert [(s.name, s.threshold) for s in problem.config.stages] == [
        ("stage1", 0.5), ("stage2", 1.5), ("stage3", None)]
    low = _score(folder)  # stage 1 scores 0.2 < 0.5: the cascade stops there
    assert low.status == Status.OK and low.score == pytest.approx(0.2) and low.stage == "stage1"
    assert "below its threshold" in (low.reason or "")
    mid = _score(folder, problem.seed_program.replace("0.2", "0.7"))  # 1.4 < 1.5 after stage 2
    assert mid.score == pytest.approx(1.4) and mid.stage == "stage2"
    assert mid.metrics == {"valid": 1.0, "combined_score": 1.4, "size": 0.25}  # merged
    high = _score(folder, problem.seed_program.replace("0.2", "0.9"))
    assert high.status == Status.FAILED and high.stage == "stage3"
    assert "stage 3 blew up" in (high.reason or "")


def test_openevolve_fitness_without_combined_score(tmp_path: Path) -> None:
    folder = write(tmp_path / "oe", {
        "initial_program.py": OE_SEED,
        "evaluator.py": "def evaluate(p):\n    return {'a': 1.0, 'b': 0.5, 'error': 0.0,"
                        " 'width': 7.0}\n",
        "config.yaml": "database:\n  feature_dimensions: [width]\n"})
    result = _score(folder)
    assert result.score == pytest.approx(0.75)  # mean of a and b: features and error left out
    assert result.features["width"] == 7.0


def test_evaluator_problems_are_reported(tmp_path: Path) -> None:
    bad = write(tmp_path / "bad", {
        "initial_program.py": OE_SEED,
        "evaluator.py": "def evaluate(p):\n    return 42\n"})
    result = _score(bad)
    assert result.status == Status.FAILED and "not a dict or an EvaluationResult" in str(
        result.reason)
    nofn = write(tmp_path / "nofn", {"initial_program.py": OE_SEED,
                                      "evaluator.py": "def score(p):\n    return {}\n"})
    with pytest.raises(ConfigError, match="defines no evaluate"):
        load_problem(nofn)
    rust = write(tmp_path / "rust", {"initial_program.rs": "fn main() {}\n",
                                      "evaluator.py": "def evaluate(p):\n    return {}\n"})
    with pytest.raises(ConfigError, match="Python programs"):
        load_problem(rust)


def test_shinka_results_directory_contract(tmp_path: Path) -> None:
    problem = load_problem(SHINKA_EXAMPLE)
    assert problem.origin is not None and problem.origin.shared_process
    assert "twelve points" in problem.prompt  # TASK_SYS_MSG read from run_evo.py (not run)
    assert problem.config.stages[0].timeout == 60.0  # LocalJobConfig(time="00:01:00")
    seed = _score(SHINKA_EXAMPLE)
    assert seed.status == Status.OK and 0.1 < (seed.score or 0) < 0.3
    assert seed.metrics["closest_pair"] == seed.score  # public metrics are shown
    assert seed.metrics["private.runs"] == 3.0  # private ones are kept, hidden from prompts
    assert seed.metrics["num_valid_runs"] == 3.0
    assert "closest pair" in seed.artifacts["text_feedback"]  # use_text_feedback: true
    outside = problem.seed_program.replace("min(max(x, 0.0), 1.0)", "x + 2")
    bad = _score(SHINKA_EXAMPLE, outside)
    assert bad.status == Status.FAILED
    assert "outside the unit square" in (bad.reason or "")  # correct.json's error


def test_shinka_evaluator_without_main_block(tmp_path: Path) -> None:
    folder = write(tmp_path / "sh", {
        "initial.py": "# EVOLVE-BLOCK-START\ndef f():\n    return 3.0\n# EVOLVE-BLOCK-END\n",
        "evaluate.py": (
            "from shinka.core import run_shinka_eval\n\n"
            "def main(program_path, results_dir):\n"
            "    run_shinka_eval(program_path, results_dir, 'f', 2,\n"
            "                    get_experiment_kwargs=lambda i: {},\n"
            "                    aggregate_metrics_fn=lambda r: {'combined_score': sum(r)})\n")})
    assert _score(folder).score == 6.0


def test_find_problems_lists_foreign_folders() -> None:
    found = find_problems(OE_EXAMPLE.parent)
    assert OE_EXAMPLE.resolve() in found and SHINKA_EXAMPLE.resolve() in found
    r = codeevo("problems", "--json")
    names = {row["name"] for row in json.loads(r.stdout)}
    assert {"openevolve_knapsack", "shinka_spread", "circle_packing"} <= names


def test_imports_no_standin_provides_are_named_before_and_after(tmp_path: Path) -> None:
    """An evaluator importing a framework module the stand-ins lack (an LLM judge from
    shinka.llm) is named when the folder loads, and its failure says why."""
    folder = write(tmp_path / "sh", {
        "initial.py": "# EVOLVE-BLOCK-START\ndef f():\n    return 3.0\n# EVOLVE-BLOCK-END\n",
        "evaluate.py": (
            "import os\n"
            "from shinka.core import run_shinka_eval\n"
            "from shinka.llm import LLMClient\n\n"
            "def main(program_path, results_dir):\n"
            "    run_shinka_eval(program_path, results_dir, 'f', 1,\n"
            "                    aggregate_metrics_fn=lambda r: {'combined_score': r[0]})\n")})
    origin = load_problem(folder).origin
    assert origin is not None
    (note,) = [n for n in origin.notices() if "stand-ins" in n]
    assert note.startswith("evaluate.py:3: imports shinka.llm,")
    assert "run_shinka_eval" not in note.split("cover")[0]  # a provided import is not named
    result = _score(folder)
    assert result.status == Status.FAILED
    assert "No module named 'shinka.llm'" in (result.reason or "")
    assert "stand-ins cover" in (result.reason or "")
    ok = write(tmp_path / "ok", {"initial_program.py": OE_SEED, "evaluator.py": OE_EVALUATOR})
    assert not [n for n in load_problem(ok).origin.notices()  # type: ignore[union-attr]
                if "stand-ins" in n]
