"""A MAP-Elites archive: a grid over the problem's feature dimensions, one elite per cell.

A candidate's cell comes from its `features` (the evaluator's features plus the built-ins
`code_length` / `code_lines`, filled in by the engine before insertion). Each value is clipped
into [low, high] and binned as ``floor((v - low) / (high - low) * bins)``, capped at bins - 1.
A feature the candidate does not report (or reports as NaN) falls into bin 0 rather than raising:
one evaluator bug should cost a candidate its place in the grid, not the whole run.
A problem with no feature dimensions has exactly one cell, so its archive keeps the single best.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence

from codeevo.candidate import Candidate
from codeevo.config import FeatureConfig
from codeevo.lineage.rules import rank_key  # best first; ties: the earlier candidate

__all__ = ["Cell", "MapElitesArchive", "bin_index", "rank_key"]

Cell = tuple[int, ...]


def bin_index(value: float | None, feature: FeatureConfig) -> int:
    """The bin of `value` on one dimension (missing or NaN → 0; out of range → clipped)."""
    if value is None or math.isnan(value):
        return 0
    v = min(max(value, feature.low), feature.high)
    idx = math.floor((v - feature.low) / (feature.high - feature.low) * feature.bins)
    return min(max(idx, 0), feature.bins - 1)




class MapElitesArchive:
    """One island's grid of elites. Pure in-memory state; never mutates the candidates it holds."""

    def __init__(self, features: Sequence[FeatureConfig] = ()) -> None:
        self.features: tuple[FeatureConfig, ...] = tuple(features)
        self._cells: dict[Cell, Candidate] = {}

    # ---------------------------------------------------------------- grid

    @property
    def shape(self) -> Cell:
        """Bins per dimension (empty for a problem without features)."""
        return tuple(f.bins for f in self.features)

    @property
    def num_cells(self) -> int:
        return math.prod(self.shape)

    def cell_of(self, candidate: Candidate) -> Cell:
        """The grid cell `candidate` belongs to, read from `candidate.features`."""
        return tuple(bin_index(candidate.features.get(f.name), f) for f in self.features)

    # ---------------------------------------------------------------- insertion

    def add(self, candidate: Candidate) -> bool:
        """Insert `candidate` if it is OK and its cell is empty or it beats the occupant's score.

        Ties keep the incumbent. Returns whether the candidate entered the archive.
        """
        if not candidate.ok:  # the read model's rule (codeevo.lineage.rules): NaN is not OK
            return False
        cell = self.cell_of(candidate)
        incumbent = self._cells.get(cell)
        if incumbent is not None:
            if incumbent.id == candidate.id:
                return False
            assert incumbent.score is not None and candidate.score is not None  # both OK
            if not candidate.score > incumbent.score:
                return False
        self._cells[cell] = candidate
        return True

    # ---------------------------------------------------------------- queries

    def get(self, cell: Cell) -> Candidate | None:
        return self._cells.get(tuple(cell))

    def occupied_cells(self) -> list[Cell]:
        """Occupied cells in sorted order (deterministic for selection)."""
        return sorted(self._cells)

    def elites(self) -> list[Candidate]:
        """Every elite, best score first (ties: earlier seq first)."""
        return sorted(self._cells.values(), key=rank_key)

    def best(self) -> Candidate | None:
        if not self._cells:
            return None
        return min(self._cells.values(), key=rank_key)

    def contains(self, candidate_id: str) -> bool:
        return any(c.id == candidate_id for c in self._cells.values())

    def cell_of_id(self, candidate_id: str) -> Cell | None:
        """The cell an elite with this id occupies, or None if it is not an elite here."""
        for cell, cand in self._cells.items():
            if cand.id == candidate_id:
                return cell
        return None

    @property
    def coverage(self) -> float:
        """Fraction of the grid's cells that hold an elite (0.0 .. 1.0)."""
        return len(self._cells) / self.num_cells

    def items(self) -> Iterator[tuple[Cell, Candidate]]:
        """(cell, elite) pairs in sorted cell order."""
        for cell in self.occupied_cells():
            yield cell, self._cells[cell]

    def __len__(self) -> int:
        return len(self._cells)

    def __repr__(self) -> str:
        return f"MapElitesArchive(shape={self.shape}, elites={len(self)})"
