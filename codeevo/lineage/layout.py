"""GraphLayout: a lineage laid out like a commit graph, one row per candidate, in lanes.

Rows run parents before children (seeds at the top). Each candidate's primary children follow
it depth first; its *heavy* child (the one with the most descendants) comes last and continues
in the parent's lane, every other child branches into the next lane to the right and its lane
closes when that subtree ends. A path from a seed crosses at most log2(n) branches, so a
10,000-candidate run needs about 14 lanes, however deep it is. Second parents (crossover) are
drawn in a band of merge lanes right of the tree; when the band is full an edge is a stub (the
view names the second parent instead of drawing the line).

Filters hide candidates without breaking lines: a shown candidate hangs under its nearest shown
primary ancestor (``skipped`` counts the generations in between). A collapsed candidate's
subtree, and (optionally) every long single-child chain, becomes one fold row.

Pure data over a :class:`~codeevo.lineage.index.LineageIndex`; the TUI draws it with box
characters, the HTML export with canvas lines. O(n) to build.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Collection
from dataclasses import dataclass

from codeevo.lineage.index import LineageIndex, Row

CHAIN_MIN = 3  # interior generations a single-child chain needs before it is folded


@dataclass(frozen=True)
class LayoutFilter:
    """Which candidates are shown; None means any. A score bound excludes unscored ones."""

    island: int | None = None
    operator: str | None = None
    status: str | None = None
    score_min: float | None = None
    score_max: float | None = None

    @property
    def active(self) -> bool:
        return any(v is not None for v in (self.island, self.operator, self.status,
                                            self.score_min, self.score_max))

    def matches(self, row: Row) -> bool:
        if self.island is not None and row.island != self.island:
            return False
        if self.operator is not None and row.operator != self.operator:
            return False
        if self.status is not None and row.status.value != self.status:
            return False
        if self.score_min is not None or self.score_max is not None:
            if not row.ok or row.score is None:
                return False
            if self.score_min is not None and row.score < self.score_min:
                return False
            if self.score_max is not None and row.score > self.score_max:
                return False
        return True


@dataclass(frozen=True, slots=True)
class GraphRow:
    """One line of the graph.

    Attributes:
        kind: "cand" (one candidate) or "fold" (several, folded into one line).
        id: the candidate (for a fold: the first one it stands for).
        lane: the lane of its node.
        branch: it opens its lane, branching off the lane to its left.
        through: bit mask of the other lanes whose lines pass this row.
        parent_row: the row of the candidate it hangs under (None for a seed).
        skipped: generations between it and that row hidden by a filter.
        ids: for a fold, every candidate it stands for.
    """

    kind: str
    id: str
    lane: int
    branch: bool
    through: int
    parent_row: int | None
    skipped: int = 0
    ids: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class MergeEdge:
    """A second-parent edge; `lane` is its merge-band lane, None when it is drawn as a stub."""

    parent: str
    child: str
    top: int
    bottom: int
    lane: int | None


class GraphLayout:
    """Rows, the row of each shown candidate, and the merge edges with their band lanes."""

    def __init__(self, rows: list[GraphRow], merges: list[MergeEdge], band: int) -> None:
        self.rows = rows
        self.row_of = {r.id: i for i, r in enumerate(rows) if r.kind == "cand"}
        for i, r in enumerate(rows):
            if r.kind == "fold":
                for cid in r.ids:
                    self.row_of.setdefault(cid, i)
        self.lanes = max((r.lane + 1 for r in rows), default=0)
        self.merges = merges
        self.band = band
        self._band_spans: list[list[tuple[int, int, MergeEdge]]] = [[] for _ in range(band)]
        for edge in merges:
            if edge.lane is not None:
                self._band_spans[edge.lane].append((edge.top, edge.bottom, edge))
        for spans in self._band_spans:
            spans.sort(key=lambda s: s[0])
        self._band_tops = [[s[0] for s in spans] for spans in self._band_spans]
        self._stubs: dict[str, list[str]] = {}
        for edge in merges:
            if edge.lane is None:
                self._stubs.setdefault(edge.child, []).append(edge.parent)

    def __len__(self) -> int:
        return len(self.rows)

    def band_at(self, row: int) -> list[MergeEdge | None]:
        """For each merge lane, the edge crossing or ending at `row` (None where free)."""
        out: list[MergeEdge | None] = []
        for spans, tops in zip(self._band_spans, self._band_tops, strict=True):
            i = bisect.bisect_right(tops, row) - 1  # spans on one lane never overlap
            out.append(spans[i][2] if i >= 0 and spans[i][1] >= row else None)
        return out

    def stubs(self, cid: str) -> list[str]:
        """Second parents of `cid` whose edge is not drawn (band full, or parent not shown)."""
        return self._stubs.get(cid, [])


def build_layout(
    index: LineageIndex,
    flt: LayoutFilter | None = None,
    collapsed: Collection[str] = (),
    fold_chains: bool = False,
    pinned: Collection[str] = (),
    max_band: int | Callable[[int], int] = 6,
) -> GraphLayout:
    """Lay out `index`: filtered by `flt`, subtrees of `collapsed` folded, single-child chains
    folded when `fold_chains` (never hiding a `pinned` id), at most `max_band` merge lanes.

    `max_band` may be a function of the tree's lane count (a view that fits the band into the
    width the tree leaves: one layout, not one to learn the lanes and another to draw)."""
    rows = index.rows
    show = flt.matches if flt is not None and flt.active else None
    near: dict[str, str | None] = {}  # nearest shown candidate on the primary line, inclusive
    gap: dict[str, int] = {}  # hidden generations between a candidate and near[] of it
    kids: dict[str, list[str]] = {}
    roots: list[str] = []
    skipped: dict[str, int] = {}
    for cid in index.order:
        row = rows[cid]
        parent = row.parents[0] if row.parents and row.parents[0] in near else None
        up = near[parent] if parent is not None else None
        hidden_between = gap[parent] if parent is not None else 0
        if show is None or show(row):
            near[cid], gap[cid] = cid, 0
            skipped[cid] = hidden_between if up is not None else 0
            (kids.setdefault(up, []) if up is not None else roots).append(cid)
        else:
            near[cid] = up
            gap[cid] = hidden_between + (1 if up is not None else 0)
    size: dict[str, int] = {}
    for cid in reversed(index.order):
        if cid in skipped:
            size[cid] = 1 + sum(size[k] for k in kids.get(cid, ()))
    folded = set(collapsed)
    keep = set(pinned)
    out: list[GraphRow] = []
    pending: dict[int, int] = {}  # lane -> children of its owner still to be placed
    open_mask = 0
    # (kind, id, lane, branch, parent lane or -1, parent row or -1, fold ids, after a fold)
    Item = tuple[str, str, int, bool, int, int, tuple[str, ...], str | None]
    stack: list[Item] = [("cand", r, 0, False, -1, -1, (), None) for r in reversed(roots)]

    def hang(items: list[Item], lane: int) -> None:
        nonlocal open_mask
        pending[lane] = len(items)
        open_mask |= 1 << lane
        stack.extend(reversed(items))

    while stack:
        kind, cid, lane, branch, plane, prow, ids, then = stack.pop()
        if plane >= 0:
            pending[plane] -= 1
            if pending[plane] == 0:
                open_mask &= ~(1 << plane)
        here = len(out)
        out.append(GraphRow(kind, cid, lane, branch, open_mask & ~(1 << lane),
                            prow if prow >= 0 else None,
                            skipped.get(cid, 0) if kind == "cand" else 0, ids))
        if kind == "fold":
            if then is not None:
                hang([("cand", then, lane, False, lane, here, (), None)], lane)
            continue
        below = kids.get(cid)
        if not below:
            continue
        if cid in folded:
            hidden = tuple(_subtree(cid, kids))
            hang([("fold", hidden[0], lane, False, lane, here, hidden, None)], lane)
            continue
        children = _order(below, size, rows)
        if fold_chains and len(children) == 1:
            chain = _chain(children[0], kids, keep, folded)
            if chain is not None:
                interior, end = chain
                hang([("fold", interior[0], lane, False, lane, here, interior, end)], lane)
                continue
        last = len(children) - 1
        hang([("cand", k, lane if i == last else lane + 1, i != last, lane, here, (), None)
              for i, k in enumerate(children)], lane)
    if callable(max_band):
        max_band = max(0, max_band(max((r.lane + 1 for r in out), default=0)))
    return _with_merges(index, out, max_band)


def _order(children: list[str], size: dict[str, int], rows: dict[str, Row]) -> list[str]:
    """Seq order, except the heavy child goes last (it continues the parent's lane): the one
    with the most descendants; on a tie an OK one, then the newest."""
    if len(children) < 2:
        return list(children)
    heavy = max(range(len(children)),
                key=lambda i: (size[children[i]], rows[children[i]].ok, i))
    return children[:heavy] + children[heavy + 1:] + [children[heavy]]


def _chain(start: str, kids: dict[str, list[str]], keep: set[str],
           folded: set[str]) -> tuple[tuple[str, ...], str] | None:
    """A single-child chain from `start`: (its interior generations, the one shown after
    them), when the interior is CHAIN_MIN or longer. Pinned or collapsed ids stay shown."""
    chain = [start]
    cur = start
    while cur not in keep and cur not in folded:
        below = kids.get(cur, [])
        if len(below) != 1:
            break
        cur = below[0]
        chain.append(cur)
    if len(chain) - 1 < CHAIN_MIN:
        return None
    return tuple(chain[:-1]), chain[-1]


def _subtree(cid: str, kids: dict[str, list[str]]) -> list[str]:
    out: list[str] = []
    stack = list(reversed(kids.get(cid, [])))
    while stack:
        cur = stack.pop()
        out.append(cur)
        stack.extend(reversed(kids.get(cur, [])))
    return out


def _with_merges(index: LineageIndex, rows: list[GraphRow], max_band: int) -> GraphLayout:
    where = {r.id: i for i, r in enumerate(rows) if r.kind == "cand"}
    edges: list[tuple[int, int, str, str]] = []
    stubs: list[MergeEdge] = []
    for r in rows:
        if r.kind != "cand":
            continue
        parents = index.rows[r.id].parents
        for other in dict.fromkeys(parents[1:]):
            if other == parents[0]:
                continue
            at = where.get(other)
            if at is None:
                stubs.append(MergeEdge(other, r.id, where[r.id], where[r.id], None))
            else:
                a, b = sorted((at, where[r.id]))
                edges.append((b, a, other, r.id))
    # Most edges on k lanes: by bottom, each onto the free lane that was freed last.
    ends: list[int] = []
    merges: list[MergeEdge] = []
    for bottom, top, parent, child in sorted(edges):
        free = [i for i, end in enumerate(ends) if end < top]
        if free:
            lane = max(free, key=lambda i: ends[i])
        elif len(ends) < max_band:
            lane = len(ends)
            ends.append(-1)
        else:
            merges.append(MergeEdge(parent, child, top, bottom, None))
            continue
        ends[lane] = bottom
        merges.append(MergeEdge(parent, child, top, bottom, lane))
    return GraphLayout(rows, merges + stubs, len(ends))
