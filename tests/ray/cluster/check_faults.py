"""Nodes that leave and join in the middle of a run: jobs re-issued and recorded once,
infrastructure failures kept apart, slots that follow the cluster, nothing left behind."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
from pathlib import Path
from typing import Any

from codeevo.events import read_events
from tests.ray.cluster.conftest import LocalCluster, Ran, run_engine, wait_gone, when_scoring
from tests.ray.helpers import make_toy


def _remove_when_busy(cluster: LocalCluster, victim: Any, seen: dict[str, Any]) -> Any:
    """A `during` that removes `victim` in the middle of a job, after noting its processes.
    (Jobs take 4 s, so the node is gone long before the job could end.)"""

    async def during(engine: Any) -> None:
        label = cluster.label(victim)
        seen["label"] = label
        seen["tree"] = await when_scoring(engine, label)
        await asyncio.to_thread(cluster.remove, victim)

    return during


def _recorded_once(ran: Ran) -> None:
    """Every candidate recorded once: seqs contiguous, one event each, no program twice."""
    store = ran.session.engine.store
    cands = list(store.candidates())
    assert [c.seq for c in cands] == list(range(len(cands)))
    assert sorted(e["seq"] for e in ran.evaluated()) == list(range(len(cands)))
    hashes = [c.program_hash for c in cands if c.status.value not in ("rejected", "infra")]
    assert len(hashes) == len(set(hashes))
    fsck = subprocess.run(["git", "-C", str(ran.run / "lineage.git"), "fsck", "--strict"],
                          capture_output=True, text=True)
    assert fsck.returncode == 0, fsck.stderr


def test_node_removed_mid_job_is_reissued_elsewhere_and_recorded_once(
    cluster: LocalCluster, tmp_path: Path
) -> None:
    victim = cluster.add(num_cpus=2)
    seen: dict[str, Any] = {}
    ran = run_engine(make_toy(tmp_path, sleep=4.0), tmp_path / "run",
                     {"budget": {"max_evaluations": 14}},
                     during=_remove_when_busy(cluster, victim, seen))
    label = seen["label"]
    assert ran.outcome.finished and ran.outcome.evaluations == 14
    lost = [e for e in ran.of_kind("node") if e["state"] == "lost"]
    assert [e["node"] for e in lost] == [label]
    reissued = ran.of_kind("reissued")
    assert reissued and {e["node"] for e in reissued} == {label}
    cands = list(ran.session.engine.store.candidates())
    assert not [c for c in cands if c.status.value == "infra"]
    moved = [c for c in cands if c.extra.get("attempts", 1) > 1]
    assert len(moved) == len(reissued)  # each re-issued job: one candidate, scored elsewhere
    assert all(c.extra["node"] != label and c.status.value == "ok" for c in moved)
    after = ran.events.index(lost[0])
    assert all(e.get("node") != label for e in ran.events[after + 1:]
               if e["kind"] == "evaluated")
    assert ran.of_kind("progress")[-1]["nodes"] == 3  # the run went on without it
    _recorded_once(ran)
    # The node's sandbox host, its runners and candidates ended with its actor.
    assert wait_gone(seen["tree"]) == set()


def test_retries_spent_record_infra_apart_and_the_run_goes_on(
    cluster: LocalCluster, tmp_path: Path
) -> None:
    victim = cluster.add(num_cpus=2)
    seen: dict[str, Any] = {}
    ran = run_engine(make_toy(tmp_path, sleep=4.0), tmp_path / "run",
                     {"budget": {"max_evaluations": 10}, "executor": {"max_retries": 0}},
                     during=_remove_when_busy(cluster, victim, seen))
    assert ran.outcome.finished and ran.outcome.evaluations == 10
    infra = [c for c in ran.session.engine.store.candidates() if c.status.value == "infra"]
    assert infra and all(not c.inserted and c.score is None for c in infra)
    assert all(c.extra["node"] == seen["label"] and seen["label"] in (c.reason or "")
               for c in infra)
    progress = ran.of_kind("progress")[-1]
    assert progress["infra"] == len(infra)
    assert not any(k.startswith("infra") for k in progress["failures"])
    assert ran.session.engine.stats.evaluations == 10  # infra never counted as evaluations
    assert not ran.of_kind("reissued")
    _recorded_once(ran)
    assert wait_gone(seen["tree"]) == set()


def test_a_node_that_stops_answering_is_restarted_and_its_job_reissued(
    cluster: LocalCluster, tmp_path: Path
) -> None:
    victim = cluster.add(num_cpus=2)
    label = cluster.label(victim)
    seen: dict[str, Any] = {}

    async def during(engine: Any) -> None:
        seen["tree"] = await when_scoring(engine, label)
        old = next(n for n in engine.executor.nodes() if n.label == label)
        os.kill(old.host, signal.SIGSTOP)  # the node's sandbox host hangs mid-job
        while not any(n.label == label and n.state == "ready" and n.keeper != old.keeper
                      for n in engine.executor.nodes()):
            await asyncio.sleep(0.1)
        engine.stop("a fresh evaluator started on the node", cancel=False)

    # deadline: (stage 4 s + slack 1 s) + margin 2 s = 7 s, no prefetch
    ran = run_engine(make_toy(tmp_path, sleep=1.0, timeout=4), tmp_path / "run",
                     {"budget": {"max_evaluations": 10_000}, "sandbox": {"timeout_slack_s": 1},
                      "executor": {"rpc_margin_s": 2, "prefetch_per_node": 0}},
                     during=during)
    assert ran.outcome.reason == "a fresh evaluator started on the node"
    reissued = [e for e in ran.of_kind("reissued") if e["node"] == label]
    # The first job to time out loses the node (its actor is killed); a job beside it on
    # that node then ends with the actor, and is re-issued too.
    assert reissued and reissued[0]["reason"] == "no answer within 7 s"
    assert all(e["reason"] == "no answer within 7 s" or e["reason"].startswith("ActorDiedError")
               for e in reissued)
    states = [e["state"] for e in ran.of_kind("node") if e["node"] == label]
    assert states[:3] == ["joined", "lost", "joined"]  # a fresh evaluator on the same node
    assert not [c for c in ran.session.engine.store.candidates() if c.status.value == "infra"]
    _recorded_once(ran)
    assert wait_gone(seen["tree"]) == set()  # the hung host and all below it were killed
    cluster.remove(victim)


def test_a_node_joining_mid_run_adds_its_slots(cluster: LocalCluster, tmp_path: Path) -> None:
    joined: dict[str, Any] = {}
    events = tmp_path / "run" / "events.jsonl"

    async def during(engine: Any) -> None:
        executor = engine.executor
        while executor.usage().busy == 0:
            await asyncio.sleep(0.02)
        joined["slots_before"] = executor.usage().slots
        node = cluster.add(num_cpus=2)  # Ray starts nodes from the main thread only
        joined["label"] = label = cluster.label(node)
        joined["node"] = node
        while not any(e["kind"] == "evaluated" and e.get("node") == label
                      for e in read_events(events)):
            await asyncio.sleep(0.1)
        engine.stop("the new node scored a job", cancel=False)

    ran = run_engine(make_toy(tmp_path, sleep=0.5), tmp_path / "run",
                     {"budget": {"max_evaluations": 10_000}}, during=during)
    assert ran.outcome.reason == "the new node scored a job"
    label = joined["label"]
    assert any(e["state"] == "joined" and e["node"] == label for e in ran.of_kind("node"))
    slots = [e["slots"] for e in ran.of_kind("progress")]
    assert slots[0] == joined["slots_before"] and slots[-1] == joined["slots_before"] + 2
    _recorded_once(ran)
    cluster.remove(joined["node"])
