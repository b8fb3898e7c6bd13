"""The command line on a cluster: doctor, a run, a job no node can run, `kill -9` of the
driver then `codeevo resume`, and a ray:// (Ray Client) address."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from codeevo.events import read_events
from codeevo.lineage.store import GitLineageStore
from tests.ray.cluster.conftest import LocalCluster, node_trees, wait_gone
from tests.ray.helpers import make_toy

ROOT = Path(__file__).resolve().parents[3]


def codeevo(*args: str, **kw: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "codeevo", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=900, **kw)  # type: ignore


def test_doctor_lists_every_node(cluster: LocalCluster) -> None:
    out = codeevo("doctor", "--executor", "ray", "--ray-address", cluster.address)
    assert out.returncode == 0, out.stdout + out.stderr
    lines = out.stdout.splitlines()
    assert "3 node(s) alive, 5 CPU, 1 GPU" in lines[0]
    nodes = [ln for ln in lines if ln.startswith("node ")]
    assert len(nodes) == 3 and all(" ok " in ln and "codeevo " in ln for ln in nodes)
    assert sum("(2 CPU, 1 GPU)" in ln for ln in nodes) == 1
    assert all("Docker" in ln and "local sandbox: " in ln for ln in nodes)  # what it has


def test_run_on_the_cluster_and_progress_shows_nodes(
    cluster: LocalCluster, tmp_path: Path
) -> None:
    problem = make_toy(tmp_path, sleep=0.2)
    out = codeevo("run", str(problem), "--ray-address", cluster.address, "--sandbox", "local",
                  "--evals", "12", "--out", str(tmp_path / "run"))
    assert out.returncode == 0, out.stderr[-3000:]
    assert "executor: 3 node(s), 5 evaluation slot(s)" in out.stderr
    assert "on 3 nodes" in out.stderr  # the progress line: slots b/5 on 3 nodes
    events = list(read_events(tmp_path / "run" / "events.jsonl"))
    assert {e["node"] for e in events if e["kind"] == "evaluated" and e["status"] != "rejected"}
    per_node = [e["per_node"] for e in events if e["kind"] == "progress"]
    assert per_node and all(len(p) == 3 and sum(s for _, s in p.values()) == 5 for p in per_node)
    assert any(sum(b for b, _ in p.values()) > 0 for p in per_node)  # occupancy, node by node
    assert node_trees() == set()


def test_a_job_no_node_can_run_exits_2_and_writes_nothing(
    cluster: LocalCluster, tmp_path: Path
) -> None:
    problem = make_toy(tmp_path)
    out = codeevo("run", str(problem), "--executor", "ray", "--ray-address", cluster.address,
                  "--set", "executor.gpus_per_job=2", "--out", str(tmp_path / "run"))
    assert out.returncode == 2
    assert "no node of the Ray cluster" in out.stderr and "2 GPU" in out.stderr
    assert "Traceback" not in out.stderr
    assert not (tmp_path / "run").exists()


def test_driver_killed_then_resume_reconnects_and_goes_on(
    cluster: LocalCluster, tmp_path: Path
) -> None:
    problem = make_toy(tmp_path, sleep=1.0)
    run = tmp_path / "run"
    driver = subprocess.Popen(
        [sys.executable, "-m", "codeevo", "run", str(problem), "--ray-address", cluster.address,
         "--sandbox", "local", "--evals", "16", "--out", str(run), "--quiet"],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    end = time.monotonic() + 300
    while True:
        scored = [e for e in read_events(run / "events.jsonl")
                  if e["kind"] == "evaluated" and e["status"] != "rejected"]
        if len(scored) >= 4:
            break
        assert driver.poll() is None, driver.stderr.read() if driver.stderr else ""
        assert time.monotonic() < end, "the run never got going"
        time.sleep(0.1)
    trees = node_trees()
    assert len(trees) >= 6  # three nodes' keepers and hosts, runners at work
    os.kill(driver.pid, signal.SIGKILL)
    driver.wait()
    assert wait_gone(trees) == set()  # Ray ended the actors, their keepers everything below

    out = codeevo("resume", str(run), "--json")
    assert out.returncode == 0, out.stderr[-3000:]
    summary = json.loads(out.stdout)
    assert summary["finished"] and summary["evaluations"] == 16
    store = GitLineageStore.open(run / "lineage.git")
    cands = list(store.candidates())
    store.close()
    assert [c.seq for c in cands] == list(range(len(cands)))
    started = [e for e in read_events(run / "events.jsonl") if e["kind"] == "started"]
    assert [s["resumed"] for s in started] == [False, True]
    assert started[1]["nodes"] == 3 and started[1]["executor"] == "ray"
    fsck = subprocess.run(["git", "-C", str(run / "lineage.git"), "fsck", "--strict"],
                          capture_output=True, text=True)
    assert fsck.returncode == 0, fsck.stderr
    assert node_trees() == set()


def test_ray_client_address(cluster: LocalCluster, tmp_path: Path) -> None:
    problem = make_toy(tmp_path, sleep=0.1)
    out = codeevo("run", str(problem), "--ray-address", f"ray://127.0.0.1:{cluster.client_port}",
                  "--sandbox", "local", "--evals", "5", "--out", str(tmp_path / "run"), "--json")
    assert out.returncode == 0, out.stderr[-3000:]
    assert json.loads(out.stdout)["evaluations"] == 5
    assert node_trees() == set()


def test_eval_one_program_on_a_node(cluster: LocalCluster, tmp_path: Path) -> None:
    problem = make_toy(tmp_path)
    out = codeevo("eval", str(problem), "--ray-address", cluster.address, "--sandbox", "local",
                  "--set", "executor.gpus_per_job=1", "--json")
    assert out.returncode == 0, out.stderr[-3000:]
    result = json.loads(out.stdout)
    assert result["status"] == "ok" and result["score"] == -2.0
    assert node_trees() == set()
