"""LineageIndex: the one read model of a run's lineage, for the engine, the CLI and the TUI.

An incremental index over every recorded candidate, holding only its light fields (a
:class:`Row`): children through any parent, the ranking (best first), each island's MAP-Elites
cells, the best score over evaluations (overall and per island) and outcome tallies per
operator and per model. It is filled from a store on open (``from_store``: the store's fast
``records()`` path) and kept current while a run is live by feeding it ``evaluated`` and
``migrated`` events (``apply``); adding a candidate is O(log n) and nothing is rebuilt.

What "ok" and "best" mean comes from :mod:`codeevo.lineage.rules`; nothing else decides it.
Programs, exchanges and full records are read from the store when asked for, not kept here.
"""

from __future__ import annotations

import bisect
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from codeevo.candidate import Candidate, Status, candidate_id
from codeevo.lineage.lock import LineageError
from codeevo.lineage.rules import INFRA, is_evaluated, is_ok, rank_key

if TYPE_CHECKING:
    from codeevo.lineage.base import LineageStore

_STATUS = {s.value: s for s in Status}
SORT_KEYS = ("rank", "id", "island", "operator", "model", "cost", "delta")


@dataclass(frozen=True, slots=True)
class Row:
    """The light fields of one candidate (what lists, graphs, maps and charts show)."""

    id: str
    seq: int
    parents: tuple[str, ...]
    operator: str
    model: str | None
    island: int
    cell: tuple[int, ...] | None
    status: Status
    stage: str | None
    reason: str | None
    score: float | None
    cost: float
    tokens: int  # input + output over every call that made it
    inserted: bool
    commit: str | None  # the candidate's commit sha, when known
    program_hash: str
    ok: bool  # rules.is_ok(status, score)

    @property
    def short(self) -> str:
        """The commit's short hash as `git log --oneline` prints it (7 characters), or ''."""
        return self.commit[:7] if self.commit else ""

    @classmethod
    def make(cls, cid: str, seq: int, parents: Iterable[str], operator: str,
             model: str | None, island: int, cell: Iterable[int] | None, status: Status,
             stage: str | None, reason: str | None, score: float | None, cost: float,
             tokens: int, inserted: bool, commit: str | None, program_hash: str) -> Row:
        return cls(cid, seq, tuple(parents), operator, model, island,
                   tuple(cell) if cell is not None else None, status, stage, reason, score,
                   cost, tokens, inserted, commit, program_hash, is_ok(status, score))

    @classmethod
    def from_record(cls, rec: dict[str, Any], commit: str | None = None) -> Row:
        """From candidate.json as a dict (a store's ``records()``), trusted as written."""
        try:  # the store writes every field: subscripts are the fast path of a 10k-run open
            score = rec["score"]
            return cls.make(
                rec["id"], rec["seq"], rec["parents"], rec["operator"], rec["model"],
                rec["island"], rec["cell"], _STATUS.get(rec["status"], Status.CRASHED),
                rec["stage"], rec["reason"], None if score is None else float(score),
                rec["cost"], _total(rec["tokens"]), rec["inserted"], commit,
                rec["program_hash"])
        except KeyError:  # written by another version: validate, defaults fill the gaps
            return cls.from_candidate(Candidate.model_validate(rec), commit)

    @classmethod
    def from_candidate(cls, cand: Candidate, commit: str | None = None) -> Row:
        return cls.make(cand.id, cand.seq, cand.parents, cand.operator, cand.model,
                        cand.island, cand.cell, cand.status, cand.stage, cand.reason,
                        cand.score, cand.cost, _total(cand.tokens), cand.inserted, commit,
                        cand.program_hash)

    @classmethod
    def from_event(cls, event: dict[str, Any], seq: int) -> Row | None:
        """From an ``evaluated`` event (None without an id); `seq` is the fallback for logs
        written before events carried it."""
        cid = event.get("id")
        if not isinstance(cid, str):
            return None
        score = event.get("score")
        cell = event.get("cell")
        ev_seq = event.get("seq")
        commit = event.get("commit")
        return cls.make(
            cid, ev_seq if isinstance(ev_seq, int) else seq,
            [str(p) for p in event.get("parents") or []], str(event.get("operator") or "?"),
            event.get("model"), int(event.get("island") or 0),
            [int(x) for x in cell] if isinstance(cell, list) else None,
            _STATUS.get(str(event.get("status", "ok")), Status.CRASHED), event.get("stage"),
            event.get("reason"), float(score) if isinstance(score, int | float) else None,
            float(event.get("cost") or 0.0), _total(event.get("tokens")),
            bool(event.get("inserted", False)), commit if isinstance(commit, str) else None, "")


@dataclass(frozen=True)
class Elite:
    """The best inserted candidate of one MAP-Elites cell on one island."""

    id: str
    score: float


@dataclass(frozen=True)
class CurvePoint:
    """The best score rose to `score` (candidate `id`) at the `evaluations`-th evaluation."""

    evaluations: int
    score: float
    id: str


@dataclass(frozen=True)
class Outcomes:
    """How the candidates of one operator (or one model) fared.

    Attributes:
        name: the operator or model.
        proposed: candidates it produced (every status).
        ok: of those, evaluated with a score (rules.is_ok).
        failed_by_stage: non-OK candidates counted by stage (or by status when no stage).
        improved: OK candidates scoring above their OK primary parent.
        improvement_rate: improved / proposed.
        mean_delta: mean score minus primary parent's score over OK children of OK parents.
    """

    name: str
    proposed: int = 0
    ok: int = 0
    failed_by_stage: dict[str, int] = field(default_factory=dict)
    improved: int = 0
    improvement_rate: float = 0.0
    mean_delta: float | None = None

    @property
    def success_rate(self) -> float:
        """ok / proposed."""
        return self.ok / self.proposed if self.proposed else 0.0


@dataclass
class _Tally:
    proposed: int = 0
    ok: int = 0
    improved: int = 0
    failed: Counter[str] = field(default_factory=Counter)
    delta_sum: float = 0.0
    delta_n: int = 0

    def outcomes(self, name: str) -> Outcomes:
        return Outcomes(
            name, self.proposed, self.ok, dict(sorted(self.failed.items())), self.improved,
            self.improved / self.proposed if self.proposed else 0.0,
            self.delta_sum / self.delta_n if self.delta_n else None)


@dataclass(frozen=True)
class Changes:
    """What one batch of events changed: the new candidates and the islands whose cells
    changed (a view redraws only those)."""

    new: list[str]
    islands: set[int]


class LineageIndex:
    """Rows by id in seq order, children through any parent, ranking, cells, curves, tallies.

    ``version`` increases with every change, so a view can tell whether to redraw.
    """

    def __init__(self) -> None:
        self.rows: dict[str, Row] = {}
        self.order: list[str] = []  # seq order
        self.roots: list[str] = []
        self.cells: dict[int, dict[tuple[int, ...], Elite]] = {}
        self.evaluations = 0
        self.version = 0
        self.program_hashes: set[str] = set()
        self._children: dict[str, list[str]] = {}
        self._ranked: list[tuple[float, int, str]] = []
        self._curve: list[CurvePoint] = []
        self._island_curves: dict[int, list[CurvePoint]] = {}
        self._tallies: dict[str, dict[str, _Tally]] = {"operator": {}, "model": {}}
        self._sorted: tuple[tuple[str, bool, int], list[str]] | None = None

    # ------------------------------------------------------------------ filling

    @classmethod
    def from_rows(cls, rows: Iterable[Row]) -> LineageIndex:
        index = cls()
        for row in rows:
            index.add(row)
        return index

    @classmethod
    def from_records(cls, records: Iterable[tuple[dict[str, Any], str | None]]) -> LineageIndex:
        """From (candidate.json dict, commit sha) pairs, as a store's ``records()`` gives."""
        return cls.from_rows(Row.from_record(rec, sha) for rec, sha in records)

    @classmethod
    def from_store(cls, store: LineageStore) -> LineageIndex:
        return cls.from_records(store.records())

    @classmethod
    def load(cls, path: Path | str) -> LineageIndex:
        """From a run directory or a lineage repository on disk (read-only)."""
        from codeevo.lineage.store import open_store

        with open_store(Path(path)) as store:
            return cls.from_store(store)

    def add(self, row: Row) -> bool:
        """Index one candidate; True if it was new. A repeat of a known id only teaches the
        index its commit (an event row first, the store's record later, or the reverse)."""
        old = self.rows.get(row.id)
        if old is not None:
            if old.commit is None and row.commit is not None:
                self.rows[row.id] = replace(old, commit=row.commit)
                self.version += 1
            return False
        self.rows[row.id] = row
        if self.order and row.seq < self.rows[self.order[-1]].seq:
            self._insert_late(row)
        else:
            self.order.append(row.id)
            for parent in dict.fromkeys(row.parents):
                self._children.setdefault(parent, []).append(row.id)
        if not row.parents:
            self.roots.append(row.id)
        if is_evaluated(row.status):
            self.evaluations += 1
        if row.program_hash and row.status != INFRA:  # an infra failure may be proposed again
            self.program_hashes.add(row.program_hash)
        self._tally(row)
        if row.ok:
            assert row.score is not None
            bisect.insort(self._ranked, rank_key(row))
            if row.inserted:
                self._place(row.island, row.cell, row.id, row.score)
            self._extend_curves(row)
        self.version += 1
        return True

    def _insert_late(self, row: Row) -> None:
        """A row older than the newest one (rare: events and records met out of order)."""
        seqs = [self.rows[i].seq for i in self.order]
        self.order.insert(bisect.bisect_right(seqs, row.seq), row.id)
        for parent in dict.fromkeys(row.parents):
            kids = self._children.setdefault(parent, [])
            kids.append(row.id)
            kids.sort(key=lambda c: self.rows[c].seq)
        self._rebuild_curves()

    def apply(self, events: Iterable[dict[str, Any]]) -> Changes:
        """Fold ``evaluated`` and ``migrated`` events in (other kinds are ignored)."""
        new: list[str] = []
        islands: set[int] = set()
        for event in events:
            kind = event.get("kind")
            if kind == "evaluated":
                row = Row.from_event(event, len(self.order))
                if row is not None and self.add(row):
                    new.append(row.id)
                    if row.inserted:
                        islands.add(row.island)
            elif kind == "migrated" and event.get("accepted", True):
                dest, cid = event.get("dest"), event.get("id")
                if isinstance(dest, int) and isinstance(cid, str) and self.place_migrant(dest,
                                                                                         cid):
                    islands.add(dest)
        return Changes(new, islands)

    def place_migrant(self, island: int, cid: str) -> bool:
        """An elite copied onto another island's grid (a `migrated` event)."""
        row = self.rows.get(cid)
        if row is None or not row.ok or row.score is None:
            return False
        self._place(island, row.cell, cid, row.score)
        self.version += 1
        return True

    def _place(self, island: int, cell: tuple[int, ...] | None, cid: str, score: float) -> None:
        grid = self.cells.setdefault(island, {})
        key = cell or ()
        current = grid.get(key)
        if current is None or score > current.score:
            grid[key] = Elite(cid, score)

    def _tally(self, row: Row) -> None:
        delta = self.delta(row.id)
        for kind, name in (("operator", row.operator), ("model", row.model)):
            if name is None:
                continue
            tallies = self._tallies[kind]
            t = tallies.get(name)
            if t is None:  # (setdefault would build a _Tally and its Counter every time)
                t = tallies[name] = _Tally()
            t.proposed += 1
            if not row.ok:
                t.failed[row.stage or row.status.value] += 1
                continue
            t.ok += 1
            if delta is not None:
                t.delta_sum += delta
                t.delta_n += 1
                t.improved += delta > 0

    def _extend_curves(self, row: Row) -> None:
        assert row.score is not None
        point = CurvePoint(self.evaluations, row.score, row.id)
        if not self._curve or row.score > self._curve[-1].score:
            self._curve.append(point)
        island = self._island_curves.setdefault(row.island, [])
        if not island or row.score > island[-1].score:
            island.append(point)

    def _rebuild_curves(self) -> None:
        self._curve, self._island_curves = [], {}
        evaluations = 0
        for cid in self.order:
            row = self.rows[cid]
            evaluations += is_evaluated(row.status)
            if row.ok and row.score is not None:
                point = CurvePoint(evaluations, row.score, cid)
                if not self._curve or row.score > self._curve[-1].score:
                    self._curve.append(point)
                island = self._island_curves.setdefault(row.island, [])
                if not island or row.score > island[-1].score:
                    island.append(point)

    # ------------------------------------------------------------------ lookups

    def __len__(self) -> int:
        return len(self.order)

    def __contains__(self, cid: object) -> bool:
        return cid in self.rows

    def __iter__(self) -> Iterator[Row]:
        for cid in self.order:
            yield self.rows[cid]

    @property
    def next_seq(self) -> int:
        """The seq the next recorded candidate gets: one past the highest recorded."""
        return self.rows[self.order[-1]].seq + 1 if self.order else 0

    def get(self, cid: str) -> Row | None:
        return self.rows.get(cid)

    def row(self, ref: str) -> Row:
        return self.rows[self.resolve(ref)]

    def resolve(self, ref: str) -> str:
        """A candidate id from ``best``, an id, a number (``42`` → ``c000042``) or a commit
        prefix of four or more hex digits; LineageError when none or several match."""
        ref = ref.strip()
        if ref == "best":
            best = self.best()
            if best is None:
                raise LineageError("the lineage has no OK candidate yet")
            return best.id
        if ref in self.rows:
            return ref
        if ref.isdigit() and candidate_id(int(ref)) in self.rows:
            return candidate_id(int(ref))
        if len(ref) >= 4 and all(ch in "0123456789abcdef" for ch in ref.lower()):
            hits = [c for c, r in self.rows.items() if r.commit and r.commit.startswith(ref)]
            if len(hits) == 1:
                return hits[0]
            if hits:
                raise LineageError(f"commit prefix {ref!r} matches {len(hits)} candidates")
        raise LineageError(f"no candidate {ref!r} in this lineage")

    def matching(self, text: str, limit: int = 20) -> list[str]:
        """Ids whose id, number or commit starts with `text` (for search boxes), seq order."""
        text = text.strip().lower()
        if not text:
            return []
        out = []
        for cid in self.order:
            row = self.rows[cid]
            number = text.isdigit() and cid[1:].isdigit() and str(int(cid[1:])).startswith(
                str(int(text)))
            if (cid.startswith(text) or number
                    or (row.commit is not None and len(text) >= 4
                        and row.commit.startswith(text))):
                out.append(cid)
                if len(out) >= limit:
                    break
        return out

    # ------------------------------------------------------------------ relatives

    def parents(self, cid: str) -> list[str]:
        """Recorded parents, primary first."""
        return [p for p in dict.fromkeys(self.rows[cid].parents) if p in self.rows]

    def children(self, cid: str) -> list[str]:
        """Children through any parent (a crossover child counts for both), seq order."""
        return self._children.get(cid, [])

    def primary_children(self, cid: str) -> list[str]:
        return [c for c in self.children(cid) if self.rows[c].parents[0] == cid]

    def primary_line(self, cid: str) -> list[str]:
        """seed → ... → cid, following primary parents."""
        line = [cid]
        seen = {cid}
        while True:
            parents = self.rows[line[-1]].parents
            if not parents or parents[0] not in self.rows or parents[0] in seen:
                return line[::-1]
            line.append(parents[0])
            seen.add(parents[0])

    def ancestors(self, cid: str) -> set[str]:
        """Every ancestor through any parent (cid excluded)."""
        out: set[str] = set()
        stack = list(self.rows[cid].parents)
        while stack:
            cur = stack.pop()
            if cur in out or cur not in self.rows:
                continue
            out.add(cur)
            stack.extend(self.rows[cur].parents)
        return out

    def descendants(self, cid: str) -> set[str]:
        """Every descendant through any parent (cid excluded)."""
        out: set[str] = set()
        stack = list(self.children(cid))
        while stack:
            cur = stack.pop()
            if cur not in out:
                out.add(cur)
                stack.extend(self.children(cur))
        return out

    def by_seq(self, ids: Iterable[str]) -> list[str]:
        return sorted(ids, key=lambda c: self.rows[c].seq)

    def delta(self, cid: str) -> float | None:
        """Score minus the primary parent's score, when both are OK."""
        row = self.rows[cid]
        parent = self.rows.get(row.parents[0]) if row.parents else None
        if parent is None or not row.ok or not parent.ok:
            return None
        assert row.score is not None and parent.score is not None
        return row.score - parent.score

    # ------------------------------------------------------------------ ranking

    @property
    def scored(self) -> int:
        """How many candidates are OK (the leaderboard's length)."""
        return len(self._ranked)

    def best(self) -> Row | None:
        return self.rows[self._ranked[0][2]] if self._ranked else None

    def top(self, n: int, offset: int = 0) -> list[Row]:
        """OK candidates best first (rules.rank_key), `n` from `offset`."""
        return [self.rows[k[2]] for k in self._ranked[offset:offset + n]]

    def rank_of(self, cid: str) -> int | None:
        """1-based rank among OK candidates, or None."""
        row = self.rows.get(cid)
        if row is None or not row.ok:
            return None
        return bisect.bisect_left(self._ranked, rank_key(row)) + 1

    def page(self, key: str = "rank", descending: bool = False, offset: int = 0,
             n: int = 50) -> list[Row]:
        """OK candidates sorted by `key` (one of SORT_KEYS; ties by rank), `n` from `offset`.
        ``rank`` ascending is best first; the order of other keys is cached per version."""
        if key not in SORT_KEYS:
            raise ValueError(f"unknown sort key {key!r} (choose {', '.join(SORT_KEYS)})")
        if key == "rank" and not descending:
            return self.top(n, offset)
        tag = (key, descending, self.version)
        if self._sorted is None or self._sorted[0] != tag:
            ids = [k[2] for k in self._ranked]
            if key != "rank":
                ids.sort(key=self._sort_value(key), reverse=descending)
            else:
                ids.reverse()
            self._sorted = (tag, ids)
        return [self.rows[c] for c in self._sorted[1][offset:offset + n]]

    def _sort_value(self, key: str) -> Any:
        rows = self.rows
        if key == "id":
            return lambda c: rows[c].seq
        if key == "delta":
            return lambda c: (d if (d := self.delta(c)) is not None else float("-inf"))
        if key in ("operator", "model"):
            return lambda c: str(getattr(rows[c], key) or "")
        return lambda c: getattr(rows[c], key)

    # ------------------------------------------------------------------ summaries

    def islands(self) -> list[int]:
        return sorted({r.island for r in self.rows.values()} | set(self.cells))

    def operator_names(self) -> list[str]:
        return sorted(self._tallies["operator"])

    def model_names(self) -> list[str]:
        return sorted(self._tallies["model"])

    def outcomes(self, by: str = "operator") -> dict[str, Outcomes]:
        """Per operator (``by="operator"``) or per model: proposed, ok, failures, improved."""
        return {name: t.outcomes(name) for name, t in sorted(self._tallies[by].items())}

    def best_curve(self, island: int | None = None) -> list[CurvePoint]:
        """Each rise of the best score, in evaluation order: overall, or on one island."""
        if island is None:
            return list(self._curve)
        return list(self._island_curves.get(island, []))


def _total(tokens: object) -> int:
    """A candidate's tokens ({"input": n, "output": m}) as one count."""
    if isinstance(tokens, dict):
        return sum(int(v) for v in tokens.values() if isinstance(v, int | float))
    return int(tokens) if isinstance(tokens, int | float) else 0
