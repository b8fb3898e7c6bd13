"""LineageDAG: a lineage as a networkx graph, for exports and graph algorithms.

Nodes are candidate ids carrying candidate.json's other fields (status as its string value) plus
``commit`` (the sha, when known) and ``delta`` (score minus the primary parent's score when both
are OK, else None). Edges run parent -> child with ``primary`` True for the first parent.

Queries (parents, children, ancestry, best, outcomes) are answered by the read model it carries
(``self.index``, a :class:`~codeevo.lineage.index.LineageIndex` built from the same records),
so "ok" and "best" mean here what they mean everywhere. The graph is a cache: rebuild it from
the store (git is the store of record).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import networkx as nx

from codeevo.candidate import Candidate
from codeevo.lineage.base import LineageStore
from codeevo.lineage.index import LineageIndex, Outcomes, Row


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


class LineageDAG:
    """A lineage as a ``networkx.DiGraph`` (edge parent -> child) plus its read model."""

    def __init__(self, graph: nx.DiGraph, index: LineageIndex) -> None:
        self.graph = graph
        self.index = index

    @classmethod
    def from_records(cls, records: Iterable[tuple[dict[str, Any], str | None]]) -> LineageDAG:
        """Build from (candidate.json dict, commit sha or None) pairs, parents before children."""
        index = LineageIndex()
        nodes: dict[str, dict[str, Any]] = {}
        edges: list[tuple[str, str, dict[str, bool]]] = []
        for record, sha in records:
            index.add(Row.from_record(record, sha))
            attrs = dict(record)
            cid = attrs.pop("id")  # the node key is the id
            attrs["commit"] = sha
            attrs["delta"] = index.delta(cid)
            nodes[cid] = attrs
            parents = attrs["parents"]
            for parent in dict.fromkeys(parents):
                if parent in nodes:  # always, for a lineage read from a store
                    edges.append((parent, cid, {"primary": parent == parents[0]}))
        graph: nx.DiGraph = nx.DiGraph()
        graph.add_nodes_from(nodes.items())
        graph.add_edges_from(edges)
        return cls(graph, index)

    @classmethod
    def from_candidates(cls, items: Iterable[tuple[Candidate, str | None]]) -> LineageDAG:
        """Build from (candidate, commit sha or None) pairs; parents must come before children."""
        return cls.from_records((c.model_dump(mode="json"), sha) for c, sha in items)

    @classmethod
    def load(cls, source: LineageStore | Path | str) -> LineageDAG:
        """Build from a store, a lineage repository path, or a run directory holding lineage.git."""
        if isinstance(source, str | Path):
            from codeevo.lineage.store import open_store

            with open_store(Path(source)) as store:
                return cls.from_records(store.records())
        return cls.from_records(source.records())

    # -- lookups ------------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self.index)

    def __contains__(self, candidate_id: object) -> bool:
        return candidate_id in self.index

    def resolve(self, ref: str) -> str:
        """A candidate id from an id, ``best``, a number or a commit prefix (LineageError)."""
        return self.index.resolve(ref)

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
        return list(self.index.order)

    # -- queries ------------------------------------------------------------------------------

    def parents(self, candidate_id: str) -> list[str]:
        """Parents, primary first."""
        return self.index.parents(self.resolve(candidate_id))

    def children(self, candidate_id: str) -> list[str]:
        """Direct children through any parent, in seq order."""
        return list(self.index.children(self.resolve(candidate_id)))

    def primary_line(self, candidate_id: str) -> list[str]:
        """seed -> ... -> candidate, following primary parents."""
        return self.index.primary_line(self.resolve(candidate_id))

    def ancestry(self, candidate_id: str) -> Ancestry:
        node = self.resolve(candidate_id)
        return Ancestry(id=node, primary_line=self.index.primary_line(node),
                        ancestors=self.index.by_seq(self.index.ancestors(node)))

    def descendants(self, candidate_id: str) -> list[str]:
        """Every descendant (through any parent), in seq order."""
        return self.index.by_seq(self.index.descendants(self.resolve(candidate_id)))

    def best(self) -> str | None:
        """The best OK candidate (rules.rank_key: highest score, the earliest on a tie)."""
        best = self.index.best()
        return best.id if best is not None else None

    def best_path(self) -> list[str]:
        """The primary line of the best candidate (empty when none is OK)."""
        best = self.best()
        return self.index.primary_line(best) if best is not None else []

    def operator_stats(self) -> dict[str, Outcomes]:
        """Per operator: proposed, ok, failures by stage, improvements over the primary parent."""
        return self.index.outcomes("operator")
