"""RunReader: a run directory opened read-only, through its lineage store and its event log.

What every viewer of a run needs, in one place: the tail of ``events.jsonl`` (cheap at any
size), the read model of the lineage (``LineageIndex``, from the store's fast path), events
appended since (polling a file another process writes), and one candidate's full record,
program, files and parents' programs. Every method may block on disk or git: a UI calls them
from worker threads.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from codeevo.candidate import Candidate
from codeevo.config import FeatureConfig
from codeevo.errors import CodeevoError
from codeevo.events import EventFollower, decode_lines
from codeevo.lineage.base import LineageStore
from codeevo.lineage.index import LineageIndex
from codeevo.problem import load_problem
from codeevo.runs import RunDir

TAIL_BYTES = 1 << 19  # how much of events.jsonl is read when a run is opened
FEED_KEEP = 300  # events of the past kept for a feed when a run is opened


@dataclass(frozen=True)
class CandidateDetail:
    """One candidate as a detail view shows it, read from the store in one go."""

    candidate: Candidate
    commit: str
    program: str
    files: dict[str, str]
    parent_programs: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class RunHead:
    """What a first screen needs: past events (the log's tail) and the problem's features."""

    events: list[dict[str, Any]]
    features: list[FeatureConfig]
    problem: str


class RunReader:
    """Open with a run directory; `store` replaces the run's git store (a test double)."""

    def __init__(self, path: Path, store: LineageStore | None = None) -> None:
        self.run = RunDir.open(path)
        self.path = path
        self._store = store
        self.follower = EventFollower(self.run.events_path)

    @property
    def store(self) -> LineageStore:
        if self._store is None:
            from codeevo.lineage.store import GitLineageStore

            self._store = GitLineageStore.open(self.run.lineage_path)
        return self._store

    def load_head(self) -> RunHead:
        """The log's tail and the problem's feature dimensions: cheap at any run size."""
        events = self._tail()
        features: list[FeatureConfig] = []
        problem = Path(str(self.run.meta().get("problem", ""))).name
        try:
            prob = load_problem(self.run.problem_path())
            features = list(prob.config.features)
            problem = prob.name
        except CodeevoError:
            pass  # maps fall back to the cells they have seen
        return RunHead(events, features, problem)

    def load_index(self) -> LineageIndex:
        """The read model of every recorded candidate (blocking)."""
        return LineageIndex.from_store(self.store)

    def _tail(self) -> list[dict[str, Any]]:
        """The events in the log's last TAIL_BYTES: enough for a header (the latest progress,
        start and stop) and a feed, without parsing a long run's whole history; the follower
        then continues from the end of the last complete line."""
        path = self.run.events_path
        try:
            size = path.stat().st_size
        except FileNotFoundError:
            return []
        start = max(0, size - TAIL_BYTES)
        with path.open("rb") as fh:
            fh.seek(start)
            chunk = fh.read(size - start)
        if start > 0:
            cut = chunk.find(b"\n")
            chunk = chunk[cut + 1:] if cut >= 0 else b""
            start = size - len(chunk)
        end = chunk.rfind(b"\n") + 1  # a torn last line is left for the follower
        self.follower.offset = start + end
        return decode_lines(chunk[:end].splitlines())

    def poll(self) -> list[dict[str, Any]]:
        """Events appended since the last load/poll (complete lines only)."""
        return self.follower.poll()

    def detail(self, cid: str) -> CandidateDetail:
        """The full record, commit, program, extra files and parents' programs of one
        candidate (blocking; LineageError for an unknown id)."""
        cand = self.store.candidate(cid)
        parents = {}
        for pid in dict.fromkeys(cand.parents):
            try:
                parents[pid] = self.store.program(pid)
            except CodeevoError:
                continue
        return CandidateDetail(cand, self.store.commit_of(cid), self.store.program(cid),
                               self.store.files(cid), parents)

    def close(self) -> None:
        if self._store is not None:
            self._store.close()


def recent(events: list[dict[str, Any]], keep: int = FEED_KEEP) -> list[dict[str, Any]]:
    """The last `keep` events worth showing in a feed (progress lines are header-only)."""
    out: deque[dict[str, Any]] = deque(maxlen=keep)
    for ev in events:
        if ev.get("kind") != "progress":
            out.append(ev)
    return list(out)
