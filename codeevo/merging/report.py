"""The baseline table: every baseline and a run's best, on the search (and held-out) zoos.

Each program is scored by the problem's own evaluator through ``codeevo.evaluate``; the
held-out zoos are the same evaluator with ``{"split": "heldout"}`` merged into its config.
Data-free and data-assisted methods (those that read calibration data) are ranked in separate
tables, never together (``track_tables``).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from codeevo.config import RunConfig, deep_merge
from codeevo.merging.program import track as program_track
from codeevo.problem import Problem

COLUMNS = ("normalized_acc", "gap_closed", "worst_task")
TRACKS = ("data-free", "data-assisted")


@dataclass
class ReportRow:
    """One method's results per split (split -> metric -> value); `error` when it failed."""

    method: str
    results: dict[str, dict[str, float]] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    track: str = "data-free"

    def as_json(self) -> dict[str, Any]:
        return {"method": self.method, "track": self.track, "results": self.results,
                "errors": self.errors}


async def score_programs(
    problem: Problem,
    programs: dict[str, str],
    config: RunConfig,
    splits: tuple[str, ...] = ("search",),
) -> list[ReportRow]:
    """Score each program (name -> source) on each split, one after another."""
    from codeevo.evaluate import evaluate_program

    rows = []
    base_cfg = problem.config.evaluator.config
    for name, program in programs.items():
        row = ReportRow(name, track=program_track(program))
        for split in splits:
            cfg = deep_merge(base_cfg, {"split": split})
            result = await evaluate_program(problem, program, config, evaluator_config=cfg)
            if result.status.value == "ok" and result.score is not None:
                row.results[split] = {k: float(result.metrics.get(k, 0.0)) for k in COLUMNS}
                # The evaluator knows whether calibration data was actually read.
                row.track = TRACKS[int(bool(result.metrics.get("data_assisted")))]
            else:
                row.errors[split] = f"{result.status.value}: {result.reason or ''}".strip()
        rows.append(row)
    return rows


def markdown_table(rows: list[ReportRow], splits: tuple[str, ...]) -> str:
    """Percentages, one column per (split, metric); failures show as their status."""
    names = {"normalized_acc": "norm. acc", "gap_closed": "gap closed", "worst_task": "worst task"}
    head = ["method"] + [f"{s}: {names[c]}" for s in splits for c in COLUMNS]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row in rows:
        cells = [row.method]
        for s in splits:
            if s in row.results:
                cells += [f"{100 * row.results[s][c]:.1f}" for c in COLUMNS]
            else:
                cells += [row.errors.get(s, "-")[:40]] + ["-"] * (len(COLUMNS) - 1)
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def track_tables(rows: list[ReportRow], splits: tuple[str, ...]) -> str:
    """One table per track, each ranked by the first split's normalized accuracy (failures
    last); data-free and data-assisted methods never share a table."""
    out = []
    for track in TRACKS:
        group = [r for r in rows if r.track == track]
        if not group:
            continue
        group.sort(key=lambda r: -r.results.get(splits[0], {}).get("normalized_acc", -1.0))
        out.append(f"{track} methods\n\n" + markdown_table(group, splits))
    return "\n\n".join(out)


def run_report(run_dir: Path, *, heldout: bool, sandbox: str | None = None) -> list[ReportRow]:
    """Rows for every baseline of the run's problem and the run's best program."""
    from codeevo.problem import load_problem
    from codeevo.results import best_record
    from codeevo.runs import RunDir

    run = RunDir.open(run_dir)
    problem = load_problem(run.problem_path())
    config = run.load_config()
    if sandbox:
        config.sandbox.kind = sandbox  # type: ignore[assignment]
    best, program, _ = best_record(run_dir)
    programs = dict(problem.baseline_programs())
    programs[f"run best ({best.id})"] = program
    splits = ("search", "heldout") if heldout else ("search",)
    return asyncio.run(score_programs(problem, programs, config, splits))
