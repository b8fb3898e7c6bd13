"""End to end through the real CLI, the local sandbox, the git lineage and circle packing."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from codeevo.cli import main
from codeevo.events import read_events

ROOT = Path(__file__).resolve().parents[2]
CP = ROOT / "problems" / "circle_packing"


def codeevo(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "codeevo", *args], capture_output=True,
                          text=True, timeout=timeout, cwd=ROOT, env=env)


def _candidates(run: Path) -> int:
    return sum(1 for e in read_events(run / "events.jsonl") if e["kind"] == "evaluated")


def test_run_best_eval_lineage(tmp_path: Path) -> None:
    out = tmp_path / "cp"
    r = codeevo("run", str(CP), "--evals", "25", "--seed", "7", "--out", str(out))
    assert r.returncode == 0, r.stderr
    assert "no LLM configured" in r.stderr  # the one-line notice
    assert "evaluation budget reached" in r.stdout
    best = json.loads(codeevo("best", str(out), "--json").stdout)
    assert best["status"] == "ok" and best["score"] > 0
    assert "EVOLVE-BLOCK-START" in best["program"]
    prog = tmp_path / "best.py"
    prog.write_text(best["program"])
    ev = codeevo("eval", str(CP), "--program", str(prog), "--json")
    result = json.loads(ev.stdout)
    assert result["status"] == "ok" and result["score"] == pytest.approx(best["score"])
    assert set(result) >= {"status", "score", "metrics", "features"}
    fsck = subprocess.run(["git", "-C", str(out / "lineage.git"), "fsck", "--strict"],
                          capture_output=True, text=True)
    assert fsck.returncode == 0, fsck.stderr
    log = subprocess.run(["git", "-C", str(out / "lineage.git"), "log", "--oneline", "--all"],
                         capture_output=True, text=True, check=True).stdout
    assert len(log.splitlines()) == _candidates(out)


def test_bad_config_exits_2_and_writes_nothing(tmp_path: Path) -> None:
    out = tmp_path / "never"
    r = codeevo("run", str(CP), "--islands", "0", "--out", str(out))
    assert r.returncode == 2
    assert "population.num_islands" in r.stderr
    assert not out.exists()
    bad = tmp_path / "bad.yaml"
    bad.write_text("budget:\n  max_evals: 3\n")
    r = codeevo("run", str(CP), "--config", str(bad), "--out", str(out))
    assert r.returncode == 2 and f"{bad}:2: budget.max_evals: unknown key" in r.stderr
    assert not out.exists()
    r = codeevo("run", str(tmp_path / "nope"), "--out", str(out))
    assert r.returncode == 2 and "problem folder not found" in r.stderr


def test_refuses_existing_run_dir(tmp_path: Path) -> None:
    out = tmp_path / "cp"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    assert main(["run", str(CP), "--out", str(out), "--quiet"]) == 2
    assert (out / "keep.txt").read_text() == "mine"


def test_problems_and_config_show() -> None:
    r = codeevo("problems", "--json")
    names = {row["name"] for row in json.loads(r.stdout)}
    assert {"circle_packing", "merge"} <= names
    r = codeevo("config", "show", str(CP), "--islands", "7", "--set", "budget.max_cost=2.5")
    assert r.returncode == 0
    assert "num_islands: 7" in r.stdout and "max_cost: 2.5" in r.stdout


def _start(out: Path, evals: int) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-m", "codeevo", "run", str(CP), "--evals", str(evals), "--seed", "3",
         "--out", str(out), "--quiet"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for(out: Path, n: int, proc: subprocess.Popen[str], limit: float = 120) -> None:
    t0 = time.time()
    while _candidates(out) < n:
        assert proc.poll() is None, proc.communicate()
        assert time.time() - t0 < limit
        time.sleep(0.1)


def test_kill_9_then_resume_loses_nothing(tmp_path: Path) -> None:
    out = tmp_path / "cp"
    proc = _start(out, 10_000)
    _wait_for(out, 12, proc)
    proc.kill()  # SIGKILL: no cleanup at all
    proc.wait()
    refs = subprocess.run(["git", "-C", str(out / "lineage.git"), "for-each-ref",
                           "refs/tags/"], capture_output=True, text=True, check=True)
    committed = len(refs.stdout.splitlines())
    assert committed >= 12
    assert subprocess.run(["git", "-C", str(out / "lineage.git"), "fsck"],
                          capture_output=True).returncode == 0
    r = codeevo("resume", str(out), "--evals", str(committed + 10), "--json")
    assert r.returncode == 0, r.stderr
    summary = json.loads(r.stdout)
    assert summary["finished"] and summary["evaluations"] >= committed
    ids = [line.split()[-1].rsplit("/", 1)[-1] for line in subprocess.run(
        ["git", "-C", str(out / "lineage.git"), "for-each-ref", "--format=%(refname)",
         "refs/tags/"], capture_output=True, text=True, check=True).stdout.split()]
    assert len(ids) == len(set(ids)) > committed
    assert subprocess.run(["git", "-C", str(out / "lineage.git"), "fsck", "--strict"],
                          capture_output=True).returncode == 0


def _descendants(pid: int) -> set[int]:
    """Every live process below `pid` (read from /proc)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            children.setdefault(ppid, []).append(int(entry.name))
    out: set[int] = set()
    todo = [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in out:
                out.add(child)
                todo.append(child)
    return out


def test_sigint_stops_cleanly(tmp_path: Path) -> None:
    out = tmp_path / "cp"
    proc = _start(out, 10_000)
    _wait_for(out, 5, proc)
    below = set()
    for _ in range(50):  # catch the driver with a sandbox in flight
        below = _descendants(proc.pid)
        if below:
            break
        time.sleep(0.02)
    proc.send_signal(signal.SIGINT)
    proc.communicate(timeout=60)
    assert proc.returncode == 130
    events = list(read_events(out / "events.jsonl"))
    assert events[-1]["kind"] == "stopped" and "interrupted" in events[-1]["reason"]
    assert not (out / "driver.pid").exists()
    # no sandbox process of this run survives its driver
    alive = {pid for pid in below if Path(f"/proc/{pid}").exists()}
    assert not alive


def test_eval_evaluator_override(tmp_path: Path) -> None:
    ok = json.loads(codeevo("eval", str(CP), "--json", "--sandbox", "local").stdout)
    r = codeevo("eval", str(CP), "--json", "--sandbox", "local", "--evaluator-set", "n=25")
    assert ok["status"] == "ok" and ok["metrics"]["n_circles"] == 26
    changed = json.loads(r.stdout)  # the seed packs 26 circles: asking for 25 must change things
    assert changed != ok
    bad = codeevo("eval", str(CP), "--evaluator-set", "oops")
    assert bad.returncode == 2 and "expected KEY=VALUE" in bad.stderr
