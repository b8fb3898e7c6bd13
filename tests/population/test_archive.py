"""MapElitesArchive: binning, clipping, insertion rules, queries."""

from __future__ import annotations

import math

import pytest

from codeevo.candidate import Candidate, Status
from codeevo.config import FeatureConfig
from codeevo.population.archive import MapElitesArchive, bin_index


def cand(seq: int, score: float | None, status: Status = Status.OK, **features: float) -> Candidate:
    return Candidate(id=f"c{seq:06d}", seq=seq, score=score, status=status, features=features)


X = FeatureConfig(name="x", bins=4, low=0.0, high=1.0)
Y = FeatureConfig(name="code_length", bins=3, low=100.0, high=400.0)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0.0, 0),  # low edge
        (0.2499, 0),
        (0.25, 1),  # a bin's lower edge belongs to that bin
        (0.5, 2),
        (0.9999, 3),
        (1.0, 3),  # high edge is capped into the last bin
        (-5.0, 0),  # clipped below
        (7.0, 3),  # clipped above
        (math.inf, 3),
        (-math.inf, 0),
        (math.nan, 0),  # unusable → bin 0
        (None, 0),  # missing → bin 0
    ],
)
def test_bin_index_edges_and_clipping(value: float | None, expected: int) -> None:
    assert bin_index(value, X) == expected


def test_cell_reads_features_and_missing_feature_is_bin_zero() -> None:
    archive = MapElitesArchive([X, Y])
    assert archive.shape == (4, 3)
    assert archive.num_cells == 12
    assert archive.cell_of(cand(1, 1.0, x=0.6, code_length=399.0)) == (2, 2)
    assert archive.cell_of(cand(2, 1.0, code_length=250.0)) == (0, 1)  # x missing


def test_no_features_means_a_single_cell_keeping_the_best() -> None:
    archive = MapElitesArchive([])
    assert archive.num_cells == 1
    assert archive.add(cand(1, 1.0, anything=3.0))
    assert archive.cell_of(cand(9, 0.0)) == ()
    assert not archive.add(cand(2, 0.5))
    assert archive.add(cand(3, 2.0))
    assert len(archive) == 1
    assert archive.get(()) is not None and archive.get(()).id == "c000003"  # type: ignore[union-attr]
    assert archive.coverage == 1.0


def test_insertion_rules_empty_cell_better_score_and_ties_keep_incumbent() -> None:
    archive = MapElitesArchive([X])
    first = cand(1, 1.0, x=0.1)
    assert archive.add(first)
    assert not archive.add(cand(2, 1.0, x=0.2))  # same cell, tie → incumbent stays
    assert archive.get((0,)) is first
    assert not archive.add(cand(3, 0.5, x=0.0))  # worse
    assert archive.add(cand(4, 1.5, x=0.24))  # better
    assert archive.get((0,)).id == "c000004"  # type: ignore[union-attr]
    assert archive.add(cand(5, 0.1, x=0.9))  # empty cell: enters even though it is worse
    assert archive.occupied_cells() == [(0,), (3,)]
    assert len(archive) == 2
    assert archive.coverage == pytest.approx(0.5)


@pytest.mark.parametrize("status", [Status.FAILED, Status.TIMEOUT, Status.REJECTED, Status.CRASHED])
def test_only_ok_candidates_enter(status: Status) -> None:
    archive = MapElitesArchive([X])
    assert not archive.add(cand(1, 10.0, status=status, x=0.5))
    assert not archive.add(cand(2, None, x=0.5))  # OK without a score is not usable either
    assert not archive.add(cand(3, math.nan, x=0.5))
    assert len(archive) == 0
    assert archive.best() is None


def test_same_candidate_twice_is_not_reinserted() -> None:
    archive = MapElitesArchive([X])
    c = cand(1, 1.0, x=0.5)
    assert archive.add(c)
    assert not archive.add(c)
    assert archive.contains("c000001")
    assert archive.cell_of_id("c000001") == (2,)
    assert archive.cell_of_id("nope") is None


def test_elites_sorted_best_first_ties_by_seq_and_best() -> None:
    archive = MapElitesArchive([X])
    archive.add(cand(5, 2.0, x=0.0))
    archive.add(cand(2, 3.0, x=0.3))
    archive.add(cand(3, 2.0, x=0.6))
    archive.add(cand(4, 1.0, x=0.9))
    assert [c.id for c in archive.elites()] == ["c000002", "c000003", "c000005", "c000004"]
    best = archive.best()
    assert best is not None and best.id == "c000002"
    assert [cell for cell, _ in archive.items()] == [(0,), (1,), (2,), (3,)]


def test_archive_does_not_mutate_candidates() -> None:
    archive = MapElitesArchive([X])
    c = cand(1, 1.0, x=0.5)
    before = c.model_dump()
    archive.add(c)
    assert c.model_dump() == before
