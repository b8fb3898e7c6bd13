"""GitLineageStore: one git commit per candidate in a bare repository (the run's store of record).

On disk (see docs/lineage.md): a lightweight tag ``refs/tags/<id>`` -> the candidate's commit;
the tree holds the program (named by ``candidate.entry``), ``candidate.json`` and the capped extra
files; the commit's parents are its parents' commits (crossover -> a merge); the message is one
log line and the body carries the candidate as one JSON line (a cold load reads commits, not trees).
``HEAD`` -> ``refs/heads/main`` -> the best OK candidate so far (the newest while none is OK).

Objects are written straight into the object database as loose objects (no index, no working
tree, no git process per commit), each by temp file + rename; reads go through gitpython. The
candidate's ref is written (temp file + rename) only after its objects, so a writer killed at any
moment leaves either a complete candidate or none. One writer at a time: the first ``record()``
takes ``lineage.lock`` (pid + process start time; a dead process's lock is taken over). Readers
need no lock.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import tempfile
import threading
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

from codeevo.candidate import Candidate
from codeevo.errors import RunDirError
from codeevo.lineage.lock import LineageError as LineageError
from codeevo.lineage.lock import WriterLock
from codeevo.lineage.rules import is_ok, rank_key

EPOCH = 1_577_836_800  # 2020-01-01T00:00:00Z; commit time = EPOCH + seq, so SHAs are reproducible
IDENT = "codeevo <codeevo@localhost>"
FILE_CAP = 64 * 1024  # bytes kept per extra file
# Candidates are lightweight tags: `git clone` carries every one, `git show c000042:...` works.
CANDIDATE_REFS = "refs/tags/"
BODY_PREFIX = "codeevo-candidate: "
LOCK_FILE = "lineage.lock"
CANDIDATE_JSON = "candidate.json"
_TMP_OBJ = "codeevo_tmp_"  # temp objects sit in objects/, which git fsck does not scan
_TMP_DIR = "codeevo-tmp"  # outside refs/, so a torn temp ref is never mistaken for a ref
_ID_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")



def _git(git_dir: Path, *args: str, stdin: bytes | None = None) -> bytes:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    proc = subprocess.run(
        ["git", f"--git-dir={git_dir}", *args],
        input=stdin,
        capture_output=True,
        env=env,
        check=False,
    )
    if proc.returncode != 0:
        err = proc.stderr.decode(errors="replace").strip()
        raise LineageError(f"git {args[0]} failed in {git_dir}: {err}")
    return proc.stdout


def _encode(text: str) -> bytes:
    try:
        return text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return text.encode("utf-8", "replace")


def _decode(data: bytes) -> str:
    return data.decode("utf-8", "surrogateescape")


def cap_text(text: str, cap: int = FILE_CAP) -> bytes:
    """UTF-8 bytes of `text`, cut to `cap` bytes (on a character boundary) with a note."""
    data = _encode(text)
    if len(data) <= cap:
        return data
    kept = data[:cap].decode("utf-8", "ignore").encode("utf-8")
    return kept + f"\n[codeevo: truncated, kept {len(kept)} of {len(data)} bytes]\n".encode()


def candidate_json(candidate: Candidate) -> str:
    """The candidate.json text: the model dumped as JSON, sorted keys, indent 1."""
    return json.dumps(candidate.model_dump(mode="json"), sort_keys=True, indent=1) + "\n"


def _fmt(x: float) -> str:
    return f"{x:.4f}"


def build_message(candidate: Candidate, parent_score: float | None) -> str:
    """One log line, e.g. ``diff on island 2 by openai/gpt-4.1-mini: 2.6104 (+0.0123)``."""
    who = candidate.operator
    if candidate.operator != "seed" or candidate.island != 0:
        who += f" on island {candidate.island}"
    if candidate.model:
        who += f" by {candidate.model}"
    if candidate.ok:
        assert candidate.score is not None
        line = f"{who}: {_fmt(candidate.score)}"
        if parent_score is not None:
            line += f" ({candidate.score - parent_score:+.4f})"
        return line
    line = f"{who}: {candidate.status.value}"
    if candidate.stage:
        line += f" at {candidate.stage}"
    if candidate.reason:
        reason = " ".join(candidate.reason.split())
        line += f" ({reason[:117] + '...' if len(reason) > 120 else reason})"
    return line


def _check_path(path: str, reserved: set[str]) -> tuple[str, ...]:
    parts = tuple(path.split("/"))
    bad = (
        not path
        or path in reserved
        or any(p in ("", ".", "..") or p.lower().startswith(".git") or "\0" in p for p in parts)
    )
    if bad:
        raise LineageError(f"bad file path for a lineage commit: {path!r}")
    return parts


class GitLineageStore:
    """The real LineageStore: a bare git repository, one commit per candidate.

    Open with ``create(path)`` (new repository) or ``open(path)`` (existing). Any number of
    readers; one writer (the first ``record()`` takes ``lineage.lock``). ``close()`` releases it.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = WriterLock(path / LOCK_FILE)
        self._commits: dict[str, str] = {}  # candidate id -> commit sha
        self._entries: dict[str, str] = {}  # candidate id -> program file name
        self._scores: dict[str, float | None] = {}  # OK score, or None
        self._best: tuple[float, int, str] | None = None  # rules.rank_key of the best OK one
        self._newest: tuple[int, str] | None = None
        self._objects = path / "objects"
        self._fans: set[str] = set()  # objects/xx folders known to exist
        self._repo: Any = None  # git.Repo for reads, made on first read
        self._read_lock = threading.RLock()  # gitpython's cat-file pipe is not thread-safe

    # -- construction -----------------------------------------------------------------------

    @classmethod
    def create(cls, path: Path) -> GitLineageStore:
        """Make a new bare lineage repository at `path` (which must be absent or empty)."""
        path = Path(path)
        if path.exists() and (not path.is_dir() or any(path.iterdir())):
            raise RunDirError(f"cannot create a lineage at {path}: it exists and is not empty")
        import git

        git.Repo.init(path, bare=True, mkdir=True)
        (path / "HEAD").write_text("ref: refs/heads/main\n")
        # Marks the repo as ours; only porcelain runs auto-gc, but keep it off for our writes.
        _git(path, "config", "codeevo.lineage", "1")
        _git(path, "config", "gc.auto", "0")
        return cls(path)

    @classmethod
    def open(cls, path: Path) -> GitLineageStore:
        """Open an existing lineage repository (bare, e.g. ``runs/x/lineage.git``)."""
        path = Path(path)
        if not (path / "HEAD").is_file() or not (path / "objects").is_dir():
            raise RunDirError(f"not a lineage repository (no bare git repo there): {path}")
        return cls(path)

    def close(self) -> None:
        """Release the writer lock and the reader's git process."""
        self._lock.release()
        if self._repo is not None:
            self._repo.close()
            self._repo = None

    def __enter__(self) -> GitLineageStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- writing ------------------------------------------------------------------------------

    def record(
        self,
        candidate: Candidate,
        program: str,
        files: dict[str, str] | None = None,
        message: str | None = None,
    ) -> str:
        """Write `candidate` as one commit and its ref; return the commit sha.

        Recording the same candidate again with the same content is a no-op that returns the
        same sha; a different candidate under a recorded id is an error, as is a parent id not
        recorded yet. Extra `files` (e.g. ``exchange/prompt.md``) are capped at 64 KiB each.
        """
        if not self._lock.held:
            self._start_writing()
        if not _ID_RE.match(candidate.id) or candidate.id.endswith(".lock"):
            raise LineageError(f"candidate id {candidate.id!r} cannot name a git ref")
        missing = [p for p in candidate.parents if p not in self._commits]
        if missing:
            raise LineageError(f"{candidate.id}: parent(s) not recorded yet: {', '.join(missing)}")
        primary = candidate.parents[0] if candidate.parents else None
        parent_score = self._scores.get(primary) if primary else None
        subject = message if message is not None else build_message(candidate, parent_score)
        sha = self._write_commit(candidate, program, files or {}, subject)
        if candidate.id in self._commits:
            if self._commits[candidate.id] != sha:
                raise LineageError(f"{candidate.id} is already recorded with other content")
            return sha
        self._write_ref(f"{CANDIDATE_REFS}{candidate.id}", sha)
        self._note(candidate.model_dump(mode="json"), sha)
        if self.best_id() == candidate.id:
            self._write_ref("refs/heads/main", sha)
        return sha

    def _start_writing(self) -> None:
        self._lock.acquire()
        for stale in self._objects.glob(f"{_TMP_OBJ}*"):  # a killed writer's temp objects
            stale.unlink(missing_ok=True)
        (self.path / _TMP_DIR).mkdir(exist_ok=True)
        for stale in (self.path / _TMP_DIR).iterdir():
            stale.unlink(missing_ok=True)
        self.records()  # another writer may have added candidates since open()

    def _store(self, kind: bytes, data: bytes) -> bytes:
        """Write one loose object (zlib of "<kind> <size>\\0<data>", named by its sha1) by temp
        file + rename. Leaner than gitdb's LooseObjectDB.store (no mkstemp/makedirs/stat/chmod
        per object), which measured 1.5-2x slower; the bytes on disk are the same."""
        raw = kind + b" %d\0" % len(data) + data
        digest = hashlib.sha1(raw)
        hexsha = digest.hexdigest()
        fan = self._objects / hexsha[:2]
        final = fan / hexsha[2:]
        if hexsha[:2] not in self._fans:
            fan.mkdir(exist_ok=True)
            self._fans.add(hexsha[:2])
        elif final.exists():  # same content already stored (objects are immutable)
            return digest.digest()
        tmp = self._objects / f"{_TMP_OBJ}{os.getpid()}_{hexsha}"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o444)
        try:
            os.write(fd, zlib.compress(raw, 1))
        finally:
            os.close(fd)
        os.replace(tmp, final)
        return digest.digest()

    def _write_tree(self, entries: dict[str, Any]) -> bytes:
        # Git orders a tree's entries by name, a subtree's name compared as "name/".
        items: list[tuple[bytes, bytes, bytes]] = []
        for name, value in entries.items():
            bname = _encode(name)
            if isinstance(value, dict):
                items.append((bname + b"/", b"40000 " + bname, self._write_tree(value)))
            else:
                items.append((bname, b"100644 " + bname, self._store(b"blob", value)))
        items.sort(key=lambda item: item[0])
        return self._store(b"tree", b"".join(head + b"\0" + sha for _, head, sha in items))

    def _write_commit(
        self, candidate: Candidate, program: str, files: dict[str, str], subject: str
    ) -> str:
        root: dict[str, Any] = {}
        contents = [
            (candidate.entry, _encode(program), {CANDIDATE_JSON}),
            (CANDIDATE_JSON, _encode(candidate_json(candidate)), set()),
        ]
        reserved = {CANDIDATE_JSON, candidate.entry}
        contents += [(path, cap_text(text), reserved) for path, text in sorted(files.items())]
        for path, data, taken in contents:
            parts = _check_path(path, taken)
            node = root
            for part in parts[:-1]:
                child = node.setdefault(part, {})
                if not isinstance(child, dict):
                    raise LineageError(f"{candidate.id}: {path!r} clashes with a file")
                node = child
            if parts[-1] in node:
                raise LineageError(f"{candidate.id}: {path!r} is given twice or clashes")
            node[parts[-1]] = data
        tree = self._write_tree(root)
        when = f"{EPOCH + candidate.seq} +0000"
        lines = [f"tree {tree.hex()}"]
        # dict.fromkeys: a crossover of a parent with itself still gets one parent line
        lines += [f"parent {self._commits[p]}" for p in dict.fromkeys(candidate.parents)]
        lines += [f"author {IDENT} {when}", f"committer {IDENT} {when}", ""]
        body = json.dumps(candidate.model_dump(mode="json"), sort_keys=True)
        lines += [subject.rstrip("\n"), "", BODY_PREFIX + body, ""]
        return self._store(b"commit", _encode("\n".join(lines))).hex()

    def _write_ref(self, ref: str, sha: str) -> None:
        target = self.path / ref
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.path / _TMP_DIR)
        with os.fdopen(fd, "w") as fh:
            fh.write(sha + "\n")
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)  # atomic: readers see the old ref or the new, never a torn one

    def _note(self, c: dict[str, Any], sha: str) -> None:
        """Index one candidate (candidate.json as a dict) for parents, messages and HEAD."""
        cid, seq = str(c["id"]), int(c["seq"])
        score: float | None = c.get("score")
        ok = is_ok(c["status"], score)
        self._commits[cid] = sha
        self._entries[cid] = c["entry"]
        self._scores[cid] = score if ok else None
        if self._newest is None or seq >= self._newest[0]:
            self._newest = (seq, cid)
        if ok:
            key = rank_key(_Ranked(score, seq, cid))
            if self._best is None or key < self._best:
                self._best = key

    # -- reading ------------------------------------------------------------------------------

    def records(self) -> list[tuple[dict[str, Any], str]]:
        """(candidate.json as a dict, commit sha) for every candidate with a ref, in seq order.

        One `git for-each-ref` reads the commit bodies; no trees, no validation (the fast path
        for indexes such as LineageDAG). Re-read from disk on each call, so readers see new
        candidates; the store's id -> commit map is refreshed too.
        """
        out = _git(
            self.path,
            "for-each-ref",
            "--format=%(objectname)%00%(refname:lstrip=2)%00%(contents)%00",
            f"{CANDIDATE_REFS}c[0-9]*",
        )
        fields = out.split(b"\0")
        found: list[tuple[dict[str, Any], str]] = []
        missing: list[tuple[str, str]] = []
        marker = b"\n" + BODY_PREFIX.encode()
        for i in range(0, len(fields) - 2, 3):
            sha, text = fields[i].strip().decode(), fields[i + 2]
            at = text.rfind(marker)
            if at < 0:
                missing.append((sha, fields[i + 1].decode()))
                continue
            found.append((json.loads(text[at + len(marker) :].split(b"\n", 1)[0]), sha))
        if missing:  # a commit made by other tools: read its candidate.json instead
            query = b"".join(f"{sha}:{CANDIDATE_JSON}\n".encode() for sha, _ in missing)
            blobs = _parse_batch(_git(self.path, "cat-file", "--batch", stdin=query))
            for (sha, ref_id), blob in zip(missing, blobs, strict=True):
                if blob is None:
                    raise LineageError(f"{ref_id} ({sha}) has no {CANDIDATE_JSON}")
                found.append((json.loads(blob), sha))
        found.sort(key=lambda item: (item[0]["seq"], item[0]["id"]))
        self._commits, self._entries, self._scores = {}, {}, {}
        self._best, self._newest = None, None
        for record, sha in found:
            self._note(record, sha)
        return found

    def candidates(self) -> Iterator[Candidate]:
        """Every recorded candidate in seq order (re-read from disk, so a reader sees new ones)."""
        for record, _ in self.records():
            yield Candidate.model_validate(record)

    def candidate(self, candidate_id: str) -> Candidate:
        """One recorded candidate, validated (LineageError for an unknown id).

        Reads that candidate's commit alone (its ref, then its body), so a reader that opened
        the store before the candidate was written still finds it without re-reading every ref.
        """
        sha = self.commit_of(candidate_id)
        with self._read_lock:
            return Candidate.model_validate(self._record_at(sha))

    def _record_at(self, sha: str) -> dict[str, Any]:
        """candidate.json of one commit, as a dict: from the body line, else from the tree."""
        commit = self._git_repo().commit(sha)
        message = commit.message
        text = message if isinstance(message, str) else _decode(message)
        at = text.rfind("\n" + BODY_PREFIX)
        if at >= 0:
            line = text[at + 1 + len(BODY_PREFIX):].split("\n", 1)[0]
        else:  # a commit made by other tools
            try:
                line = _decode(commit.tree[CANDIDATE_JSON].data_stream.read())
            except KeyError:
                raise LineageError(f"{sha} has no {CANDIDATE_JSON}") from None
        record = json.loads(line)
        if not isinstance(record, dict):
            raise LineageError(f"{sha}: {CANDIDATE_JSON} is not a JSON object")
        return record

    def commit_of(self, candidate_id: str) -> str:
        """The commit sha of a recorded candidate (LineageError for an unknown id)."""
        if candidate_id not in self._commits:
            self._lookup(candidate_id)
        try:
            return self._commits[candidate_id]
        except KeyError:
            raise LineageError(f"no candidate {candidate_id!r} in {self.path}") from None

    def _lookup(self, candidate_id: str) -> None:
        """Learn one candidate written since the last full read: its ref alone, not every ref."""
        if not _ID_RE.match(candidate_id):
            return
        ref = f"{CANDIDATE_REFS}{candidate_id}"
        try:
            out = _git(self.path, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
        except LineageError:
            return
        sha = out.decode().strip()
        with self._read_lock:
            record = self._record_at(sha)
        if record.get("id") == candidate_id:
            self._note(record, sha)

    def _git_repo(self) -> Any:
        if self._repo is None:
            import git

            self._repo = git.Repo(self.path)
        return self._repo

    def best_id(self) -> str | None:
        """The id ``refs/heads/main`` points at: best OK candidate, else the newest."""
        return self._best[2] if self._best else self._newest[1] if self._newest else None

    def _tree(self, candidate_id: str) -> Any:
        sha = self.commit_of(candidate_id)
        return self._git_repo().commit(sha).tree

    def program(self, candidate_id: str) -> str:
        """The candidate's program text (the tree entry named by candidate.entry)."""
        with self._read_lock:
            tree = self._tree(candidate_id)
            return _decode(tree[self._entries[candidate_id]].data_stream.read())

    def programs(self, candidate_ids: list[str]) -> dict[str, str]:
        """Many programs through one `git cat-file --batch` (about 10,000 a second)."""
        for cid in candidate_ids:
            if cid not in self._commits:
                self.commit_of(cid)  # learns it, or raises LineageError
        if not candidate_ids:
            return {}
        query = b"".join(_encode(f"{self._commits[c]}:{self._entries[c]}\n")
                         for c in candidate_ids)
        blobs = _parse_batch(_git(self.path, "cat-file", "--batch", stdin=query))
        out: dict[str, str] = {}
        for cid, blob in zip(candidate_ids, blobs, strict=True):
            if blob is None:
                raise LineageError(f"{cid}: its commit has no {self._entries[cid]}")
            out[cid] = _decode(blob)
        return out

    def files(self, candidate_id: str) -> dict[str, str]:
        """The extra files (exchange/..., artifacts/...), as capped when recorded."""
        with self._read_lock:
            tree = self._tree(candidate_id)
            skip = (self._entries[candidate_id], CANDIDATE_JSON)
            return {
                item.path: _decode(item.data_stream.read())
                for item in tree.traverse()
                if item.type == "blob" and item.path not in skip
            }


class _Ranked(NamedTuple):
    score: float | None
    seq: int
    id: str


def open_store(path: Path) -> GitLineageStore:
    """Open a lineage for reading: a run directory holding ``lineage.git``, or the lineage
    repository itself. RunDirError names what is missing."""
    if (path / "lineage.git").is_dir():
        return GitLineageStore.open(path / "lineage.git")
    if (path / "HEAD").is_file() and (path / "objects").is_dir():
        return GitLineageStore.open(path)
    if not path.exists():
        raise RunDirError(f"no such run directory: {path}")
    raise RunDirError(f"not a run directory (no lineage.git inside): {path}")


def _parse_batch(out: bytes) -> list[bytes | None]:
    """Split `git cat-file --batch` output into object contents (None for a missing object)."""
    result: list[bytes | None] = []
    pos = 0
    while pos < len(out):
        end = out.index(b"\n", pos)
        header = out[pos:end].split()
        if header[-1] == b"missing":
            result.append(None)
            pos = end + 1
            continue
        size = int(header[2])
        result.append(out[end + 1 : end + 1 + size])
        pos = end + 1 + size + 1
    return result
