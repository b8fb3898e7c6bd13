"""kill -9 a writer mid-loop: every candidate with a ref is complete, git stays clean, writing
continues. The writer is a real subprocess, killed with SIGKILL at random moments."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from codeevo.lineage.store import GitLineageStore

ROOT = Path(__file__).resolve().parents[2]

WRITER = r"""
import sys
from pathlib import Path
from codeevo.candidate import Candidate, Status, candidate_id
from codeevo.lineage.store import GitLineageStore

path = Path(sys.argv[1])
store = GitLineageStore.open(path) if path.exists() else GitLineageStore.create(path)
seqs = [c.seq for c in store.candidates()]
seq = max(seqs, default=0)
while True:
    seq += 1
    store.record(*expected(seq))
    print(seq, flush=True)
"""

EXPECTED = r"""
def expected(seq):
    parents = [] if seq == 1 else [candidate_id(max(1, seq - 1 - seq % 5))]
    if seq > 3 and seq % 7 == 0:
        parents.append(candidate_id(seq - 3))
    ok = seq % 5 != 0
    c = Candidate(id=candidate_id(seq), seq=seq, parents=parents,
                  operator="seed" if seq == 1 else "diff", island=seq % 3,
                  status=Status.OK if ok else Status.FAILED, score=seq / 7 if ok else None,
                  stage=None if ok else "stage1", metrics={"m": float(seq)})
    files = {"exchange/prompt.md": f"prompt {seq}\n" * 200,
             "artifacts/stdout.txt": f"out {seq}\n" * 50}
    return c, f"def f():\n    return {seq}\n" * 20, files
"""

ns: dict[str, object] = {}
exec("from codeevo.candidate import Candidate, Status, candidate_id\n" + EXPECTED, ns)
expected = ns["expected"]


def fsck(path: Path) -> None:
    proc = subprocess.run(
        ["git", f"--git-dir={path}", "fsck", "--strict", "--no-dangling"],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0 and proc.stdout.strip() == "", proc.stdout + proc.stderr


def check_complete(path: Path) -> int:
    store = GitLineageStore.open(path)
    found = list(store.candidates())
    assert [c.seq for c in found] == list(range(1, len(found) + 1))  # no gap, no torn one
    for c in found:
        want, program, files = expected(c.seq)  # type: ignore[operator]
        assert c == want
        assert store.program(c.id) == program
        assert store.files(c.id) == files
    store.close()
    return len(found)


def test_kill_9_at_random_moments_loses_nothing_recorded(tmp_path: Path) -> None:
    path = tmp_path / "lineage.git"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    rng = random.Random(7)
    total = 0
    for _ in range(4):
        proc = subprocess.Popen(
            [sys.executable, "-c", EXPECTED + WRITER, str(path)],
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        assert proc.stdout is not None
        proc.stdout.readline()  # at least one candidate recorded in this round
        time.sleep(rng.uniform(0.05, 0.4))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        printed = proc.stdout.read().split()
        assert (path / "lineage.lock").exists()  # left behind by the dead writer
        count = check_complete(path)
        assert count >= (int(printed[-1]) if printed else total + 1)  # printed => recorded
        assert count > total
        total = count
        fsck(path)
    # the driver takes over the dead writer's lock and carries on
    store = GitLineageStore.open(path)
    for seq in range(total + 1, total + 6):
        store.record(*expected(seq))  # type: ignore[operator]
    store.close()
    assert check_complete(path) == total + 5
    fsck(path)
    assert not list((path / "objects").glob("codeevo_tmp_*"))
