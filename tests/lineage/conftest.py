"""Shared helpers: candidates and a small hand-built lineage, recorded in a real git repo."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

from codeevo.candidate import Candidate, Status, candidate_id
from codeevo.lineage.store import GitLineageStore


def cand(seq: int, parents: tuple[int, ...] = (), **kw: Any) -> Candidate:
    """A candidate c<seq> whose parents are given by seq; OK unless told otherwise."""
    fields: dict[str, Any] = {
        "operator": "seed" if not parents else "diff",
        "status": Status.OK,
        "score": float(seq),
    }
    fields.update(kw)
    return Candidate(
        id=candidate_id(seq), seq=seq, parents=[candidate_id(p) for p in parents], **fields
    )


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", f"--git-dir={repo}", *args], capture_output=True, text=True, check=True
    ).stdout


# The hand-built lineage (seq: parents, operator, status, score):
#   1 seed 1.0          2 diff(1) 2.0      3 diff(1) failed@stage1     4 ast(2) 1.5
#   5 cross(2,4) 3.0    6 diff(5) rejected@parse                       7 diff(5) 2.5
#   8 ast(4) timeout
HAND_BUILT: list[Candidate] = [
    cand(1, island=0),
    cand(2, (1,), score=2.0, model="m/a"),
    cand(3, (1,), status=Status.FAILED, score=None, stage="stage1", reason="boom"),
    cand(4, (2,), operator="ast", score=1.5, island=1),
    cand(5, (2, 4), operator="crossover", score=3.0),
    cand(6, (5,), status=Status.REJECTED, score=None, stage="parse", reason="syntax"),
    cand(7, (5,), score=2.5),
    cand(8, (4,), operator="ast", status=Status.TIMEOUT, score=None, stage="stage2"),
]


def record_all(store: GitLineageStore, candidates: list[Candidate]) -> dict[str, str]:
    return {
        c.id: store.record(c, f"x = {c.seq}\n", {"artifacts/stdout.txt": f"out {c.seq}"})
        for c in candidates
    }


@pytest.fixture
def hand_built(tmp_path: Path) -> Path:
    """A run directory whose lineage.git holds HAND_BUILT."""
    store = GitLineageStore.create(tmp_path / "lineage.git")
    record_all(store, HAND_BUILT)
    store.close()
    return tmp_path
