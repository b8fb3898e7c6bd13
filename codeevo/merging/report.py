"""The baseline report: every baseline and a run's best (plus any extra programs), on the search
zoos and optionally the held-out suite, with bootstrap intervals over zoos.

Each program is scored by the problem's own evaluator through ``codeevo.evaluate``; the
held-out zoos are the same evaluator with ``{"split": "heldout"}`` merged into its config.
Data-free and data-assisted methods (those that read calibration data) are ranked in separate
tables, never together (``track_tables``).
Successful scores are cached under ``$CODEEVO_CACHE/report/``, keyed by the program, the
evaluator config and the evaluator's source files, so a second report (or a report on another
run of the same problem) only evaluates what is new. The
evaluator reports a score per zoo (``zoo<i>_normalized``); for every method the report gives
the mean with its 95 % bootstrap interval over zoos, and for every method that is not a
baseline its paired difference against each baseline on the same zoos (`intervals.py`).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from codeevo.config import RunConfig, deep_merge
from codeevo.lineage.rules import is_ok
from codeevo.merging.intervals import Interval, bootstrap_mean, paired_difference
from codeevo.merging.program import track as program_track
from codeevo.problem import Problem

COLUMNS = ("normalized_acc", "gap_closed", "worst_task")
TRACKS = ("data-free", "data-assisted")
_NAMES = {"normalized_acc": "norm. acc", "gap_closed": "gap closed", "worst_task": "worst task"}
_SPLITS = {"search": "search zoos", "heldout": "held-out suite"}


@dataclass
class ReportRow:
    """One method's results per split; `error` per split when it failed there."""

    method: str
    results: dict[str, dict[str, float]] = field(default_factory=dict)  # split -> metric
    errors: dict[str, str] = field(default_factory=dict)
    per_zoo: dict[str, list[float]] = field(default_factory=dict)  # split -> norm. acc per zoo
    baseline: bool = False
    track: str = "data-free"

    def interval(self, split: str) -> Interval | None:
        zoos = self.per_zoo.get(split)
        return bootstrap_mean(zoos) if zoos else None

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"method": self.method, "track": self.track,
                               "baseline": self.baseline,
                               "results": self.results, "errors": self.errors,
                               "per_zoo": self.per_zoo, "intervals": {}}
        for split in self.per_zoo:
            iv = self.interval(split)
            if iv is not None:
                out["intervals"][split] = iv.as_json()
        return out


@dataclass(frozen=True)
class Difference:
    """method − baseline on the same zoos of one split."""

    method: str
    baseline: str
    split: str
    interval: Interval
    wins: int  # zoos where the method scored higher

    def as_json(self) -> dict[str, Any]:
        return {"method": self.method, "baseline": self.baseline, "split": self.split,
                "wins": self.wins, **self.interval.as_json()}


def per_zoo_scores(metrics: dict[str, float]) -> list[float]:
    """The per-zoo normalized accuracies an evaluation reported, in zoo order."""
    n = int(metrics.get("zoos", 0))
    if not n:  # an evaluator without the count: take the consecutive zoo<i> keys
        while f"zoo{n}_normalized" in metrics:
            n += 1
    return [float(metrics[f"zoo{i}_normalized"]) for i in range(n)
            if f"zoo{i}_normalized" in metrics]


def differences(rows: list[ReportRow], split: str) -> list[Difference]:
    """Every non-baseline method against every baseline, where both scored the same zoos."""
    out = []
    for row in rows:
        if row.baseline or split not in row.per_zoo:
            continue
        for base in rows:
            a, b = row.per_zoo[split], base.per_zoo.get(split)
            if not base.baseline or not b or len(a) != len(b):
                continue
            wins = sum(x > y for x, y in zip(a, b, strict=True))
            out.append(Difference(row.method, base.method, split, paired_difference(a, b), wins))
    return out


def score_key(problem: Problem, program: str, evaluator_config: dict[str, Any]) -> str:
    """What a score depends on: the program, the evaluator config and the evaluator's code."""
    digest = hashlib.sha256()
    digest.update(program.encode())
    digest.update(json.dumps(evaluator_config, sort_keys=True, default=str).encode())
    for path in sorted(problem.evaluator_dir.rglob("*.py")):
        digest.update(path.name.encode() + path.read_bytes())
    return digest.hexdigest()[:32]


async def score_programs(
    problem: Problem,
    programs: dict[str, str],
    config: RunConfig,
    splits: tuple[str, ...] = ("search",),
    baselines: frozenset[str] = frozenset(),
    cache_dir: Path | None = None,
) -> list[ReportRow]:
    """Score each program (name -> source) on each split, one after another. With
    `cache_dir`, successful metrics are read from and written to it (one JSON file each)."""
    from codeevo.evaluate import evaluate_program

    rows = []
    base_cfg = problem.config.evaluator.config
    for name, program in programs.items():
        row = ReportRow(name, baseline=name in baselines, track=program_track(program))
        for split in splits:
            cfg = deep_merge(base_cfg, {"split": split})
            cached = cache_dir / f"{score_key(problem, program, cfg)}.json" if cache_dir else None
            metrics: dict[str, float] | None = None
            if cached is not None and cached.is_file():
                metrics = {k: float(v) for k, v in json.loads(cached.read_text()).items()}
            if metrics is None:
                result = await evaluate_program(problem, program, config, evaluator_config=cfg)
                if not is_ok(result.status, result.score):  # the read model's rule
                    row.errors[split] = f"{result.status.value}: {result.reason or ''}".strip()
                    continue
                metrics = dict(result.metrics)
                if cached is not None:
                    cached.parent.mkdir(parents=True, exist_ok=True)
                    cached.write_text(json.dumps(metrics) + "\n")
            row.results[split] = {k: float(metrics.get(k, 0.0)) for k in COLUMNS}
            row.per_zoo[split] = per_zoo_scores(metrics)
            # The evaluator knows whether calibration data was actually read.
            row.track = TRACKS[int(bool(metrics.get("data_assisted")))]
        rows.append(row)
    return rows


def _pct(x: float, signed: bool = False) -> str:
    return f"{100 * x:+.1f}" if signed else f"{100 * x:.1f}"


def markdown_table(rows: list[ReportRow], splits: tuple[str, ...]) -> str:
    """Per split: each method's mean with its 95 % interval over zoos and the spread, then the
    paired differences against the baselines. Percentages; failures show as their status."""
    parts = []
    for split in splits:
        n = max((len(r.per_zoo.get(split, [])) for r in rows), default=0)
        head = ["method", "norm. acc", "95% interval", "sd over zoos", "worst zoo",
                _NAMES["gap_closed"], _NAMES["worst_task"]]
        lines = [f"{_SPLITS.get(split, split)} ({n} zoos): mean over zoos, 95% bootstrap "
                 "interval", "", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        for row in rows:
            iv = row.interval(split)
            if split not in row.results or iv is None:
                cells = [row.method, row.errors.get(split, "-")[:40]] + ["-"] * (len(head) - 2)
            else:
                zoos = row.per_zoo[split]
                sd = (sum((z - iv.mean) ** 2 for z in zoos) / (len(zoos) - 1)) ** 0.5 \
                    if len(zoos) > 1 else 0.0
                res = row.results[split]
                cells = [row.method, _pct(iv.mean), f"{_pct(iv.low)} – {_pct(iv.high)}",
                         _pct(sd), _pct(min(zoos)), _pct(res["gap_closed"]),
                         _pct(res["worst_task"])]
            lines.append("| " + " | ".join(cells) + " |")
        diffs = differences(rows, split)
        if diffs:
            lines += ["", "paired difference on the same zoos (method − baseline, points):", "",
                      "| method | baseline | Δ norm. acc | 95% interval | better on |",
                      "|---|---|---|---|---|"]
            for d in diffs:
                iv = d.interval
                mark = " ✓" if iv.low > 0 else (" ✗" if iv.high < 0 else "")
                lines.append(f"| {d.method} | {d.baseline} | {_pct(iv.mean, True)}{mark} | "
                             f"{_pct(iv.low, True)} – {_pct(iv.high, True)} | "
                             f"{d.wins}/{iv.n} zoos |")
        parts.append("\n".join(lines))
    return "\n\n".join(parts)


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


def report_json(rows: list[ReportRow], splits: tuple[str, ...]) -> dict[str, Any]:
    """Rows and paired differences; a difference never pairs methods of different tracks."""
    diffs = [d.as_json() for track in TRACKS for s in splits
             for d in differences([r for r in rows if r.track == track], s)]
    return {"rows": [r.as_json() for r in rows], "differences": diffs}


def run_report(
    run_dir: Path,
    *,
    heldout: bool,
    sandbox: str | None = None,
    extra: dict[str, str] | None = None,
    cache: bool = True,
) -> list[ReportRow]:
    """Rows for every baseline of the run's problem, the run's best program and `extra`
    programs (name -> source); scores cached unless `cache` is False."""
    from codeevo.assets import cache_root
    from codeevo.problem import load_problem
    from codeevo.results import best_record
    from codeevo.runs import RunDir

    run = RunDir.open(run_dir)
    config = run.load_config()
    problem = load_problem(run.problem_path(), run.problem_config_file()).for_run(config)
    if sandbox:
        config.sandbox.kind = sandbox  # type: ignore[assignment]
    best, program, _ = best_record(run_dir)
    programs = dict(problem.baseline_programs())
    baselines = frozenset(programs)
    programs[f"run best ({best.id})"] = program
    programs.update(extra or {})
    splits = ("search", "heldout") if heldout else ("search",)
    cache_dir = cache_root() / "report" if cache else None
    return asyncio.run(score_programs(problem, programs, config, splits, baselines, cache_dir))
