"""Choosing parents, a second parent and inspirations from one island's archive.

Every random choice comes from the `random.Random` passed in, and every pool is built in a
deterministic order (elites by rank, cells sorted), so the same RNG state picks the same programs.

Empty islands: each function takes an optional `fallback` sequence of other archives (for
example `IslandModel.other_archives(i)`); when the island cannot satisfy the request those are
consulted in order. The engine seeds every island with the seed program first, so an empty
island only happens when the caller builds a population by hand.
"""

from __future__ import annotations

import math
import random
from collections.abc import Collection, Sequence

from codeevo.candidate import Candidate
from codeevo.config import PopulationConfig
from codeevo.population.archive import Cell, MapElitesArchive, rank_key


class EmptyPopulationError(LookupError):
    """No archive offered holds an elite, so there is no parent to select."""


def _first_nonempty(
    archive: MapElitesArchive, fallback: Sequence[MapElitesArchive]
) -> MapElitesArchive | None:
    for a in (archive, *fallback):
        if len(a):
            return a
    return None


def select_parent(
    archive: MapElitesArchive,
    rng: random.Random,
    config: PopulationConfig,
    fallback: Sequence[MapElitesArchive] = (),
) -> Candidate:
    """Pick a parent by one of three modes, chosen with the configured (normalised) ratios.

    - exploitation: uniform over the top `elite_count` elites by score;
    - exploration: uniform over the occupied cells;
    - fitness-proportional: probability ∝ score − min + ε over all elites.

    Raises EmptyPopulationError when `archive` and every `fallback` archive are empty.
    """
    source = _first_nonempty(archive, fallback)
    if source is None:
        raise EmptyPopulationError("no elites on this island or its fallbacks to select from")
    ratios = [
        config.exploitation_ratio,
        config.exploration_ratio,
        config.fitness_proportional_ratio,
    ]
    mode = rng.choices(range(3), weights=ratios)[0]
    elites = source.elites()
    if mode == 0:
        return rng.choice(elites[: config.elite_count])
    if mode == 1:
        cell = rng.choice(source.occupied_cells())
        found = source.get(cell)
        assert found is not None
        return found
    return rng.choices(elites, weights=fitness_weights(elites))[0]


def fitness_weights(elites: Sequence[Candidate]) -> list[float]:
    """Weights ∝ score − min + ε, with ε = 1% of the score spread (all equal → uniform).

    The ε keeps the worst elite selectable; non-finite scores make the weights uniform.
    """
    scores = [c.score if c.score is not None else 0.0 for c in elites]
    if not scores or not all(math.isfinite(s) for s in scores):
        return [1.0] * len(scores)
    lo, hi = min(scores), max(scores)
    spread = hi - lo
    if spread <= 0 or not math.isfinite(spread):
        return [1.0] * len(scores)
    eps = 0.01 * spread
    return [s - lo + eps for s in scores]


def select_second_parent(
    archive: MapElitesArchive,
    rng: random.Random,
    exclude_id: str,
    fallback: Sequence[MapElitesArchive] = (),
) -> Candidate | None:
    """A partner for crossover: another elite, from a different cell than the first parent's.

    Chosen by a binary tournament (two uniform draws, the better wins) so partners lean towards
    good programs without always being the island's best. None when the island has no other
    elite and no `fallback` archive has one either.
    """
    parent_cell = archive.cell_of_id(exclude_id)
    pool = [c for cell, c in archive.items() if c.id != exclude_id and cell != parent_cell]
    for other in fallback:
        if pool:
            break
        pool = [c for c in other.elites() if c.id != exclude_id]
    if not pool:
        return None
    a, b = rng.choice(pool), rng.choice(pool)
    return min(a, b, key=rank_key)


def inspirations(
    archive: MapElitesArchive,
    rng: random.Random,
    n: int,
    exclude_ids: Collection[str] = (),
    fallback: Sequence[MapElitesArchive] = (),
) -> list[Candidate]:
    """Up to `n` elites spread over the grid, from cells other than those of `exclude_ids`.

    The first is drawn uniformly; each next one is the elite whose cell is farthest (Manhattan
    distance to the nearest already chosen or excluded cell), ties broken at random. When the
    island has too few, `fallback` archives top the list up (their best elites first).
    """
    if n <= 0:
        return []
    excluded = set(exclude_ids)
    taken: list[Cell] = [c for i in excluded if (c := archive.cell_of_id(i)) is not None]
    pool = [(cell, c) for cell, c in archive.items() if c.id not in excluded and cell not in taken]
    chosen: list[Candidate] = []
    while pool and len(chosen) < n:
        if not taken:
            pick = rng.randrange(len(pool))
        else:
            dists = [min(_manhattan(cell, t) for t in taken) for cell, _ in pool]
            far = max(dists)
            pick = rng.choice([i for i, d in enumerate(dists) if d == far])
        cell, cand = pool.pop(pick)
        taken.append(cell)
        chosen.append(cand)
    seen = excluded | {c.id for c in chosen}
    for other in fallback:
        for cand in other.elites():
            if len(chosen) >= n:
                return chosen
            if cand.id not in seen:
                seen.add(cand.id)
                chosen.append(cand)
    return chosen


def top_programs(archive: MapElitesArchive, n: int) -> list[Candidate]:
    """The island's `n` best elites, best first."""
    return archive.elites()[: max(n, 0)]


def _manhattan(a: Cell, b: Cell) -> int:
    return sum(abs(x - y) for x, y in zip(a, b, strict=True))
