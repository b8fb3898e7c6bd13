"""LineageDAG: a networkx index over a lineage, and the queries the CLI and the TUI ask of it.

Nodes are candidate ids carrying candidate.json's other fields (status as its string value) plus
``commit`` (the sha, when known) and ``delta`` (score minus the primary parent's score when both
are OK, else None). Edges run parent -> child with ``primary`` True for the first parent. The
index is a cache: rebuild it from the store (git is the store of record).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import networkx as nx

from codeevo.candidate import Candidate, Status
from codeevo.lineage.base import LineageStore
from codeevo.lineage.store import GitLineageStore, LineageError


@dataclass(frozen=True)
class Ancestry:
    """Where a candidate came from.

    Attributes:
        id: the candidate asked about.
        primary_line: seed -> ... -> id, following first (primary) parents.
        ancestors: every ancestor (through any parent), in seq order; excludes `id`.
    """

    id: str
    primary_line: list[str]
    ancestors: list[str]


@dataclass(frozen=True)
class OperatorStats:
    """How one operator fared.

    Attributes:
        proposed: candidates it produced (every status).
        ok: of those, evaluated with a score.
        failed_by_stage: non-OK candidates counted by stage (or by status when no stage).
        improved: OK candidates scoring above their OK primary parent.
        improvement_rate: improved / proposed.
        mean_delta: mean score minus primary parent's score over OK children of OK parents.
    """

    operator: str
    proposed: int = 0
    ok: int = 0
    failed_by_stage: dict[str, int] = field(default_factory=dict)
    improved: int = 0
    improvement_rate: float = 0.0
    mean_delta: float | None = None


def _is_ok(attrs: dict[str, Any]) -> bool:
    return bool(attrs["status"] == Status.OK.value and attrs.get("score") is not None)


class LineageDAG:
    """A lineage as a ``networkx.DiGraph`` (edge parent -> child), with queries by candidate id."""

    def __init__(self, graph: nx.DiGraph) -> None:
        self.graph = graph

    @classmethod
    def from_records(cls, records: Iterable[tuple[dict[str, Any], str | None]]) -> LineageDAG:
        """Build from (candidate.json dict, commit sha or None) pairs, parents before children."""
        nodes: dict[str, dict[str, Any]] = {}
        edges: list[tuple[str, str, dict[str, bool]]] = []
        for record, sha in records:
            attrs = dict(record)
            cid = attrs.pop("id")  # the node key is the id
            attrs["commit"] = sha
            attrs["delta"] = None
            parents = attrs["parents"]
            first = nodes.get(parents[0]) if parents else None
            if first is not None and _is_ok(attrs) and _is_ok(first):
                attrs["delta"] = attrs["score"] - first["score"]
            nodes[cid] = attrs
            for parent in dict.fromkeys(parents):
                if parent in nodes:  # always, for a lineage read from a store
                    edges.append((parent, cid, {"primary": parent == parents[0]}))
        graph: nx.DiGraph = nx.DiGraph()
        graph.add_nodes_from(nodes.items())
        graph.add_edges_from(edges)
        return cls(graph)

    @classmethod
    def from_candidates(cls, items: Iterable[tuple[Candidate, str | None]]) -> LineageDAG:
        """Build from (candidate, commit sha or None) pairs; parents must come before children."""
        return cls.from_records((c.model_dump(mode="json"), sha) for c, sha in items)

    @classmethod
    def load(cls, source: LineageStore | Path | str) -> LineageDAG:
        """Build from a store, a lineage repository path, or a run directory holding lineage.git."""
        if isinstance(source, str | Path):
            path = Path(source)
            if (path / "lineage.git").is_dir():
                path = path / "lineage.git"
            store = GitLineageStore.open(path)
            try:
                return cls.from_records(store.records())
            finally:
                store.close()
        if isinstance(source, GitLineageStore):
            return cls.from_records(source.records())
        candidates = list(source.candidates())
        return cls.from_candidates((c, source.commit_of(c.id)) for c in candidates)

    # -- lookups ------------------------------------------------------------------------------

    def __len__(self) -> int:
        return int(self.graph.number_of_nodes())

    def __contains__(self, candidate_id: object) -> bool:
        return candidate_id in self.graph

    def resolve(self, ref: str) -> str:
        """A candidate id, or ``best``; LineageError for an unknown id or an empty lineage."""
        if ref == "best":
            best = self.best()
            if best is None:
                raise LineageError("the lineage has no OK candidate yet")
            return best
        if ref not in self.graph:
            raise LineageError(f"no candidate {ref!r} in this lineage")
        return ref

    def node(self, candidate_id: str) -> dict[str, Any]:
        """The node's attributes (candidate.json fields + commit + delta)."""
        return dict(self.graph.nodes[self.resolve(candidate_id)])

    def candidate(self, candidate_id: str) -> Candidate:
        attrs = self.node(candidate_id)
        attrs.pop("commit")
        attrs.pop("delta")
        return Candidate.model_validate({"id": self.resolve(candidate_id), **attrs})

    def ids(self) -> list[str]:
        """Every candidate id in seq order."""
        return self._by_seq(self.graph.nodes)

    def _by_seq(self, ids: Iterable[str]) -> list[str]:
        nodes = self.graph.nodes
        return sorted(ids, key=lambda i: (nodes[i]["seq"], i))

    # -- queries ------------------------------------------------------------------------------

    def parents(self, candidate_id: str) -> list[str]:
        """Parents, primary first."""
        node = self.resolve(candidate_id)
        order = self.graph.nodes[node]["parents"]
        return sorted(self.graph.predecessors(node), key=order.index)

    def children(self, candidate_id: str) -> list[str]:
        """Direct children, in seq order."""
        return self._by_seq(self.graph.successors(self.resolve(candidate_id)))

    def primary_line(self, candidate_id: str) -> list[str]:
        """seed -> ... -> candidate, following primary parents."""
        line = [self.resolve(candidate_id)]
        while True:
            primary = [p for p, _, d in self.graph.in_edges(line[-1], data=True) if d["primary"]]
            if not primary:
                return line[::-1]
            line.append(primary[0])

    def ancestry(self, candidate_id: str) -> Ancestry:
        node = self.resolve(candidate_id)
        ancestors = self._by_seq(nx.ancestors(self.graph, node))
        return Ancestry(id=node, primary_line=self.primary_line(node), ancestors=ancestors)

    def descendants(self, candidate_id: str) -> list[str]:
        """Every descendant (through any parent), in seq order."""
        return self._by_seq(nx.descendants(self.graph, self.resolve(candidate_id)))

    def best(self) -> str | None:
        """The highest-scoring OK candidate (the earliest on a tie), or None."""
        best: tuple[float, int] | None = None
        best_id: str | None = None
        for node, attrs in self.graph.nodes(data=True):
            if _is_ok(attrs):
                key = (attrs["score"], -attrs["seq"])
                if best is None or key > best:
                    best, best_id = key, node
        return best_id

    def best_path(self) -> list[str]:
        """The primary line of the best candidate (empty when none is OK)."""
        best = self.best()
        return self.primary_line(best) if best is not None else []

    def operator_stats(self) -> dict[str, OperatorStats]:
        """Per operator: proposed, ok, failures by stage, improvements over the primary parent."""
        proposed: Counter[str] = Counter()
        ok: Counter[str] = Counter()
        improved: Counter[str] = Counter()
        failed: dict[str, Counter[str]] = {}
        deltas: dict[str, list[float]] = {}
        for attrs in self.graph.nodes.values():
            op = attrs["operator"]
            proposed[op] += 1
            if not _is_ok(attrs):
                failed.setdefault(op, Counter())[attrs.get("stage") or attrs["status"]] += 1
                continue
            ok[op] += 1
            if attrs["delta"] is not None:
                deltas.setdefault(op, []).append(attrs["delta"])
                improved[op] += attrs["delta"] > 0
        return {
            op: OperatorStats(
                operator=op,
                proposed=proposed[op],
                ok=ok[op],
                failed_by_stage=dict(sorted(failed.get(op, Counter()).items())),
                improved=improved[op],
                improvement_rate=improved[op] / proposed[op],
                mean_delta=sum(deltas[op]) / len(deltas[op]) if op in deltas else None,
            )
            for op in sorted(proposed)
        }
