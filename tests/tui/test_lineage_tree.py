"""The folded lineage tree: lines of descent, deep reveals, paging, and `u` up to the seed."""

from __future__ import annotations

import time

import pytest
from textual.app import App, ComposeResult

from codeevo.candidate import Status
from codeevo.tui.lineage_layout import LINE_MIN, LineageLayout
from codeevo.tui.run_index import CandidateRow, RunIndex
from codeevo.tui.widgets.lineage_tree import PAGE, LineageTree

pytestmark = pytest.mark.tui


def _row(seq: int, parent: int | None, ok: bool = True) -> CandidateRow:
    return CandidateRow(
        id=f"c{seq:06d}", seq=seq, parents=[] if parent is None else [f"c{parent:06d}"],
        operator="seed" if parent is None else "diff",
        status=Status.OK if ok else Status.FAILED, score=float(seq) if ok else None,
    )


def chain_index(length: int) -> RunIndex:
    """A seed, then a chain `length` generations deep; every 10th generation also has three
    failed children and a short two-generation side branch (so the chain is not bare)."""
    rows = [_row(0, None)]
    prev = 0
    seq = 1
    for gen in range(1, length + 1):
        rows.append(_row(seq, prev))
        me = seq
        seq += 1
        if gen % 10 == 0 and gen < length:
            for _ in range(3):
                rows.append(_row(seq, prev, ok=False))
                seq += 1
            rows.append(_row(seq, prev))
            rows.append(_row(seq + 1, seq))
            seq += 2
        prev = me
    # The tip is the last chain member: make it the newest row so order[-1] finds it.
    tip = next(r for r in reversed(rows) if r.id == f"c{prev:06d}")
    rows.remove(tip)
    tip.seq = seq
    rows.append(tip)
    return RunIndex.build(rows)


class _Host(App[None]):
    def __init__(self, index: RunIndex) -> None:
        super().__init__()
        self.index = index

    def compose(self) -> ComposeResult:
        yield LineageTree(self.index)


def _depth(node: object) -> int:
    d = 0
    cur = getattr(node, "parent", None)
    while cur is not None:
        d += 1
        cur = cur.parent
    return d


def test_heirs_lines_and_segments_of_a_small_tree() -> None:
    #   0 ─ 1 ─ 2 ─ 3 ─ 4 ─ 5        (the long line: 0..5)
    #       └ 6 ─ 7                  (a side branch of 1, too short to fold)
    parents = {1: 0, 2: 1, 3: 2, 4: 3, 5: 4, 6: 1, 7: 6}
    idx = RunIndex.build([_row(0, None)] + [_row(s, p) for s, p in parents.items()])
    fold = LineageLayout(idx)
    assert fold.heir["c000001"] == "c000002"  # 4 descendants beat 2
    assert fold.line("c000000") == [f"c{i:06d}" for i in range(6)]
    assert fold.folded("c000000") and not fold.folded("c000006")
    assert fold.side_kids("c000001", in_line=True) == ["c000006"]
    assert fold.side_kids("c000001", in_line=False) == ["c000002", "c000006"]
    assert fold.head_of("c000004") == "c000000" and fold.head_of("c000007") == "c000006"
    segs = fold.segments("c000007")
    assert [(s.first, s.last, s.folded) for s in segs] == [
        ("c000000", "c000001", True), ("c000006", "c000006", False),
        ("c000007", "c000007", False)]
    assert LINE_MIN == 4


async def test_revealing_the_tip_of_a_1500_deep_chain_is_quick_and_shallow() -> None:
    index = chain_index(1500)
    tip = index.order[-1]
    assert len(index.path_to_root(tip)) == 1501
    app = _Host(index)
    async with app.run_test(size=(120, 40)) as pilot:
        tree = app.query_one(LineageTree)
        t = time.perf_counter()
        node = tree.reveal(tip)
        await pilot.pause()
        took = time.perf_counter() - t
        assert node is not None and tree.selected_id() == tip
        assert took < 1.0, f"reveal took {took:.2f} s"
        # Only the page around the tip was built, a few levels down, not 1,500.
        assert len(tree.nodes_by_id) <= 2 * PAGE
        assert _depth(node) <= 3
        assert tree.last_line < 3 * PAGE
        # The flat line says what it holds.
        line = node.parent
        assert line is not None and line.data is not None and line.data.kind == "line"
        assert "1501 generations" in str(line.label)


async def test_u_walks_up_a_deep_chain_across_pages_and_past_failure_groups() -> None:
    index = chain_index(60)
    tip = index.order[-1]
    path = index.path_to_root(tip)
    app = _Host(index)
    async with app.run_test(size=(120, 40)) as pilot:
        tree = app.query_one(LineageTree)
        tree.reveal(tip)
        await pilot.pause()
        walked = [tree.selected_id()]
        for _ in range(len(path) - 1):
            await pilot.press("u")
            walked.append(tree.selected_id())
        assert walked == path  # every generation, across the "… earlier" pages too
        # A failure inside a collapsed group: `u` goes straight to its parent, no stop at
        # the group node.
        failed = next(r.id for r in index.iter() if r.status == Status.FAILED)
        parent = index.primary_parent(failed)
        assert parent is not None
        tree.open_node(tree.nodes_by_id[parent])
        await pilot.pause()
        group = next(c for c in tree.nodes_by_id[parent].children
                     if c.data is not None and c.data.kind == "group")
        tree.open_node(group)
        await pilot.pause()
        _ = tree.last_line
        tree.move_cursor(tree.nodes_by_id[failed])
        await pilot.pause()
        assert tree.selected_id() == failed
        await pilot.press("u")
        assert tree.selected_id() == parent


async def test_expanding_a_line_pages_it_and_pages_open_on_enter() -> None:
    index = chain_index(250)
    app = _Host(index)
    async with app.run_test(size=(120, 40)) as pilot:
        tree = app.query_one(LineageTree)
        await pilot.pause()
        line = tree.root.children[0]
        assert line.data is not None and line.data.kind == "line"
        tree.open_node(line)
        await pilot.pause()
        kinds = [c.data.kind for c in line.children if c.data is not None]
        assert kinds[:PAGE] == ["cand"] * PAGE and kinds[-1] == "more"
        more = line.children[-1]
        tree.open_node(more)
        await pilot.pause()
        assert len([c for c in line.children if c.data and c.data.kind == "cand"]) == 2 * PAGE
        # A member's side branches nest under it; the next generation is its next sibling.
        tenth = tree.nodes_by_id["c000009"]
        assert "+5 side" not in str(tenth.label)  # gen 10 has 3 failures + 1 branch
        assert "(+4 side)" in str(tenth.label)
        tree.open_node(tenth)
        await pilot.pause()
        kinds = [c.data.kind for c in tenth.children if c.data is not None]
        assert sorted(kinds) == ["cand", "group"]
