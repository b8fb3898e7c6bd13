"""Where a dashboard's data comes from: a run directory read through the lineage store and its
event log. Every method here may block on disk or git, so the TUI calls them from workers.

A run written by another process is followed by polling ``events.jsonl``; a run driven by an
in-process engine gets the same events through the engine's ``on_event`` callback. Either way
the UI thread folds the events into a :class:`RunState` and a :class:`RunIndex`.
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
from codeevo.problem import load_problem
from codeevo.runs import RunDir
from codeevo.tui.run_index import RunIndex

TAIL_BYTES = 1 << 19  # how much of events.jsonl is read when a run is opened
FEED_KEEP = 300  # events of the past kept for the feed when a run is opened


@dataclass
class CandidateDetail:
    """Everything the candidate screen shows, read from the store in one go."""

    candidate: Candidate
    program: str
    files: dict[str, str]
    parent_programs: dict[str, str] = field(default_factory=dict)


@dataclass
class RunHead:
    """What the dashboard's first screen needs: past events (state and feed) and the problem."""

    events: list[dict[str, Any]]
    features: list[FeatureConfig]
    problem: str


@dataclass
class LoadedRun(RunHead):
    """A run opened in one go: its head plus the candidate index."""

    index: RunIndex = field(default_factory=RunIndex)


class RunSource:
    """A run directory opened read-only through the lineage store and the event log."""

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

    def load(self) -> LoadedRun:
        """Head and index in one call (blocking: call from a worker)."""
        head = self.load_head()
        return LoadedRun(head.events, head.features, head.problem, self.load_index())

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
            pass  # the heatmap falls back to the cells it has seen
        return RunHead(events, features, problem)

    def load_index(self) -> RunIndex:
        """Index every recorded candidate (blocking). Only light fields are read; programs,
        files and full records wait until a candidate is opened."""
        records = getattr(self.store, "records", None)
        if records is not None:  # the git store's fast path: commit bodies, no validation
            return RunIndex.from_records(records())
        return RunIndex.build(self.store.candidates())

    def _tail(self) -> list[dict[str, Any]]:
        """The events in the log's last TAIL_BYTES: enough for the header (the latest progress,
        start and stop) and the feed, without parsing a long run's whole history; the follower
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
        """The full record, program, extra files and parents' programs of one candidate
        (blocking)."""
        cand = self.full_candidate(cid)
        if cand is None:
            raise KeyError(cid)
        program = self.store.program(cid)
        files = self.store.files(cid)
        parents = {}
        for pid in cand.parents:
            try:
                parents[pid] = self.store.program(pid)
            except (KeyError, CodeevoError):
                continue
        return CandidateDetail(cand, program, files, parents)

    def full_candidate(self, cid: str) -> Candidate | None:
        """The full record (metrics, features, timings): the store's ``candidate(id)`` (one
        commit read) when it has one, else a scan of its candidates."""
        getter = getattr(self.store, "candidate", None)
        try:
            if getter is not None:
                found = getter(cid)
                return found if isinstance(found, Candidate) else None
            return next((c for c in self.store.candidates() if c.id == cid), None)
        except (KeyError, CodeevoError):
            return None

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
