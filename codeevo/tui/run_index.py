"""An in-memory, incrementally updated index of a run's candidates, for the TUI's views.

Built once from the lineage store (``candidates()``, seq order) and then grown one candidate at a
time from ``evaluated`` events, so a live dashboard never rebuilds anything per event. It holds
only the light fields of each candidate; program text, exchanges and artifacts are read from the
store lazily when a candidate is opened.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from codeevo.candidate import Candidate, Status

# A leaderboard entry sorts best first, then by recording order.
_RankKey = tuple[float, int, str]


@dataclass
class Elite:
    """The best inserted candidate of one MAP-Elites cell on one island."""

    id: str
    score: float


@dataclass
class RunIndex:
    """Candidates by id, tree links (primary parent → children), leaderboard and elite grids."""

    candidates: dict[str, Candidate] = field(default_factory=dict)
    order: list[str] = field(default_factory=list)
    roots: list[str] = field(default_factory=list)
    children: dict[str, list[str]] = field(default_factory=dict)
    second_children: dict[str, list[str]] = field(default_factory=dict)
    # island → cell → elite; cells are tuples of bin indices
    grids: dict[int, dict[tuple[int, ...], Elite]] = field(default_factory=dict)
    # ids known only from an `evaluated` event so far (their full record is in the store)
    light: set[str] = field(default_factory=set)
    _ranked: list[_RankKey] = field(default_factory=list)

    @classmethod
    def build(cls, candidates: Iterable[Candidate]) -> RunIndex:
        index = cls()
        for cand in candidates:
            index.add(cand)
        return index

    def __len__(self) -> int:
        return len(self.order)

    def __contains__(self, cid: object) -> bool:
        return cid in self.candidates

    def get(self, cid: str) -> Candidate | None:
        return self.candidates.get(cid)

    def add(self, cand: Candidate, light: bool = False) -> bool:
        """Index one candidate (a repeat of a known id updates it in place); True if new.
        `light`: built from an event, lacking metrics/features/timings."""
        known = cand.id in self.candidates
        if light:
            self.light.add(cand.id)
        else:
            self.light.discard(cand.id)
        if known:
            old = self.candidates[cand.id]
            if old.ok and old.score is not None:
                self._unrank(old)
        self.candidates[cand.id] = cand
        if not known:
            self.order.append(cand.id)
            if cand.parents:
                self.children.setdefault(cand.parents[0], []).append(cand.id)
                for other in cand.parents[1:]:
                    self.second_children.setdefault(other, []).append(cand.id)
            else:
                self.roots.append(cand.id)
        if cand.ok and cand.score is not None:
            bisect.insort(self._ranked, (-cand.score, cand.seq, cand.id))
            if cand.inserted:
                self._place(cand.island, cand.cell, cand.id, cand.score)
        return not known

    def place_migrant(self, island: int, cell: list[int] | None, cid: str) -> None:
        """A `migrated` event: an elite copied onto another island's grid."""
        cand = self.candidates.get(cid)
        if cand is not None and cand.score is not None:
            self._place(island, cell if cell is not None else cand.cell, cid, cand.score)

    def _place(self, island: int, cell: list[int] | None, cid: str, score: float) -> None:
        key = tuple(cell) if cell else ()
        grid = self.grids.setdefault(island, {})
        current = grid.get(key)
        if current is None or score > current.score:
            grid[key] = Elite(cid, score)

    def _unrank(self, cand: Candidate) -> None:
        assert cand.score is not None
        key = (-cand.score, cand.seq, cand.id)
        i = bisect.bisect_left(self._ranked, key)
        if i < len(self._ranked) and self._ranked[i] == key:
            del self._ranked[i]

    # ------------------------------------------------------------------ queries

    def top(self, n: int) -> list[Candidate]:
        """The n best scored candidates, best first (ties: earliest first)."""
        return [self.candidates[cid] for _, _, cid in self._ranked[:n]]

    def best(self) -> Candidate | None:
        return self.candidates[self._ranked[0][2]] if self._ranked else None

    def rank_of(self, cid: str) -> int | None:
        """1-based rank among scored candidates, or None."""
        cand = self.candidates.get(cid)
        if cand is None or not cand.ok or cand.score is None:
            return None
        return bisect.bisect_left(self._ranked, (-cand.score, cand.seq, cand.id)) + 1

    def primary_parent(self, cid: str) -> str | None:
        cand = self.candidates.get(cid)
        if cand is None or not cand.parents:
            return None
        return cand.parents[0]

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

    def iter(self) -> Iterator[Candidate]:
        for cid in self.order:
            yield self.candidates[cid]


def candidate_from_event(event: dict[str, Any], seq: int) -> Candidate | None:
    """A light Candidate from an ``evaluated`` event (full record stays in the lineage store)."""
    cid = event.get("id")
    if not isinstance(cid, str):
        return None
    try:
        status = Status(str(event.get("status", "ok")))
    except ValueError:
        status = Status.CRASHED
    score = event.get("score")
    cell = event.get("cell")
    return Candidate(
        id=cid,
        seq=int(event.get("seq", _seq_of(cid, seq))),
        parents=[str(p) for p in event.get("parents") or []],
        operator=str(event.get("operator") or "?"),
        model=event.get("model"),
        island=int(event.get("island") or 0),
        cell=[int(x) for x in cell] if isinstance(cell, list) else None,
        status=status,
        stage=event.get("stage"),
        score=float(score) if isinstance(score, int | float) else None,
        cost=float(event.get("cost") or 0.0),
        inserted=bool(event.get("inserted", False)),
    )


def _seq_of(cid: str, default: int) -> int:
    """Ids are ``c`` + zero-padded seq (codeevo.candidate.candidate_id)."""
    digits = cid[1:]
    return int(digits) if cid.startswith("c") and digits.isdigit() else default
