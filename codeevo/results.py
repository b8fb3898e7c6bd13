"""What a run found, read through the lineage's read model (`codeevo best`, reports, export)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from codeevo.candidate import Candidate
from codeevo.errors import RunDirError
from codeevo.lineage.index import LineageIndex
from codeevo.lineage.store import GitLineageStore
from codeevo.runs import RunDir
from codeevo.stats import RunStats


def best_record(run_dir: Path) -> tuple[Candidate, str, dict[str, Any]]:
    """(best candidate, its program, run totals) read from the lineage alone."""
    run = RunDir.open(run_dir)
    with GitLineageStore.open(run.lineage_path) as store:
        records = store.records()
        index = LineageIndex.from_records(records)
        best = index.best()
        if best is None:
            raise RunDirError(f"{run_dir}: no successfully evaluated candidate yet")
        stats = RunStats.from_candidates(Candidate.model_validate(r) for r, _ in records)
        candidate = store.candidate(best.id)
        program = store.program(best.id)
    totals = {"candidates": stats.candidates, "evaluations": stats.evaluations,
              "tokens": stats.tokens, "cost": round(stats.cost, 6), **stats.totals()}
    return candidate, program, totals
