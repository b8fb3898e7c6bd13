"""LineageDAG queries on the hand-built lineage (see conftest.HAND_BUILT)."""

from __future__ import annotations

from pathlib import Path

import pytest

from codeevo.lineage.dag import LineageDAG
from codeevo.lineage.index import Outcomes
from codeevo.lineage.store import GitLineageStore, LineageError
from tests.lineage.conftest import HAND_BUILT


def ids(*seqs: int) -> list[str]:
    return [f"c{s:06d}" for s in seqs]


@pytest.fixture
def dag(hand_built: Path) -> LineageDAG:
    return LineageDAG.load(hand_built)  # a run directory holding lineage.git


def test_graph_shape_and_node_attributes(dag: LineageDAG, hand_built: Path) -> None:
    assert len(dag) == len(HAND_BUILT)
    assert dag.ids() == ids(*range(1, 9))
    assert dag.graph.edges["c000002", "c000005"]["primary"] is True
    assert dag.graph.edges["c000004", "c000005"]["primary"] is False
    store = GitLineageStore.open(hand_built / "lineage.git")
    assert dag.node("c000005")["commit"] == store.commit_of("c000005")
    assert dag.candidate("c000003") == HAND_BUILT[2]
    deltas = {n: dag.node(n)["delta"] for n in dag.ids()}
    assert deltas == dict(
        zip(ids(*range(1, 9)), [None, 1.0, None, -0.5, 1.0, None, -0.5, None], strict=True)
    )


def test_parents_children(dag: LineageDAG) -> None:
    assert dag.parents("c000005") == ids(2, 4)
    assert dag.parents("c000001") == []
    assert dag.children("c000001") == ids(2, 3)
    assert dag.children("c000005") == ids(6, 7)
    assert dag.children("c000004") == ids(5, 8)


def test_ancestry_and_descendants(dag: LineageDAG) -> None:
    anc = dag.ancestry("c000007")
    assert anc.primary_line == ids(1, 2, 5, 7)
    assert anc.ancestors == ids(1, 2, 4, 5)
    assert dag.ancestry("c000001").primary_line == ids(1)
    assert dag.descendants("c000002") == ids(4, 5, 6, 7, 8)
    assert dag.descendants("c000006") == []


def test_best_and_best_path(dag: LineageDAG) -> None:
    assert dag.best() == "c000005"
    assert dag.best_path() == ids(1, 2, 5)
    assert dag.resolve("best") == "c000005"


def test_operator_stats(dag: LineageDAG) -> None:
    stats = dag.operator_stats()
    assert stats["seed"] == Outcomes("seed", proposed=1, ok=1)
    assert stats["diff"] == Outcomes(
        "diff",
        proposed=4,
        ok=2,
        failed_by_stage={"parse": 1, "stage1": 1},
        improved=1,
        improvement_rate=0.25,
        mean_delta=0.25,
    )
    assert stats["ast"] == Outcomes(
        "ast",
        proposed=2,
        ok=1,
        failed_by_stage={"stage2": 1},
        improved=0,
        improvement_rate=0.0,
        mean_delta=-0.5,
    )
    assert stats["crossover"] == Outcomes(
        "crossover", proposed=1, ok=1, improved=1, improvement_rate=1.0, mean_delta=1.0
    )


def test_unknown_ids_and_empty_lineages_raise(dag: LineageDAG, tmp_path: Path) -> None:
    for query in (dag.ancestry, dag.descendants, dag.children, dag.parents, dag.node):
        with pytest.raises(LineageError, match="c000099"):
            query("c000099")
    GitLineageStore.create(tmp_path / "empty.git").close()
    empty = LineageDAG.load(tmp_path / "empty.git")
    assert len(empty) == 0 and empty.best() is None and empty.best_path() == []
    with pytest.raises(LineageError, match="no OK candidate"):
        empty.resolve("best")


def test_load_from_an_open_store(hand_built: Path) -> None:
    store = GitLineageStore.open(hand_built / "lineage.git")
    assert LineageDAG.load(store).ids() == ids(*range(1, 9))
    store.close()
