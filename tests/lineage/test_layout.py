"""The commit-graph layout: every candidate below its parent, one edge per parent, few lanes on
huge runs, filters that keep lines connected, folds, and merge lanes that fall back to stubs."""

from __future__ import annotations

import math
import random

from codeevo.candidate import Status
from codeevo.lineage.index import LineageIndex, Row
from codeevo.lineage.layout import CHAIN_MIN, GraphLayout, LayoutFilter, build_layout
from tests.lineage.conftest import HAND_BUILT


def row(seq: int, parents: tuple[int, ...] = (), *, ok: bool = True, island: int = 0,
        op: str = "diff") -> Row:
    status = Status.OK if ok else Status.FAILED
    return Row.make(f"c{seq:06d}", seq, [f"c{p:06d}" for p in parents], op if parents else "seed",
                    None, island, None, status, None if ok else "stage1", None,
                    float(seq) if ok else None, 0.0, 0, False, f"{seq:040x}", "")


def random_index(n: int, seed: int, cross: float = 0.15) -> LineageIndex:
    rng = random.Random(seed)
    rows = [row(0)]
    for seq in range(1, n):
        pool = range(max(0, seq - 40), seq)  # parents among recent candidates, like elites
        first = rng.choice(pool)
        parents = (first,)
        if rng.random() < cross and seq > 2:
            parents = (first, rng.choice([p for p in pool if p != first] or [first]))
        rows.append(row(seq, parents, ok=rng.random() > 0.2, island=seq % 3,
                        op="crossover" if len(parents) > 1 else "diff"))
    return LineageIndex.from_rows(rows)


def check_edges(index: LineageIndex, lay: GraphLayout) -> None:
    """Every shown candidate hangs under the row of its nearest shown primary ancestor, drawn
    in that row's lane (the heavy child) or the lane right of it (a branch)."""
    for i, r in enumerate(lay.rows):
        if r.parent_row is None:
            assert r.lane == 0
            continue
        parent = lay.rows[r.parent_row]
        assert r.parent_row < i, "a candidate above its own parent"
        assert r.lane in (parent.lane, parent.lane + 1)
        assert r.branch == (r.lane == parent.lane + 1)
        for between in lay.rows[r.parent_row + 1:i]:  # the parent's lane is drawn down to it
            assert between.lane > parent.lane or (between.through >> parent.lane) & 1
        if r.kind == "cand" and parent.kind == "cand":
            shown = index.primary_line(r.id)[:-1]
            assert parent.id == shown[-1 - r.skipped]


def test_the_hand_built_lineage() -> None:
    from codeevo.lineage.memory import MemoryLineageStore

    store = MemoryLineageStore()
    for c in HAND_BUILT:
        store.record(c, "x\n")
    index = LineageIndex.from_store(store)
    lay = build_layout(index)
    assert [r.id for r in lay.rows] == [
        "c000001", "c000003", "c000002", "c000004", "c000008", "c000005", "c000006",
        "c000007"]
    check_edges(index, lay)
    # c000005's second parent (c000004) is drawn in a merge lane from row 3 to row 5.
    (merge,) = lay.merges
    assert (merge.parent, merge.child, merge.top, merge.bottom, merge.lane) == (
        "c000004", "c000005", 3, 5, 0)
    assert lay.band_at(4) == [merge] and lay.band_at(6) == [None]
    # Without room for merge lanes the edge is a stub that the view names.
    flat = build_layout(index, max_band=0)
    assert flat.band == 0 and flat.stubs("c000005") == ["c000004"]
    # The room for merge lanes can depend on the tree's own lanes (a view's width).
    asked: list[int] = []
    fitted = build_layout(index, max_band=lambda lanes: asked.append(lanes) or 0)
    assert asked == [lay.lanes] and fitted.band == 0 and fitted.stubs("c000005") == ["c000004"]
    assert build_layout(index, max_band=lambda lanes: 6).band == 1


def test_lanes_stay_logarithmic_on_big_random_runs() -> None:
    for seed in range(3):
        index = random_index(3000, seed)
        lay = build_layout(index)
        assert len(lay) == 3000
        assert sorted(lay.row_of) == sorted(index.order)
        assert lay.lanes <= math.log2(3000) + 1
        check_edges(index, lay)
        assert lay.band <= 6 and all(m.lane is None or m.lane < lay.band for m in lay.merges)


def test_a_long_chain_is_one_lane_and_folds() -> None:
    rows = [row(0)] + [row(i, (i - 1,)) for i in range(1, 1501)]
    index = LineageIndex.from_rows(rows)
    lay = build_layout(index)
    assert lay.lanes == 1 and len(lay) == 1501
    folded = build_layout(index, fold_chains=True)
    assert [r.kind for r in folded.rows] == ["cand", "fold", "cand"]
    assert folded.rows[1].ids == tuple(f"c{i:06d}" for i in range(1, 1500))
    assert folded.row_of["c000700"] == 1  # a folded id maps to its fold row
    check_edges(index, folded)
    # A pinned candidate stays visible: the chain folds on either side of it.
    pinned = build_layout(index, fold_chains=True, pinned={"c000700"})
    assert pinned.rows[pinned.row_of["c000700"]].kind == "cand"
    assert [r.kind for r in pinned.rows] == ["cand", "fold", "cand", "fold", "cand"]
    short = LineageIndex.from_rows([row(i, (i - 1,) if i else ()) for i in range(CHAIN_MIN)])
    assert all(r.kind == "cand" for r in build_layout(short, fold_chains=True).rows)


def test_collapsing_a_subtree() -> None:
    index = random_index(400, 7)
    seed_kids = index.primary_children("c000000")
    target = max(seed_kids, key=lambda c: len(index.descendants(c)))
    lay = build_layout(index, collapsed={target})
    fold = lay.rows[lay.row_of[target] + 1]
    assert fold.kind == "fold" and fold.parent_row == lay.row_of[target]
    hidden = set(fold.ids)
    assert hidden and all(index.primary_line(h)[:-1].count(target) == 1 for h in hidden)
    assert len(lay) == 400 - len(hidden) + 1
    check_edges(index, lay)


def test_filters_keep_lines_connected() -> None:
    index = random_index(600, 3)
    for flt in (LayoutFilter(island=1), LayoutFilter(status="failed"),
                LayoutFilter(operator="crossover"), LayoutFilter(score_min=300.0),
                LayoutFilter(score_min=100.0, score_max=200.0)):
        lay = build_layout(index, flt)
        want = {r.id for r in index if flt.matches(r)}
        assert set(lay.row_of) == want and want, flt
        check_edges(index, lay)
    # A failed leaf is shown by a status filter (leaves are not hidden by filters).
    failed = [r.id for r in index if not r.ok and not index.children(r.id)]
    assert set(failed) <= set(build_layout(index, LayoutFilter(status="failed")).row_of)
    assert not LayoutFilter().active and LayoutFilter(score_max=1.0).active
