"""RunIndex: incremental indexing, leaderboard order, elites, tree links."""

from __future__ import annotations

from codeevo.candidate import Candidate, Status
from codeevo.tui.run_index import CandidateRow, RunIndex, candidate_from_event


def _c(seq: int, parents: list[str], score: float | None, **kw: object) -> Candidate:
    status = Status.OK if score is not None else Status.FAILED
    return Candidate(id=f"c{seq:06d}", seq=seq, parents=parents, score=score, status=status,
                     **kw)  # type: ignore[arg-type]


def test_top_best_and_rank_follow_scores() -> None:
    idx = RunIndex.build([_c(0, [], 1.0), _c(1, ["c000000"], 3.0), _c(2, ["c000000"], None),
                          _c(3, ["c000001"], 2.0)])
    assert [c.id for c in idx.top(2)] == ["c000001", "c000003"]
    best = idx.best()
    assert best is not None and best.id == "c000001"
    assert idx.rank_of("c000003") == 2
    assert idx.rank_of("c000002") is None


def test_ties_keep_the_earliest_first() -> None:
    idx = RunIndex.build([_c(0, [], 1.0), _c(1, ["c000000"], 1.0)])
    assert [c.id for c in idx.top(2)] == ["c000000", "c000001"]


def test_tree_links_ancestry_and_second_parents() -> None:
    idx = RunIndex.build([
        _c(0, [], 1.0), _c(1, ["c000000"], 2.0), _c(2, ["c000000"], 1.5),
        _c(3, ["c000001", "c000002"], 2.5, operator="crossover"),
    ])
    assert idx.roots == ["c000000"]
    assert idx.kids("c000000") == ["c000001", "c000002"]
    assert idx.kids("c000002") == []
    assert idx.all_children("c000002") == ["c000003"]
    assert idx.path_to_root("c000003") == ["c000003", "c000001", "c000000"]
    assert idx.ancestry("c000003") == {"c000000", "c000001", "c000002", "c000003"}


def test_grid_keeps_the_best_inserted_per_cell() -> None:
    idx = RunIndex()
    idx.add(_c(0, [], 1.0, island=0, cell=[1, 2], inserted=True))
    idx.add(_c(1, ["c000000"], 2.0, island=0, cell=[1, 2], inserted=True))
    idx.add(_c(2, ["c000000"], 9.0, island=0, cell=[1, 2], inserted=False))
    assert idx.grids[0][(1, 2)].id == "c000001"
    idx.place_migrant(3, None, "c000001")
    assert idx.grids[3][(1, 2)].id == "c000001"


def test_readding_an_id_updates_instead_of_duplicating() -> None:
    idx = RunIndex()
    assert idx.add(CandidateRow.from_candidate(_c(0, [], 1.0)))
    assert not idx.add(CandidateRow.from_candidate(_c(0, [], 5.0)))
    assert len(idx) == 1 and idx.top(5)[0].score == 5.0 and idx.scored == 1


def test_rows_from_records_match_rows_from_validated_candidates() -> None:
    cands = [_c(0, [], 1.0, model="m", cost=0.5, tokens={"input": 3, "output": 4},
                island=1, cell=[2, 3], inserted=True),
             _c(1, ["c000000"], None, stage="validate")]
    fast = RunIndex.from_records((c.model_dump(mode="json"), "sha") for c in cands)
    slow = RunIndex.build(cands)
    assert fast.candidates == slow.candidates
    row = fast.candidates["c000000"]
    assert (row.status, row.tokens, row.cost, row.cell) == (Status.OK, 7, 0.5, [2, 3])
    assert fast.candidates["c000001"].status == Status.FAILED
    assert fast.grids == slow.grids == {1: {(2, 3): fast.grids[1][(2, 3)]}}


def test_candidate_from_event_reads_the_engine_fields() -> None:
    ev = {"t": 1.0, "kind": "evaluated", "id": "x-12", "seq": 12, "parents": ["c000003"],
          "operator": "diff", "model": "m", "island": 2, "status": "failed",
          "stage": "validity", "score": None, "cell": None, "inserted": False,
          "cost": 0.002, "tokens": {"input": 100, "output": 20}}
    cand = candidate_from_event(ev, 0)
    assert cand is not None
    assert (cand.seq, cand.status, cand.stage, cand.island) == (12, Status.FAILED, "validity", 2)
    assert (cand.cost, cand.tokens) == (0.002, 120)
    old = candidate_from_event({"kind": "evaluated", "id": "c000007"}, 41)
    assert old is not None and old.seq == 41  # a log from before events carried seq
    assert candidate_from_event({"kind": "evaluated"}, 0) is None
