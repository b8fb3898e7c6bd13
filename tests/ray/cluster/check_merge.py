"""The issue's closing test: a merge run on three nodes, one removed in the middle of a job:
no candidate lost or recorded twice, `git fsck` clean, nothing left running."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path
from typing import Any

from tests.ray.cluster.conftest import (
    LocalCluster,
    node_trees,
    run_engine,
    wait_gone,
    when_scoring,
)

ROOT = Path(__file__).resolve().parents[3]


def test_merge_run_survives_a_node_removed_mid_job(cluster: LocalCluster, tmp_path: Path) -> None:
    victim = cluster.add(num_cpus=2)
    label = cluster.label(victim)
    seen: dict[str, Any] = {}

    async def during(engine: Any) -> None:
        seen["tree"] = await when_scoring(engine, label, within=600)
        await asyncio.to_thread(cluster.remove, victim)

    ran = run_engine(ROOT / "problems" / "merge", tmp_path / "run",
                     {"budget": {"max_evaluations": 9}, "seed": 3}, during=during)
    assert ran.outcome.finished and ran.outcome.evaluations == 9, ran.outcome.reason
    assert [e["node"] for e in ran.of_kind("node") if e["state"] == "lost"] == [label]
    reissued = ran.of_kind("reissued")
    assert reissued and {e["node"] for e in reissued} == {label}
    cands = list(ran.session.engine.store.candidates())
    assert [c.seq for c in cands] == list(range(len(cands)))
    assert sorted(e["seq"] for e in ran.evaluated()) == [c.seq for c in cands]
    assert not [c for c in cands if c.status.value == "infra"]  # none lost
    moved = [c for c in cands if c.extra.get("attempts", 1) > 1]
    assert len(moved) == len(reissued) and all(c.extra["node"] != label for c in moved)
    scored = [c for c in cands if c.status.value not in ("rejected",)]
    hashes = [c.program_hash for c in scored]
    assert len(hashes) == len(set(hashes))  # no program recorded twice
    assert any(c.status.value == "ok" and c.score is not None for c in scored)
    fsck = subprocess.run(["git", "-C", str(tmp_path / "run" / "lineage.git"), "fsck",
                           "--strict"], capture_output=True, text=True)
    assert fsck.returncode == 0, fsck.stderr
    assert wait_gone(seen["tree"]) == set()  # the removed node's sandbox went with it
    assert node_trees() == set()  # and every other node's with the run
