"""Parent, second-parent and inspiration selection: ratios, diversity, fallbacks."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from codeevo.candidate import Candidate
from codeevo.config import FeatureConfig, PopulationConfig
from codeevo.population.archive import MapElitesArchive
from codeevo.population.selection import (
    EmptyPopulationError,
    fitness_weights,
    inspirations,
    select_parent,
    select_second_parent,
    top_programs,
)

GRID = [
    FeatureConfig(name="x", bins=4, low=0.0, high=4.0),
    FeatureConfig(name="y", bins=4, low=0.0, high=4.0),
]


def cand(seq: int, score: float, x: float = 0.0, y: float = 0.0) -> Candidate:
    return Candidate(id=f"c{seq:06d}", seq=seq, score=score, features={"x": x, "y": y})


def full_archive() -> MapElitesArchive:
    """16 elites, one per cell; score = seq (c000001 worst ... c000016 best)."""
    archive = MapElitesArchive(GRID)
    for i in range(16):
        assert archive.add(cand(i + 1, float(i + 1), x=i % 4 + 0.5, y=i // 4 + 0.5))
    return archive


def cfg(exploit: float, explore: float, fitness: float, elite_count: int = 3) -> PopulationConfig:
    return PopulationConfig(
        exploitation_ratio=exploit,
        exploration_ratio=explore,
        fitness_proportional_ratio=fitness,
        elite_count=elite_count,
    )


def draws(config: PopulationConfig, n: int = 4000, seed: int = 1) -> Counter[str]:
    archive = full_archive()
    rng = random.Random(seed)
    return Counter(select_parent(archive, rng, config).id for _ in range(n))


def test_pure_exploitation_picks_only_the_top_elites_uniformly() -> None:
    counts = draws(cfg(1, 0, 0, elite_count=3))
    assert set(counts) == {"c000016", "c000015", "c000014"}
    for n in counts.values():
        assert 4000 / 3 * 0.85 < n < 4000 / 3 * 1.15


def test_pure_exploration_is_uniform_over_occupied_cells() -> None:
    counts = draws(cfg(0, 1, 0))
    assert len(counts) == 16
    for n in counts.values():
        assert 250 * 0.7 < n < 250 * 1.3


def test_fitness_proportional_favours_higher_scores() -> None:
    counts = draws(cfg(0, 0, 1), n=8000)
    weights = fitness_weights(full_archive().elites())
    total = sum(weights)
    # best: (16 - 1 + 0.15) / total ≈ 11.7%; worst: 0.15 / total ≈ 0.1%
    assert counts["c000016"] / 8000 == pytest.approx(weights[0] / total, abs=0.015)
    assert counts["c000016"] > counts["c000008"] > counts["c000002"]
    assert counts["c000001"] < 40


def test_mixed_ratios_are_normalised() -> None:
    # weights 0.4:0.4:0 behave like 0.5 / 0.5: half the draws from the top 1, the rest uniform
    counts = draws(cfg(0.4, 0.4, 0, elite_count=1), n=8000)
    expected_best = 0.5 + 0.5 / 16
    assert counts["c000016"] / 8000 == pytest.approx(expected_best, abs=0.025)


def test_selection_is_deterministic_for_a_seed() -> None:
    assert draws(PopulationConfig(), n=200, seed=7) == draws(PopulationConfig(), n=200, seed=7)


def test_fitness_weights_edge_cases() -> None:
    assert fitness_weights([cand(1, 2.0), cand(2, 2.0)]) == [1.0, 1.0]
    assert fitness_weights([cand(1, float("inf")), cand(2, 0.0)]) == [1.0, 1.0]
    assert fitness_weights([]) == []
    w = fitness_weights([cand(1, -3.0), cand(2, 1.0)])
    assert w[0] > 0 and w[1] > w[0]


def test_empty_island_falls_back_to_other_archives_or_raises() -> None:
    empty = MapElitesArchive(GRID)
    rng = random.Random(0)
    with pytest.raises(EmptyPopulationError):
        select_parent(empty, rng, PopulationConfig())
    other = full_archive()
    picked = select_parent(empty, rng, PopulationConfig(), fallback=[MapElitesArchive(GRID), other])
    assert other.contains(picked.id)


def test_second_parent_comes_from_another_cell() -> None:
    archive = full_archive()
    rng = random.Random(3)
    seen = set()
    for _ in range(300):
        second = select_second_parent(archive, rng, "c000016")
        assert second is not None and second.id != "c000016"
        seen.add(second.id)
    assert len(seen) > 8  # spread, not always the island's best


def test_second_parent_none_when_island_has_a_single_elite() -> None:
    archive = MapElitesArchive([])
    archive.add(cand(1, 1.0))
    rng = random.Random(0)
    assert select_second_parent(archive, rng, "c000001") is None
    other = MapElitesArchive([])
    other.add(cand(2, 0.5))
    found = select_second_parent(archive, rng, "c000001", fallback=[other])
    assert found is not None and found.id == "c000002"


def test_inspirations_come_from_other_cells_and_spread_over_the_grid() -> None:
    archive = full_archive()
    parent = "c000001"  # cell (0, 0)
    for seed in range(20):
        chosen = inspirations(archive, random.Random(seed), 3, {parent})
        ids = [c.id for c in chosen]
        assert len(ids) == 3 and parent not in ids and len(set(ids)) == 3
        cells = [archive.cell_of(c) for c in chosen]
        assert (0, 0) not in cells
    # farthest-first: with the parent at (0,0) the first pick is random, the second is far from
    # both; the two closest cells to (0,0) are never picked together with each other
    chosen = inspirations(archive, random.Random(5), 2, {parent})
    a, b = (archive.cell_of(c) for c in chosen)
    assert abs(a[0] - b[0]) + abs(a[1] - b[1]) >= 3


def test_inspirations_excluded_ids_small_islands_and_fallback() -> None:
    archive = MapElitesArchive(GRID)
    archive.add(cand(1, 1.0, x=0.5))
    archive.add(cand(2, 2.0, x=3.5))
    rng = random.Random(0)
    assert [c.id for c in inspirations(archive, rng, 5, {"c000001"})] == ["c000002"]
    assert inspirations(archive, rng, 0, ()) == []
    other = full_archive()
    topped = inspirations(archive, rng, 3, {"c000001"}, fallback=[other])
    assert [c.id for c in topped] == ["c000002", "c000016", "c000015"]


def test_top_programs() -> None:
    archive = full_archive()
    assert [c.id for c in top_programs(archive, 2)] == ["c000016", "c000015"]
    assert top_programs(archive, 0) == []
    assert len(top_programs(archive, 100)) == 16
