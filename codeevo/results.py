"""What a run found, read from its lineage alone (used by `codeevo best`, reports, export)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from codeevo.candidate import Candidate, Status
from codeevo.errors import RunDirError
from codeevo.lineage.store import GitLineageStore
from codeevo.runs import RunDir
from codeevo.stats import RunStats


def best_record(run_dir: Path) -> tuple[Candidate, str, dict[str, Any]]:
    """(best candidate, its program, run totals) read from the lineage alone."""
    run = RunDir.open(run_dir)
    store = GitLineageStore.open(run.lineage_path)
    try:
        cands = list(store.candidates())
        stats = RunStats.from_candidates(cands)
        ok = [c for c in cands if c.status == Status.OK and c.score is not None]
        if not ok:
            raise RunDirError(f"{run_dir}: no successfully evaluated candidate yet")
        best = max(ok, key=lambda c: (c.score, -c.seq))
        program = store.program(best.id)
    finally:
        store.close()
    totals = {"candidates": stats.candidates, "evaluations": stats.evaluations,
              "tokens": stats.tokens, "cost": round(stats.cost, 6), **stats.totals()}
    return best, program, totals
