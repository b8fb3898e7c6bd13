"""LineageIndex, the one read model: rows, children through any parent, the ok rule, ranking,
cells, curves, tallies; fed from a store or from events, the same either way."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from codeevo.candidate import Candidate, Status
from codeevo.lineage.index import SORT_KEYS, LineageIndex, Row
from codeevo.lineage.lock import LineageError
from codeevo.lineage.memory import MemoryLineageStore
from codeevo.lineage.rules import is_ok, rank_key
from codeevo.lineage.store import GitLineageStore
from codeevo.population.archive import MapElitesArchive
from codeevo.stats import RunStats
from tests.lineage.conftest import HAND_BUILT, cand


def ids(*seqs: int) -> list[str]:
    return [f"c{s:06d}" for s in seqs]


@pytest.fixture
def index(hand_built: Path) -> LineageIndex:
    return LineageIndex.load(hand_built)


def _event(c: Candidate, commit: str | None = None) -> dict[str, object]:
    return {"kind": "evaluated", "id": c.id, "seq": c.seq, "parents": c.parents,
            "operator": c.operator, "model": c.model, "island": c.island,
            "status": c.status.value, "stage": c.stage, "reason": c.reason, "score": c.score,
            "cell": c.cell, "inserted": c.inserted, "cost": c.cost, "tokens": c.tokens,
            "commit": commit}


def test_children_count_a_crossover_child_under_both_parents(index: LineageIndex) -> None:
    assert index.children("c000004") == ids(5, 8)  # c000005's second parent is c000004
    assert index.children("c000002") == ids(4, 5)
    assert index.primary_children("c000004") == ids(8)
    assert index.parents("c000005") == ids(2, 4)
    assert index.ancestors("c000007") == set(ids(1, 2, 4, 5))
    assert index.descendants("c000004") == set(ids(5, 6, 7, 8))
    assert index.primary_line("c000007") == ids(1, 2, 5, 7)
    assert index.roots == ids(1)


def test_one_ok_rule_everywhere() -> None:
    """status ok without a score, or with a NaN score, is not OK: for the value type, the
    index, the archive, the stats and the store's HEAD alike."""
    no_score = cand(2, (1,), score=None)
    nan = cand(3, (1,), score=math.nan)
    for c in (no_score, nan):
        assert c.status == Status.OK and not c.ok and not is_ok(c.status, c.score)
    store = MemoryLineageStore()
    for c in (cand(1), no_score, nan):
        store.record(c, "x = 1\n")
    idx = LineageIndex.from_store(store)
    assert [r.id for r in idx if r.ok] == ["c000001"] and idx.scored == 1
    assert idx.best() is not None and idx.best().id == "c000001"  # type: ignore[union-attr]
    assert idx.outcomes()["diff"].ok == 0
    archive = MapElitesArchive()
    assert not archive.add(no_score) and not archive.add(nan)
    assert RunStats.from_candidates([cand(1), no_score, nan]).ok == 1


def test_the_store_head_follows_the_same_ranking(tmp_path: Path) -> None:
    store = GitLineageStore.create(tmp_path / "l.git")
    store.record(cand(1, score=2.0), "a\n")
    store.record(cand(2, (1,), score=2.0), "b\n")  # a tie keeps the earlier one
    store.record(cand(3, (1,), score=math.nan), "c\n")
    assert store.best_id() == "c000001"
    store.record(cand(4, (1,), score=2.5), "d\n")
    assert store.best_id() == "c000004"
    store.close()
    idx = LineageIndex.load(tmp_path / "l.git")
    assert idx.best() is not None and idx.best().id == "c000004"  # type: ignore[union-attr]


def test_ranking_best_top_rank_and_pages(index: LineageIndex) -> None:
    best = index.best()
    assert best is not None and best.id == "c000005"
    assert [r.id for r in index.top(3)] == ids(5, 7, 2)
    assert index.rank_of("c000007") == 2 and index.rank_of("c000006") is None
    assert index.scored == 5
    assert [r.id for r in index.top(2, offset=2)] == ids(2, 4)
    assert [r.id for r in index.page("rank", descending=True, n=2)] == ids(1, 4)
    assert [r.id for r in index.page("id", n=10)] == ids(1, 2, 4, 5, 7)
    assert [r.id for r in index.page("island", descending=True, n=1)] == ids(4)
    assert [r.id for r in index.page("delta", descending=True, n=2)] == ids(5, 2)  # tie: rank
    assert [r.id for r in index.page("operator", n=2)] == ids(4, 5)  # ast, crossover
    for key in SORT_KEYS:
        assert len(index.page(key, n=100)) == index.scored
    with pytest.raises(ValueError, match="unknown sort key"):
        index.page("colour")
    ranked = sorted((r for r in index if r.ok), key=rank_key)
    assert [r.id for r in ranked] == [r.id for r in index.top(100)]


def test_resolve_ids_numbers_commit_prefixes_and_best(index: LineageIndex,
                                                      hand_built: Path) -> None:
    with GitLineageStore.open(hand_built / "lineage.git") as store:
        sha = store.commit_of("c000004")
    assert index.rows["c000004"].commit == sha and index.rows["c000004"].short == sha[:7]
    assert index.resolve("c000004") == index.resolve("4") == index.resolve(sha[:8]) == "c000004"
    assert index.resolve("best") == "c000005"
    assert index.matching("c00000")[:3] == ids(1, 2, 3)
    assert index.matching(sha[:6]) == ["c000004"]
    with pytest.raises(LineageError, match="no candidate 'c000099'"):
        index.resolve("c000099")
    with pytest.raises(LineageError, match="no OK candidate"):
        LineageIndex().resolve("best")


def test_cells_curves_and_outcomes() -> None:
    store = MemoryLineageStore()
    rows = [
        cand(0, island=0, cell=[0, 0], inserted=True, score=1.0),
        cand(1, (0,), island=1, cell=[0, 0], inserted=True, score=0.5, model="m/a"),
        cand(2, (0,), island=0, cell=[0, 0], inserted=True, score=2.0, model="m/b"),
        cand(3, (0,), island=1, status=Status.REJECTED, score=None, stage="parse",
             model="m/a"),
        cand(4, (1,), island=1, cell=[1, 0], inserted=True, score=0.75, model="m/a"),
        cand(5, (2,), island=0, cell=[0, 0], inserted=False, score=1.5, model="m/b"),
    ]
    for c in rows:
        store.record(c, f"x = {c.seq}\n")
    idx = LineageIndex.from_store(store)
    assert idx.cells[0][(0, 0)].id == "c000002" and idx.cells[1][(1, 0)].id == "c000004"
    assert idx.evaluations == 5
    assert [(p.evaluations, p.id) for p in idx.best_curve()] == [(1, "c000000"),
                                                                (3, "c000002")]
    assert [(p.evaluations, p.id) for p in idx.best_curve(1)] == [(2, "c000001"),
                                                                  (4, "c000004")]
    models = idx.outcomes("model")
    assert models["m/a"].proposed == 3 and models["m/a"].ok == 2
    assert models["m/a"].failed_by_stage == {"parse": 1}
    assert models["m/a"].improved == 1 and models["m/a"].success_rate == pytest.approx(2 / 3)
    assert models["m/b"].improved == 1 and models["m/b"].mean_delta == pytest.approx(0.25)
    assert idx.next_seq == 6 and idx.islands() == [0, 1]
    # A migrated elite lands on the other island's grid.
    changes = idx.apply([{"kind": "migrated", "id": "c000002", "source": 0, "dest": 1,
                          "accepted": True}])
    assert changes.islands == {1} and idx.cells[1][(0, 0)].id == "c000002"


def test_events_build_the_same_index_as_the_store(hand_built: Path) -> None:
    with GitLineageStore.open(hand_built / "lineage.git") as store:
        commits = {c.id: store.commit_of(c.id) for c in HAND_BUILT}
    from_store = LineageIndex.load(hand_built)
    live = LineageIndex()
    version = live.version
    changes = live.apply(_event(c, commits[c.id]) for c in HAND_BUILT)
    assert changes.new == [c.id for c in HAND_BUILT] and live.version > version
    assert [r.id for r in live] == [r.id for r in from_store]
    for cid in from_store.order:
        assert live.rows[cid] == from_store.rows[cid].__class__(
            **{**{f: getattr(from_store.rows[cid], f) for f in Row.__slots__},
               "program_hash": ""})
    assert live.outcomes() == from_store.outcomes()
    assert live.best_curve() == from_store.best_curve()
    assert live.children("c000004") == from_store.children("c000004")
    # A repeat (the event after the record, or the reverse) is not a second candidate.
    before = len(live)
    assert not live.add(from_store.rows["c000005"])
    assert len(live) == before


def test_an_event_without_a_commit_learns_it_from_the_record() -> None:
    idx = LineageIndex()
    c = cand(1)
    idx.apply([_event(c, None)])
    assert idx.rows["c000001"].commit is None
    idx.add(Row.from_candidate(c, "ab" * 20))
    assert idx.rows["c000001"].commit == "ab" * 20


def test_rows_arriving_out_of_order_keep_seq_order_and_curves() -> None:
    idx = LineageIndex()
    idx.add(Row.from_candidate(cand(1, score=1.0)))
    idx.add(Row.from_candidate(cand(3, (1,), score=3.0)))
    idx.add(Row.from_candidate(cand(2, (1,), score=2.0)))
    assert idx.order == ids(1, 2, 3) and idx.children("c000001") == ids(2, 3)
    assert [p.id for p in idx.best_curve()] == ids(1, 2, 3)
