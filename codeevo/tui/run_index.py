"""An in-memory, incrementally updated index of a run's candidates, for the TUI's views.

Built once from the lineage store's fast path (``records()``: plain dicts, no validation) and
then grown one candidate at a time from ``evaluated`` events, so a live dashboard never rebuilds
anything per event. It holds only the light fields of each candidate (a :class:`CandidateRow`);
the full record, program text, exchanges and artifacts are read from the store when a candidate
is opened.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from codeevo.candidate import Candidate, Status

_STATUS = {s.value: s for s in Status}
# A leaderboard entry sorts best first, then by recording order.
_RankKey = tuple[float, int, str]


@dataclass(slots=True)
class CandidateRow:
    """The fields of a candidate the dashboard, leaderboard and lineage tree show."""

    id: str
    seq: int
    parents: list[str]
    operator: str = "?"
    model: str | None = None
    island: int = 0
    cell: list[int] | None = None
    status: Status = Status.OK
    stage: str | None = None
    score: float | None = None
    cost: float = 0.0
    tokens: int = 0  # input + output, all calls that made it
    inserted: bool = False

    @property
    def ok(self) -> bool:
        return self.status == Status.OK

    @classmethod
    def from_record(cls, rec: dict[str, Any]) -> CandidateRow:
        """From candidate.json as a dict (the store's ``records()``), trusted as written."""
        try:  # the store writes every field: subscripts are the fast path of a 10k-run open
            status = _STATUS.get(rec["status"], Status.CRASHED)
            score = rec["score"]
            return cls(
                rec["id"], rec["seq"], rec["parents"], rec["operator"], rec["model"],
                rec["island"], rec["cell"], status, rec["stage"],
                None if score is None else float(score), rec["cost"], _total(rec["tokens"]),
                rec["inserted"],
            )
        except KeyError:  # written by another version: take what is there
            return cls.from_candidate(Candidate.model_validate(rec))

    @classmethod
    def from_candidate(cls, cand: Candidate) -> CandidateRow:
        return cls(
            id=cand.id, seq=cand.seq, parents=list(cand.parents), operator=cand.operator,
            model=cand.model, island=cand.island, cell=cand.cell, status=cand.status,
            stage=cand.stage, score=cand.score, cost=cand.cost, tokens=_total(cand.tokens),
            inserted=cand.inserted,
        )


@dataclass
class Elite:
    """The best inserted candidate of one MAP-Elites cell on one island."""

    id: str
    score: float


@dataclass
class RunIndex:
    """Candidates by id, tree links (primary parent → children), leaderboard and elite grids."""

    candidates: dict[str, CandidateRow] = field(default_factory=dict)
    order: list[str] = field(default_factory=list)
    roots: list[str] = field(default_factory=list)
    children: dict[str, list[str]] = field(default_factory=dict)
    second_children: dict[str, list[str]] = field(default_factory=dict)
    # island → cell → elite; cells are tuples of bin indices (one per feature dimension)
    grids: dict[int, dict[tuple[int, ...], Elite]] = field(default_factory=dict)
    _ranked: list[_RankKey] = field(default_factory=list)

    @classmethod
    def build(cls, rows: Iterable[CandidateRow | Candidate]) -> RunIndex:
        """Index many candidates at once (the leaderboard is sorted once, at the end)."""
        index = cls()
        for row in rows:
            index._link(row if isinstance(row, CandidateRow) else CandidateRow.from_candidate(row))
        index._ranked.sort()
        return index

    @classmethod
    def from_records(cls, records: Iterable[tuple[dict[str, Any], str]]) -> RunIndex:
        """From ``GitLineageStore.records()`` (seq order): the fast way to open a run."""
        return cls.build(CandidateRow.from_record(rec) for rec, _ in records)

    def __len__(self) -> int:
        return len(self.order)

    def __contains__(self, cid: object) -> bool:
        return cid in self.candidates

    @property
    def scored(self) -> int:
        """How many candidates have a score (the leaderboard's length)."""
        return len(self._ranked)

    def get(self, cid: str) -> CandidateRow | None:
        return self.candidates.get(cid)

    def add(self, row: CandidateRow) -> bool:
        """Index one candidate (a repeat of a known id updates it in place); True if new."""
        known = row.id in self.candidates
        if known:
            old = self.candidates[row.id]
            if old.ok and old.score is not None:
                self._unrank(old)
        self._link(row, rank=False)
        if row.ok and row.score is not None:
            bisect.insort(self._ranked, (-row.score, row.seq, row.id))
        return not known

    def _link(self, row: CandidateRow, rank: bool = True) -> None:
        """Store the row, its tree links and its elite; append its rank key (unsorted)."""
        known = row.id in self.candidates
        self.candidates[row.id] = row
        if not known:
            self.order.append(row.id)
            if row.parents:
                self.children.setdefault(row.parents[0], []).append(row.id)
                for other in row.parents[1:]:
                    self.second_children.setdefault(other, []).append(row.id)
            else:
                self.roots.append(row.id)
        if row.ok and row.score is not None:
            if rank:
                self._ranked.append((-row.score, row.seq, row.id))
            if row.inserted:
                self._place(row.island, row.cell, row.id, row.score)

    def place_migrant(self, island: int, cell: list[int] | None, cid: str) -> None:
        """A `migrated` event: an elite copied onto another island's grid."""
        row = self.candidates.get(cid)
        if row is not None and row.score is not None:
            self._place(island, cell if cell is not None else row.cell, cid, row.score)

    def _place(self, island: int, cell: list[int] | None, cid: str, score: float) -> None:
        key = tuple(cell) if cell else ()
        grid = self.grids.setdefault(island, {})
        current = grid.get(key)
        if current is None or score > current.score:
            grid[key] = Elite(cid, score)

    def _unrank(self, row: CandidateRow) -> None:
        assert row.score is not None
        key = (-row.score, row.seq, row.id)
        i = bisect.bisect_left(self._ranked, key)
        if i < len(self._ranked) and self._ranked[i] == key:
            del self._ranked[i]

    # ------------------------------------------------------------------ queries

    def top(self, n: int) -> list[CandidateRow]:
        """The n best scored candidates, best first (ties: earliest first)."""
        return [self.candidates[cid] for _, _, cid in self._ranked[:n]]

    def best(self) -> CandidateRow | None:
        return self.candidates[self._ranked[0][2]] if self._ranked else None

    def rank_of(self, cid: str) -> int | None:
        """1-based rank among scored candidates, or None."""
        row = self.candidates.get(cid)
        if row is None or not row.ok or row.score is None:
            return None
        return bisect.bisect_left(self._ranked, (-row.score, row.seq, row.id)) + 1

    def primary_parent(self, cid: str) -> str | None:
        row = self.candidates.get(cid)
        if row is None or not row.parents:
            return None
        return row.parents[0]

    def path_to_root(self, cid: str) -> list[str]:
        """cid, its primary parent, its parent's primary parent, ... up to a root (tree path)."""
        out: list[str] = []
        seen: set[str] = set()
        cur: str | None = cid
        while cur is not None and cur not in seen and cur in self.candidates:
            out.append(cur)
            seen.add(cur)
            cur = self.primary_parent(cur)
        return out

    def ancestry(self, cid: str) -> set[str]:
        """Every ancestor of cid through any parent (crossover included), cid itself too."""
        out: set[str] = set()
        stack = [cid]
        while stack:
            cur = stack.pop()
            if cur in out or cur not in self.candidates:
                continue
            out.add(cur)
            stack.extend(self.candidates[cur].parents)
        return out

    def kids(self, cid: str) -> list[str]:
        """Children whose primary parent is cid, in recording order."""
        return self.children.get(cid, [])

    def all_children(self, cid: str) -> list[str]:
        """Children through either parent slot, in recording order."""
        both = self.children.get(cid, []) + self.second_children.get(cid, [])
        return sorted(both, key=lambda c: self.candidates[c].seq)

    def islands(self) -> list[int]:
        return sorted({c.island for c in self.candidates.values()} | set(self.grids))

    def operators(self) -> list[str]:
        return sorted({c.operator for c in self.candidates.values()})

    def iter(self) -> Iterator[CandidateRow]:
        for cid in self.order:
            yield self.candidates[cid]


def candidate_from_event(event: dict[str, Any], seq: int) -> CandidateRow | None:
    """A row from an ``evaluated`` event (which carries seq, cost and tokens); `seq` is the
    fallback for logs written before events carried it."""
    cid = event.get("id")
    if not isinstance(cid, str):
        return None
    try:
        status = Status(str(event.get("status", "ok")))
    except ValueError:
        status = Status.CRASHED
    score = event.get("score")
    cell = event.get("cell")
    ev_seq = event.get("seq")
    return CandidateRow(
        id=cid,
        seq=int(ev_seq) if isinstance(ev_seq, int) else seq,
        parents=[str(p) for p in event.get("parents") or []],
        operator=str(event.get("operator") or "?"),
        model=event.get("model"),
        island=int(event.get("island") or 0),
        cell=[int(x) for x in cell] if isinstance(cell, list) else None,
        status=status,
        stage=event.get("stage"),
        score=float(score) if isinstance(score, int | float) else None,
        cost=float(event.get("cost") or 0.0),
        tokens=_total(event.get("tokens")),
        inserted=bool(event.get("inserted", False)),
    )


def _total(tokens: object) -> int:
    """A candidate's tokens ({"input": n, "output": m}) as one count."""
    if isinstance(tokens, dict):
        return sum(int(v) for v in tokens.values() if isinstance(v, int | float))
    return int(tokens) if isinstance(tokens, int | float) else 0
