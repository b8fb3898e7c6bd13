"""The best candidates of a run, as a table; redrawn only when the top list changes."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import DataTable

from codeevo.tui import format as fmt
from codeevo.tui.run_index import CandidateRow

TOP_N = 25


class Leaderboard(DataTable[str | Text]):
    """Rank, id, score, island, operator, model. Row keys are candidate ids."""

    DEFAULT_CSS = """
    Leaderboard { height: 1fr; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=True)
        self._shown: list[tuple[str, float | None]] = []

    def on_mount(self) -> None:
        self.add_columns("#", "id", "score", "isl", "op", "model")

    def show(self, top: list[CandidateRow]) -> bool:
        """Show `top` (best first); return whether anything had to be redrawn."""
        wanted = [(c.id, c.score) for c in top]
        if wanted == self._shown:
            return False
        keep = self.cursor_row
        self.clear()
        for rank, cand in enumerate(top, 1):
            self.add_row(
                str(rank),
                cand.id,
                Text(fmt.score(cand.score), style="green"),
                str(cand.island),
                cand.operator,
                (cand.model or "-").split("/")[-1],
                key=cand.id,
            )
        self._shown = wanted
        if top:
            self.move_cursor(row=min(keep, len(top) - 1))
        return True

    def selected_id(self) -> str | None:
        if not self._shown or self.cursor_row >= len(self._shown):
            return None
        return self._shown[self.cursor_row][0]
