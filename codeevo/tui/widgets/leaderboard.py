"""The best candidates of a run, as a table; redrawn only when the top list changes."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import DataTable

from codeevo.tui import format as fmt
from codeevo.tui.run_index import CandidateRow

TOP_N = 25
_COLUMNS = ("#", "id", "score", "isl", "op", "model")


def _cells(rank: int, cand: CandidateRow) -> tuple[str | Text, ...]:
    return (str(rank), cand.id, Text(fmt.score(cand.score), style="green"), str(cand.island),
            cand.operator, (cand.model or "-").split("/")[-1])


class Leaderboard(DataTable[str | Text]):
    """Rank, id, score, island, operator, model. Row keys are ranks ("1", "2", ...)."""

    DEFAULT_CSS = """
    Leaderboard { height: 1fr; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=True)
        self._shown: list[tuple[str, float | None]] = []

    def on_mount(self) -> None:
        for name in _COLUMNS:
            self.add_column(name, key=name)

    def show(self, top: list[CandidateRow]) -> bool:
        """Show `top` (best first); return whether anything had to be redrawn. Rows are keyed
        by rank and rewritten cell by cell, so a live update never rebuilds the table."""
        wanted = [(c.id, c.score) for c in top]
        if wanted == self._shown:
            return False
        for rank, cand in enumerate(top, 1):
            cells = _cells(rank, cand)
            if rank > len(self._shown):
                self.add_row(*cells, key=str(rank))
            elif self._shown[rank - 1] != wanted[rank - 1]:
                for name, value in zip(_COLUMNS[1:], cells[1:], strict=True):
                    self.update_cell(str(rank), name, value)
        for rank in range(len(top) + 1, len(self._shown) + 1):
            self.remove_row(str(rank))
        self._shown = wanted
        return True

    def id_at(self, rank_key: str | None) -> str | None:
        """The candidate shown in the row with this key (a rank)."""
        if rank_key is None or not rank_key.isdigit():
            return None
        rank = int(rank_key)
        return self._shown[rank - 1][0] if 0 < rank <= len(self._shown) else None

    def selected_id(self) -> str | None:
        if not self._shown or self.cursor_row >= len(self._shown):
            return None
        return self._shown[self.cursor_row][0]
