"""Islands: `num_islands` MAP-Elites archives evolving apart, with ring migration of elites.

Migration is a pure function of the archives' contents and the evaluation count, so replaying
the recorded candidates in order (calling `maybe_migrate` at the same counts) rebuilds exactly
the same archives — this is how a resumed run gets its population back.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from codeevo.candidate import Candidate
from codeevo.config import FeatureConfig, PopulationConfig
from codeevo.population.archive import Cell, MapElitesArchive, rank_key


@dataclass(frozen=True)
class Migration:
    """One elite sent along the ring; `accepted` says whether it entered the receiving archive."""

    source: int
    dest: int
    candidate_id: str
    accepted: bool
    cell: Cell = ()


class IslandModel:
    """`config.num_islands` archives over the same feature grid, joined in a migration ring."""

    def __init__(self, config: PopulationConfig, features: Sequence[FeatureConfig] = ()) -> None:
        self.config = config
        self.features: tuple[FeatureConfig, ...] = tuple(features)
        self._archives = [MapElitesArchive(self.features) for _ in range(config.num_islands)]
        self._last_migration = 0  # evaluation count of the last migration (never twice per count)

    @property
    def num_islands(self) -> int:
        return len(self._archives)

    def archive(self, island: int) -> MapElitesArchive:
        self._check(island)
        return self._archives[island]

    @property
    def archives(self) -> tuple[MapElitesArchive, ...]:
        return tuple(self._archives)

    def elites(self, island: int) -> list[Candidate]:
        """The island's elites, best first."""
        return self.archive(island).elites()

    def add(self, candidate: Candidate, island: int | None = None) -> tuple[bool, Cell]:
        """Insert into `island`'s archive (default: `candidate.island`); return (inserted, cell).

        The engine passes `island` explicitly to put the seed program on every island.
        """
        target = candidate.island if island is None else island
        archive = self.archive(target)
        return archive.add(candidate), archive.cell_of(candidate)

    def maybe_migrate(self, evaluations: int) -> list[Migration]:
        """Ring migration when `evaluations` is a positive multiple of `migration_interval`.

        Each island i sends its top `migration_count` elites to island (i + 1) % n; they enter by
        the normal rule (empty cell or better score). Every island's emigrants are chosen before
        any arrives, so the result does not depend on the order islands are visited. Called twice
        with the same count, the second call does nothing.
        """
        interval = self.config.migration_interval
        n = self.num_islands
        if (
            evaluations <= 0
            or evaluations % interval != 0
            or evaluations == self._last_migration
            or n < 2
            or self.config.migration_count == 0
        ):
            return []
        self._last_migration = evaluations
        outgoing = [a.elites()[: self.config.migration_count] for a in self._archives]
        moves: list[Migration] = []
        for src, emigrants in enumerate(outgoing):
            dest = (src + 1) % n
            archive = self._archives[dest]
            for cand in emigrants:
                accepted = archive.add(cand)
                moves.append(Migration(src, dest, cand.id, accepted, archive.cell_of(cand)))
        return moves

    def best(self) -> Candidate | None:
        """The best elite over all islands (ties: earliest seq)."""
        bests = [b for a in self._archives if (b := a.best()) is not None]
        return min(bests, key=rank_key) if bests else None

    def island_of_next(self, rng_or_counter: random.Random | int) -> int:
        """Which island a new proposal works on: round-robin for a counter, uniform for an RNG."""
        if isinstance(rng_or_counter, random.Random):
            return rng_or_counter.randrange(self.num_islands)
        return rng_or_counter % self.num_islands

    def other_archives(self, island: int) -> list[MapElitesArchive]:
        """The other islands' archives in ring order after `island` (for selection fallbacks)."""
        self._check(island)
        n = self.num_islands
        return [self._archives[(island + k) % n] for k in range(1, n)]

    def snapshot(self) -> dict[str, Any]:
        """Plain data for displays: per island its cells with elite id and score."""
        islands = []
        for i, archive in enumerate(self._archives):
            best = archive.best()
            islands.append(
                {
                    "island": i,
                    "size": len(archive),
                    "coverage": archive.coverage,
                    "best_id": best.id if best else None,
                    "best_score": best.score if best else None,
                    "cells": [
                        {"cell": list(cell), "id": c.id, "score": c.score}
                        for cell, c in archive.items()
                    ],
                }
            )
        best = self.best()
        return {
            "shape": [f.bins for f in self.features],
            "features": [f.name for f in self.features],
            "best_id": best.id if best else None,
            "best_score": best.score if best else None,
            "islands": islands,
        }

    def _check(self, island: int) -> None:
        if not 0 <= island < self.num_islands:
            raise ValueError(f"island {island} out of range (this run has {self.num_islands})")
