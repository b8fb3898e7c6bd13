"""GitLineageStore against real git repositories: round trip, git-visible shape, determinism."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from codeevo.candidate import Candidate, Status
from codeevo.errors import RunDirError
from codeevo.lineage.base import LineageStore
from codeevo.lineage.store import (
    EPOCH,
    FILE_CAP,
    GitLineageStore,
    LineageError,
    build_message,
    candidate_json,
)
from tests.lineage.conftest import HAND_BUILT, cand, git, record_all


def full_candidate() -> Candidate:
    return Candidate(
        id="c000001",
        seq=1,
        parents=[],
        operator="seed",
        model="openai/gpt-4.1-mini",
        island=3,
        cell=[2, 5],
        status=Status.OK,
        stage="stage2",
        reason="all good",
        score=2.6104000000000003,
        metrics={"sum_radii": 2.6104, "valid": 1.0},
        features={"length": 812.0},
        timings={"propose": 1.25, "eval": 0.5},
        tokens={"input": 1200, "output": 340},
        cost=0.00123,
        program_hash="ab" * 32,
        entry="solution.py",
        inserted=True,
        extra={"note": "é ✓", "nested": {"a": [1, 2.5, None]}},
    )


def test_round_trip_of_every_field(tmp_path: Path) -> None:
    path = tmp_path / "lineage.git"
    c = full_candidate()
    program = "def f():\n    return 'ünïcode'\n"
    files = {
        "exchange/prompt.md": "# prompt\n",
        "exchange/response.md": "<<<<<<< SEARCH\n",
        "artifacts/stdout.txt": "line 1\nline 2\n",
    }
    with GitLineageStore.create(path) as store:
        assert isinstance(store, LineageStore)
        sha = store.record(c, program, files)
    reader = GitLineageStore.open(path)
    assert list(reader.candidates()) == [c]
    assert reader.commit_of(c.id) == sha
    assert reader.program(c.id) == program
    assert reader.files(c.id) == files
    # candidate.json in the tree is the model, sorted keys, indent 1; plain git can read it
    assert git(path, "show", f"{sha}:candidate.json") == candidate_json(c)
    assert json.loads(git(path, "show", f"{sha}:candidate.json")) == c.model_dump(mode="json")
    assert git(path, "show", f"{sha}:solution.py") == program
    tree = git(path, "ls-tree", "-r", "--name-only", sha).split()
    assert sorted(tree) == sorted(["solution.py", "candidate.json", *files])
    reader.close()


def test_crossover_is_a_merge_commit_and_seeds_are_roots(hand_built: Path) -> None:
    repo = hand_built / "lineage.git"
    store = GitLineageStore.open(repo)
    merge = git(repo, "cat-file", "-p", store.commit_of("c000005"))
    parents = [line.split()[1] for line in merge.splitlines() if line.startswith("parent ")]
    assert parents == [store.commit_of("c000002"), store.commit_of("c000004")]  # primary first
    seed = git(repo, "cat-file", "-p", store.commit_of("c000001"))
    assert "parent " not in seed
    assert f"author codeevo <codeevo@localhost> {EPOCH + 1} +0000" in seed
    graph = git(repo, "log", "--graph", "--oneline", "--all")
    assert "crossover on island 0: 3.0000 (+1.0000)" in graph
    assert len(git(repo, "rev-list", "--all", "--merges").split()) == 1
    assert len(git(repo, "rev-list", "--all").split()) == len(HAND_BUILT)


def test_fsck_strict_is_clean_and_every_candidate_has_a_ref(hand_built: Path) -> None:
    repo = hand_built / "lineage.git"
    proc = subprocess.run(
        ["git", f"--git-dir={repo}", "fsck", "--strict", "--no-dangling"],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.strip() == ""
    refs = git(repo, "for-each-ref", "--format=%(refname)", "refs/tags/").split()
    assert refs == [f"refs/tags/{c.id}" for c in HAND_BUILT]


def test_messages_read_like_log_lines(hand_built: Path) -> None:
    repo = hand_built / "lineage.git"
    subjects = git(repo, "log", "--all", "--reverse", "--format=%s").splitlines()
    assert subjects == [
        "seed: 1.0000",
        "diff on island 0 by m/a: 2.0000 (+1.0000)",
        "diff on island 0: failed at stage1 (boom)",
        "ast on island 1: 1.5000 (-0.5000)",
        "crossover on island 0: 3.0000 (+1.0000)",
        "diff on island 0: rejected at parse (syntax)",
        "diff on island 0: 2.5000 (-0.5000)",
        "ast on island 0: timeout at stage2",
    ]
    c = cand(
        9,
        (1,),
        operator="ast",
        status=Status.REJECTED,
        score=None,
        stage="parse",
        reason="invalid syntax\n line 12",
    )
    assert build_message(c, 1.0) == "ast on island 0: rejected at parse (invalid syntax line 12)"


def test_caller_message_is_used_and_body_still_loads(tmp_path: Path) -> None:
    path = tmp_path / "l.git"
    with GitLineageStore.create(path) as store:
        sha = store.record(cand(1), "x = 1\n", message="my own words\n\nwith a body")
    assert git(path, "log", "-1", "--format=%s", sha).strip() == "my own words"
    assert list(GitLineageStore.open(path).candidates()) == [cand(1)]


def test_same_candidates_give_the_same_shas(tmp_path: Path) -> None:
    shas = []
    for name in ("a.git", "b.git"):
        with GitLineageStore.create(tmp_path / name) as store:
            shas.append(record_all(store, HAND_BUILT))
    assert shas[0] == shas[1]
    refs = [git(tmp_path / n, "for-each-ref") for n in ("a.git", "b.git")]
    assert refs[0] == refs[1]
    assert git(tmp_path / "a.git", "rev-parse", "HEAD") == git(
        tmp_path / "b.git", "rev-parse", "HEAD"
    )


def test_head_follows_the_best_ok_candidate(tmp_path: Path) -> None:
    path = tmp_path / "l.git"
    store = GitLineageStore.create(path)
    assert git(path, "symbolic-ref", "HEAD").strip() == "refs/heads/main"
    failed = cand(1, status=Status.FAILED, score=None, stage="stage1")
    sha1 = store.record(failed, "x = 1\n")
    assert git(path, "rev-parse", "HEAD").strip() == sha1  # no OK one yet: the newest
    sha2 = store.record(cand(2, (1,), score=5.0), "x = 2\n")
    store.record(cand(3, (2,), score=4.0), "x = 3\n")
    store.record(cand(4, (2,), score=5.0), "x = 4\n")  # a tie keeps the earlier
    assert git(path, "rev-parse", "main").strip() == sha2
    sha5 = store.record(cand(5, (4,), score=6.0), "x = 5\n")
    assert git(path, "rev-parse", "HEAD").strip() == sha5
    assert store.best_id() == "c000005"
    store.close()


def test_extra_files_are_capped_with_a_note(tmp_path: Path) -> None:
    with GitLineageStore.create(tmp_path / "l.git") as store:
        store.record(cand(1), "x\n", {"artifacts/stderr.txt": "é" * FILE_CAP})  # 2 bytes each
        kept = store.files("c000001")["artifacts/stderr.txt"]
    assert kept.startswith("é" * (FILE_CAP // 2))
    assert f"[codeevo: truncated, kept {FILE_CAP} of {2 * FILE_CAP} bytes]" in kept
    assert len(kept.encode()) < FILE_CAP + 100


@pytest.mark.parametrize(
    "bad", ["../x", "candidate.json", "program.py", ".git/config", "a//b", "/abs", "exchange/."]
)
def test_bad_file_paths_are_refused(tmp_path: Path, bad: str) -> None:
    with GitLineageStore.create(tmp_path / "l.git") as store:
        with pytest.raises(LineageError, match="path"):
            store.record(cand(1), "x\n", {bad: "data"})
        assert list(store.candidates()) == []


def test_file_and_folder_clash_is_refused(tmp_path: Path) -> None:
    with GitLineageStore.create(tmp_path / "l.git") as store:
        with pytest.raises(LineageError, match="clashes"):
            store.record(cand(1), "x\n", {"a": "1", "a/b": "2"})


def test_parents_must_be_recorded_first_and_ids_are_immutable(tmp_path: Path) -> None:
    with GitLineageStore.create(tmp_path / "l.git") as store:
        with pytest.raises(LineageError, match="c000007"):
            store.record(cand(2, (7,)), "x\n")
        sha = store.record(cand(1), "x\n")
        assert store.record(cand(1), "x\n") == sha  # the same again: a no-op
        with pytest.raises(LineageError, match="already recorded"):
            store.record(cand(1), "y\n")
        with pytest.raises(LineageError, match="ref"):
            store.record(cand(3).model_copy(update={"id": "bad id"}), "x\n")


def test_create_and_open_errors_name_the_path(tmp_path: Path) -> None:
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("x")
    with pytest.raises(RunDirError, match="full"):
        GitLineageStore.create(tmp_path / "full")
    with pytest.raises(RunDirError, match="nowhere"):
        GitLineageStore.open(tmp_path / "nowhere")
    with pytest.raises(RunDirError, match="full"):
        GitLineageStore.open(tmp_path / "full")


def test_one_writer_at_a_time_and_a_dead_writers_lock_is_taken_over(tmp_path: Path) -> None:
    path = tmp_path / "l.git"
    first = GitLineageStore.create(path)
    first.record(cand(1), "x\n")
    second = GitLineageStore.open(path)
    with pytest.raises(LineageError, match=f"pid {os.getpid()}"):
        second.record(cand(2, (1,)), "x\n")
    assert [c.id for c in second.candidates()] == ["c000001"]  # reading needs no lock
    first.close()
    assert not (path / "lineage.lock").exists()
    dead = subprocess.Popen(["true"])
    dead.wait()
    (path / "lineage.lock").write_text(f"{dead.pid} 1 {os.uname().nodename}\n")
    second.record(cand(2, (1,)), "x\n")  # stale lock: taken over
    assert (path / "lineage.lock").read_text().split()[0] == str(os.getpid())
    second.close()


def test_a_reader_sees_candidates_written_after_it_opened(tmp_path: Path) -> None:
    path = tmp_path / "l.git"
    writer = GitLineageStore.create(path)
    reader = GitLineageStore.open(path)
    assert list(reader.candidates()) == []
    writer.record(cand(1), "x\n")
    assert [c.id for c in reader.candidates()] == ["c000001"]
    writer.record(cand(2, (1,)), "y\n")
    assert reader.program("c000002") == "y\n"  # an unknown id triggers a re-read
    with pytest.raises(LineageError, match="c000099"):
        reader.commit_of("c000099")
    writer.close()
    reader.close()


def test_a_mirror_clone_carries_every_candidate(hand_built: Path, tmp_path: Path) -> None:
    clone = tmp_path / "clone.git"
    subprocess.run(
        ["git", "clone", "-q", "--mirror", str(hand_built / "lineage.git"), str(clone)],
        check=True,
    )
    subprocess.run(
        ["git", f"--git-dir={clone}", "fsck", "--strict"], check=True, capture_output=True
    )
    store = GitLineageStore.open(clone)
    assert list(store.candidates()) == HAND_BUILT
    assert store.program("c000008") == "x = 8\n"
    store.close()


def test_candidate_reads_one_full_record(tmp_path: Path) -> None:
    path = tmp_path / "l.git"
    c = full_candidate()
    with GitLineageStore.create(path) as store:
        store.record(c, "x = 1\n")
        assert store.candidate("c000001") == c
    reader = GitLineageStore.open(path)
    assert reader.candidate("c000001") == c  # a fresh reader: ref + body, no full read
    with pytest.raises(LineageError, match="c000099"):
        reader.candidate("c000099")
    with pytest.raises(LineageError, match=r"\^bad"):
        reader.candidate("^bad")
    reader.close()


def test_candidate_finds_one_written_after_the_reader_opened(tmp_path: Path) -> None:
    path = tmp_path / "l.git"
    writer = GitLineageStore.create(path)
    writer.record(cand(1), "x\n")
    reader = GitLineageStore.open(path)
    assert [r["id"] for r, _ in reader.records()] == ["c000001"]
    writer.record(cand(2, (1,), metrics={"m": 0.5}), "y\n")
    got = reader.candidate("c000002")
    assert got.parents == ["c000001"] and got.metrics == {"m": 0.5}
    assert reader.program("c000002") == "y\n"
    writer.close()
    reader.close()


def test_candidate_of_a_commit_made_by_other_tools_reads_candidate_json(
    tmp_path: Path,
) -> None:
    path = tmp_path / "l.git"
    with GitLineageStore.create(path) as store:
        store.record(cand(1), "x\n", message="plain")
    # Rewrite the commit without the body line, as a hand-made commit would be.
    sha = git(path, "rev-parse", "refs/tags/c000001").strip()
    tree = git(path, "rev-parse", f"{sha}^{{tree}}").strip()
    env = {**os.environ, "GIT_AUTHOR_NAME": "x", "GIT_AUTHOR_EMAIL": "x@x",
           "GIT_COMMITTER_NAME": "x", "GIT_COMMITTER_EMAIL": "x@x"}
    bare = subprocess.run(["git", f"--git-dir={path}", "commit-tree", tree, "-m", "by hand"],
                          capture_output=True, text=True, check=True, env=env).stdout.strip()
    git(path, "update-ref", "refs/tags/c000001", bare)
    reader = GitLineageStore.open(path)
    assert reader.candidate("c000001").id == "c000001"
    reader.close()
