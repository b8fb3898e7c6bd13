"""The population: MAP-Elites archives on islands, ring migration, and parent selection.

Pure Python, no I/O; every random choice comes from a `random.Random` passed in.
"""

from __future__ import annotations

from codeevo.population.archive import Cell, MapElitesArchive, bin_index, rank_key
from codeevo.population.islands import IslandModel, Migration
from codeevo.population.selection import (
    EmptyPopulationError,
    fitness_weights,
    inspirations,
    select_parent,
    select_second_parent,
    top_programs,
)

__all__ = [
    "Cell",
    "EmptyPopulationError",
    "IslandModel",
    "MapElitesArchive",
    "Migration",
    "bin_index",
    "fitness_weights",
    "inspirations",
    "rank_key",
    "select_parent",
    "select_second_parent",
    "top_programs",
]
