"""Every scored candidate of a run, a page at a time, sortable by any column.

Rows come from the read model (``LineageIndex.page``): ranked best first by default, or by id,
island, operator, model, cost or delta. Rows are keyed by their position on the page and
rewritten cell by cell, so a live update never rebuilds the table.
"""

from __future__ import annotations

from rich.text import Text
from textual.binding import Binding
from textual.message import Message
from textual.widgets import DataTable

from codeevo.lineage.index import LineageIndex, Row
from codeevo.tui import format as fmt

PAGE = 50
# column key -> (header, sort key of LineageIndex.page)
COLUMNS: dict[str, tuple[str, str]] = {
    "rank": ("#", "rank"), "id": ("id", "id"), "commit": ("commit", "id"),
    "score": ("score", "rank"), "delta": ("Δ parent", "delta"), "island": ("isl", "island"),
    "operator": ("op", "operator"), "model": ("model", "model"), "cost": ("cost", "cost"),
}
SORTS = ("rank", "id", "delta", "island", "operator", "model", "cost")
_LABEL = {"rank": "score", "id": "id", "delta": "Δ parent", "island": "island",
          "operator": "operator", "model": "model", "cost": "cost"}


class Leaderboard(DataTable[str | Text]):
    """`[` / `]` previous / next page, `S` next sort column, `R` reverse; a click on a
    column header sorts by it (again: reverses)."""

    BINDINGS = [
        Binding("left_square_bracket", "page(-1)", "Prev page"),
        Binding("right_square_bracket", "page(1)", "Next page"),
        Binding("S", "next_sort", "Sort"),
        Binding("R", "reverse", "Reverse"),
    ]

    DEFAULT_CSS = """
    Leaderboard { height: 1fr; }
    """

    class Paged(Message):
        """The page, sort or size changed: `title` describes what is shown."""

        def __init__(self, title: str) -> None:
            super().__init__()
            self.title = title

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=True)
        self.index: LineageIndex | None = None
        self.sort_key = "rank"
        self.descending = False
        self.page_no = 0
        self._shown: list[tuple[str, float | None, int | None]] = []
        self._title = ""

    def on_mount(self) -> None:
        for key, (header, _) in COLUMNS.items():
            self.add_column(header, key=key)

    @property
    def pages(self) -> int:
        total = self.index.scored if self.index is not None else 0
        return max(1, -(-total // PAGE))

    def show(self, index: LineageIndex) -> bool:
        """Show the current page of `index`; return whether any row had to be redrawn."""
        self.index = index
        self.page_no = min(self.page_no, self.pages - 1)
        rows = index.page(self.sort_key, self.descending, self.page_no * PAGE, PAGE)
        ranks = [index.rank_of(r.id) for r in rows]
        wanted = [(r.id, r.score, k) for r, k in zip(rows, ranks, strict=True)]
        self._announce()
        if wanted == self._shown:
            return False
        for pos, (row, rank) in enumerate(zip(rows, ranks, strict=True)):
            cells = _cells(index, row, rank)
            key = str(pos)
            if pos >= len(self._shown):
                self.add_row(*cells, key=key)
            elif self._shown[pos] != wanted[pos]:
                for name, value in zip(COLUMNS, cells, strict=True):
                    self.update_cell(key, name, value)
        for pos in range(len(rows), len(self._shown)):
            self.remove_row(str(pos))
        self._shown = wanted
        return True

    def _announce(self) -> None:
        total = self.index.scored if self.index is not None else 0
        first = self.page_no * PAGE + 1 if total else 0
        last = min(total, (self.page_no + 1) * PAGE)
        arrow = "↑" if self.descending != (self.sort_key == "rank") else "↓"
        if self.sort_key == "rank":
            arrow = "↑ worst first" if self.descending else "↓ best first"
        title = (f"by {_LABEL[self.sort_key]} {arrow} · {first}–{last} of {total} · "
                 f"page {self.page_no + 1}/{self.pages}")
        if title != self._title:
            self._title = title
            self.post_message(self.Paged(title))

    def _redraw(self) -> None:
        if self.index is not None:
            self._shown = []
            self.clear()
            self.show(self.index)
            self.move_cursor(row=0)

    def action_page(self, step: int) -> None:
        page = min(max(0, self.page_no + step), self.pages - 1)
        if page != self.page_no:
            self.page_no = page
            self._redraw()

    def action_next_sort(self) -> None:
        self.sort_by(SORTS[(SORTS.index(self.sort_key) + 1) % len(SORTS)])

    def action_reverse(self) -> None:
        self.descending = not self.descending
        self.page_no = 0
        self._redraw()

    def sort_by(self, key: str, descending: bool | None = None) -> None:
        self.sort_key = key
        # Names and ids read best A→Z; numbers best high→low, except rank (1 first).
        self.descending = (key in ("delta", "cost", "island") if descending is None
                           else descending)
        self.page_no = 0
        self._redraw()

    def on_data_table_header_selected(self, event: DataTable.HeaderSelected) -> None:
        event.stop()
        key = COLUMNS[str(event.column_key.value)][1]
        if key == self.sort_key:
            self.action_reverse()
        else:
            self.sort_by(key)

    def id_at(self, row_key: str | None) -> str | None:
        """The candidate shown in the row with this key (its position on the page)."""
        if row_key is None or not row_key.isdigit():
            return None
        pos = int(row_key)
        return self._shown[pos][0] if 0 <= pos < len(self._shown) else None

    def selected_id(self) -> str | None:
        if not self._shown or self.cursor_row >= len(self._shown):
            return None
        return self._shown[self.cursor_row][0]

    def shown_ids(self) -> list[str]:
        return [cid for cid, _, _ in self._shown]


def _cells(index: LineageIndex, row: Row, rank: int | None) -> tuple[str | Text, ...]:
    return (str(rank or "-"), row.id, Text(row.short, style="dim"),
            Text(fmt.score(row.score), style="green"), fmt.delta(index.delta(row.id)),
            str(row.island), row.operator, (row.model or "-").split("/")[-1],
            fmt.money(row.cost))
