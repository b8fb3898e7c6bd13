"""Jobs on a three-node cluster: spread over every node, GPU jobs on the GPU node, the
evaluator and assets put once, the assets never in events, lineage or Ray's logs, and a job
no node can run fails the run at start."""

from __future__ import annotations

import glob
import subprocess
from pathlib import Path
from typing import Any

import pytest
import ray

from codeevo.distributed.demand import ClusterError
from tests.ray.cluster.conftest import LocalCluster, node_trees, run_engine
from tests.ray.helpers import make_toy

CANARY = "CANARY-7f3e2a9c41d0"


def test_jobs_spread_over_every_node_and_assets_stay_secret(
    cluster: LocalCluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    puts: list[int] = []
    real_put = ray.put

    def counting_put(value: Any, *args: Any, **kwargs: Any) -> Any:
        puts.append(len(value) if isinstance(value, bytes) else -1)
        return real_put(value, *args, **kwargs)

    monkeypatch.setattr(ray, "put", counting_put)
    folders_before = set(glob.glob("/tmp/codeevo-node-*"))
    monkeypatch.setenv("CODEEVO_CACHE", str(tmp_path / "cache"))
    problem = make_toy(tmp_path, sleep=0.3, candidate="assets_visible", canary=CANARY)
    ran = run_engine(problem, tmp_path / "run", {"budget": {"max_evaluations": 16}})

    assert ran.outcome.finished and ran.outcome.evaluations == 16
    labels = {cluster.label(n) for n in [cluster.head, *cluster.workers]}
    scored = [e for e in ran.evaluated() if e["status"] != "rejected"]
    assert {e["node"] for e in scored} == labels  # every node took jobs
    started = ran.of_kind("started")[0]
    assert (started["executor"], started["nodes"], started["slots"]) == ("ray", 3, 5)
    joined = [e for e in ran.of_kind("node") if e["state"] == "joined"]
    assert {e["node"] for e in joined} == labels
    assert sorted(e["slots"] for e in joined) == [1, 2, 2]
    for p in ran.of_kind("progress"):
        assert p["nodes"] == 3 and p["slots"] == 5 and 0 <= p["busy"] <= 5
    cands = [c for c in ran.session.engine.store.candidates() if c.status.value != "rejected"]
    assert all(c.extra["node"] in labels for c in cands)
    ok = [c for c in cands if c.status.value == "ok"]
    assert ok and all(c.metrics["secret_seen"] == 1.0 for c in ok)  # assets reached setup
    assert all(c.metrics["candidate"] == 0.0 for c in ok)  # and never a candidate

    assert len(puts) == 1 and puts[0] > 0  # evaluator + assets: once per run, not per job
    assert CANARY not in (tmp_path / "run" / "events.jsonl").read_text()
    objects = subprocess.run(
        ["git", "-C", str(tmp_path / "run" / "lineage.git"), "cat-file",
         "--batch-all-objects", "--batch"], capture_output=True, check=True).stdout
    assert len(objects) > 1000 and CANARY.encode() not in objects
    logs = [Path(p) for p in glob.glob("/tmp/ray/session_latest/logs/**", recursive=True)]
    assert any(p.is_file() for p in logs)
    assert not [p for p in logs if p.is_file() and CANARY.encode() in p.read_bytes()]
    assert node_trees() == set()  # every node's host and keeper ended with the run
    assert set(glob.glob("/tmp/codeevo-node-*")) <= folders_before  # their unpacked copies too
    fsck = subprocess.run(["git", "-C", str(tmp_path / "run" / "lineage.git"), "fsck",
                           "--strict"], capture_output=True, text=True)
    assert fsck.returncode == 0, fsck.stderr


def test_gpu_jobs_run_only_on_the_gpu_node(cluster: LocalCluster, tmp_path: Path) -> None:
    problem = make_toy(tmp_path, sleep=0.1)
    ran = run_engine(problem, tmp_path / "run", {"budget": {"max_evaluations": 6},
                                                 "executor": {"gpus_per_job": 1}})
    assert ran.outcome.finished
    gpu_node = cluster.label(cluster.workers[1])
    assert {e["node"] for e in ran.evaluated() if e["status"] != "rejected"} == {gpu_node}
    assert ran.of_kind("started")[0]["slots"] == 1


def test_a_job_no_node_can_run_fails_the_run_at_start(
    cluster: LocalCluster, tmp_path: Path
) -> None:
    problem = make_toy(tmp_path)
    with pytest.raises(ClusterError, match=r"no node of the Ray cluster .* can run an "
                       r"evaluation: each asks for 1 CPU and 2 GPU \(executor.gpus_per_job\)"):
        run_engine(problem, tmp_path / "run", {"executor": {"gpus_per_job": 2}})
    assert not (tmp_path / "run").exists()
    assert node_trees() == set()


def test_nodes_that_cannot_make_their_sandbox_are_named(
    cluster: LocalCluster, tmp_path: Path
) -> None:
    problem = make_toy(tmp_path)
    with pytest.raises(ClusterError) as err:
        run_engine(problem, tmp_path / "run",
                   {"sandbox": {"kind": "docker", "image": "codeevo-no-such-image:0"}})
    text = str(err.value)
    assert "could start an evaluator" in text
    labels = {cluster.label(n) for n in [cluster.head, *cluster.workers]}
    assert all(f"{label}: " in text for label in labels)  # each node, and why
    assert "DockerUnavailableError" in text
    assert not (tmp_path / "run").exists()
    assert node_trees() == set()
