"""The LineageStore seam: the git store and the in-memory double keep one contract, and every
reader (the read model, the DAG, the run reader) works on either without probing for a class."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from codeevo.lineage.base import LineageStore
from codeevo.lineage.dag import LineageDAG
from codeevo.lineage.index import LineageIndex
from codeevo.lineage.lock import LineageError
from codeevo.lineage.memory import MemoryLineageStore
from codeevo.lineage.store import GitLineageStore
from tests.lineage.conftest import HAND_BUILT, cand, record_all

StoreFactory = Callable[[], LineageStore]


@pytest.fixture(params=["git", "memory"])
def make_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StoreFactory]:
    made: list[LineageStore] = []

    def factory() -> LineageStore:
        store: LineageStore
        if request.param == "git":
            store = GitLineageStore.create(tmp_path / f"l{len(made)}.git")
        else:
            store = MemoryLineageStore()
        made.append(store)
        return store

    yield factory
    for store in made:
        store.close()


def test_both_stores_satisfy_the_protocol(make_store: StoreFactory) -> None:
    assert isinstance(make_store(), LineageStore)


def test_record_and_read_back(make_store: StoreFactory) -> None:
    store = make_store()
    shas = record_all(store, HAND_BUILT)  # type: ignore[arg-type]
    assert [c.id for c in store.candidates()] == [c.id for c in HAND_BUILT]
    assert [r["id"] for r, _ in store.records()] == [c.id for c in HAND_BUILT]
    assert {r["id"]: sha for r, sha in store.records()} == shas
    assert store.candidate("c000005") == HAND_BUILT[4]
    assert store.program("c000005") == "x = 5\n"
    assert store.programs(["c000002", "c000007"]) == {"c000002": "x = 2\n", "c000007": "x = 7\n"}
    assert store.files("c000003") == {"artifacts/stdout.txt": "out 3"}
    assert store.commit_of("c000005") == shas["c000005"]
    # The same content again is a no-op with the same sha; other content is refused.
    assert store.record(HAND_BUILT[0], "x = 1\n", {"artifacts/stdout.txt": "out 1"}) == \
        shas["c000001"]
    with pytest.raises(LineageError, match="already recorded"):
        store.record(HAND_BUILT[0], "x = 100\n")


def test_errors_name_the_problem(make_store: StoreFactory) -> None:
    store = make_store()
    with pytest.raises(LineageError, match="not recorded yet: c000001"):
        store.record(cand(2, (1,)), "x\n")
    store.record(cand(1), "x\n")
    for read in (store.candidate, store.program, store.files, store.commit_of):
        with pytest.raises(LineageError, match="c000042"):
            read("c000042")


def test_readers_work_on_either_store(make_store: StoreFactory) -> None:
    store = make_store()
    record_all(store, HAND_BUILT)  # type: ignore[arg-type]
    index = LineageIndex.from_store(store)
    dag = LineageDAG.load(store)
    assert index.best() is not None and index.best().id == dag.best() == "c000005"  # type: ignore[union-attr]
    assert dag.children("c000004") == index.children("c000004") == ["c000005", "c000008"]
    assert index.rows["c000005"].commit == store.commit_of("c000005")
