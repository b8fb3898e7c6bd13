"""Prompt building: task, parents with metrics and feedback, top programs, inspirations,
output formats, per-problem template overrides."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from codeevo.candidate import Candidate
from codeevo.config import ProblemConfig, StageConfig
from codeevo.mutation.base import ParentView, ProposalRequest
from codeevo.mutation.prompts import (
    build_messages,
    render_transcript,
    repair_message,
)
from codeevo.problem import Problem

PROGRAM = """import math


# EVOLVE-BLOCK-START
def f(x):
    return x


def g(x):
    return 2 * x
# EVOLVE-BLOCK-END
"""


def problem(templates: dict[str, str] | None = None) -> Problem:
    cfg = ProblemConfig(name="toy", stages=[StageConfig(name="main", function="evaluate")])
    return Problem(Path("/nonexistent"), cfg, PROGRAM, "Maximise f(3).\n", Path("/nonexistent"),
                   templates or {})


def view(cid: str, score: float, program: str = PROGRAM, **kw: object) -> ParentView:
    cand = Candidate(id=cid, seq=int(cid[1:]), score=score, metrics={"err": 0.25},
                     features={"code_length": 120.0})
    return ParentView(cand, program, **kw)  # type: ignore[arg-type]


def request(**kw: object) -> ProposalRequest:
    base = ProposalRequest(problem=problem(), parent=view("c000003", 1.5,
                           artifacts={"traceback": "Traceback ...\nZeroDivisionError"}))
    return replace(base, **kw)  # type: ignore[arg-type]


def test_diff_prompt_holds_every_section() -> None:
    req = request(top_programs=(view("c000001", 2.0, PROGRAM.replace("2 * x", "3 * x")),),
                  inspirations=(view("c000002", 0.5, PROGRAM.replace("2 * x", "x * x")),))
    system, user = build_messages(req, "diff")
    assert system["role"] == "system" and "EVOLVE-BLOCK-START" in system["content"]
    assert "Python programmer" in system["content"]
    text = user["content"]
    assert text.startswith("Maximise f(3).")
    assert "# Current program (score: 1.5, err: 0.25)" in text
    assert PROGRAM.rstrip() in text  # verbatim, blank lines kept (SEARCH must copy them)
    assert "## traceback\n```\nTraceback ...\nZeroDivisionError\n```" in text
    assert "# Top programs so far" in text and "return 3 * x" in text
    assert "diverse programs" in text and "return x * x" in text and "code_length=120" in text
    assert "<<<<<<< SEARCH" in text and text.index("SEARCH") > text.index("return x * x")
    assert "\x00" not in text


def test_empty_sections_leave_no_gaps() -> None:
    req = request(parent=view("c000003", 1.5))
    text = build_messages(req, "rewrite")[1]["content"]
    assert "Top programs" not in text and "feedback" not in text
    assert "\n\n\n# Output format" not in text
    assert "EVOLVE-BLOCKs (1 in all)" in text


def test_crossover_shows_both_parents() -> None:
    req = request(second_parent=view("c000007", 1.0, PROGRAM.replace("return x\n", "return -x\n"),
                                     artifacts={"feedback": "too small"}))
    text = build_messages(req, "crossover")[1]["content"]
    assert "# Program A (current program) (score: 1.5" in text
    assert "# Program B (second parent) (score: 1" in text and "return -x" in text
    assert "feedback on program B" in text and "too small" in text
    assert "Combine the best ideas of program A and program B" in text


def test_long_artifacts_are_cut_from_the_front() -> None:
    long = "x" * 10_000 + "THE END"
    text = build_messages(request(parent=view("c000003", 1.0, artifacts={"stdout": long})),
                          "diff")[1]["content"]
    assert "THE END" in text and "... (cut)" in text and text.count("x") < 4000


def test_problem_templates_override_defaults() -> None:
    over = {"system": "You are a $language golfer.",
            "user": "TASK: $task\nFORMAT: $format\nUNKNOWN: $nothing",
            "format_diff": "Send diffs please ($blocks block)."}
    req = request(problem=problem(over))
    system, user = build_messages(req, "diff")
    assert system["content"] == "You are a Python golfer."
    assert user["content"] == ("TASK: Maximise f(3).\nFORMAT: Send diffs please (1 block).\n"
                               "UNKNOWN: $nothing\n")
    repair = repair_message("diff", "block 1: not found", PROGRAM, over)
    assert "block 1: not found" in repair["content"]
    assert "Send diffs please" in repair["content"]


def test_transcript_is_markdown_of_every_message() -> None:
    msgs = build_messages(request(), "diff")
    text = render_transcript(msgs)
    assert text.startswith("## system\n\n") and "\n\n## user\n\nMaximise" in text
