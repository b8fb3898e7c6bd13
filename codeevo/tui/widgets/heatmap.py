"""One island's MAP-Elites grid: cells coloured by their elite's score, empty cells visible."""

from __future__ import annotations

from rich.style import Style
from rich.text import Text
from textual.binding import Binding
from textual.message import Message
from textual.reactive import reactive
from textual.widget import Widget

from codeevo.config import FeatureConfig
from codeevo.lineage.index import Elite

# Viridis: ordered by lightness, so higher is lighter on either theme and legible without hue.
PALETTE = ("#440154", "#46327e", "#365c8d", "#277f8e", "#1fa187", "#4ac16d", "#a0da39", "#fde725")
CELL_W = 3  # characters per cell when there is room; fit() picks 3, 2, 1 or half blocks
EMPTY = "#303036"  # an empty cell in half-block mode (no room for a dot there)


def colour_of(score: float, low: float, high: float) -> str:
    """The palette colour for `score` on the [low, high] scale."""
    if high <= low:
        return PALETTE[-1]
    frac = (score - low) / (high - low)
    return PALETTE[min(len(PALETTE) - 1, max(0, int(frac * len(PALETTE))))]


def axis_pairs(n: int) -> list[tuple[int, int]]:
    """The pairs of feature dimensions a map can show, in cycling order: (0, 1), (0, 2), ...,
    (1, 2), ...; one dimension gives a single row, none a single cell."""
    if n < 2:
        return [(0, 1)]
    return [(i, j) for i in range(n) for j in range(i + 1, n)]


class IslandHeatmap(Widget, can_focus=True):
    """Columns are the bins of feature `dims[0]`, rows those of `dims[1]` (top = highest).

    With more than two features the grid is projected onto the two shown: a cell shows the best
    elite over the bins of the dimensions left out. The dashboard cycles `dims` (key `x`).
    """

    DEFAULT_CSS = """
    IslandHeatmap { width: auto; height: auto; padding: 0 1; border: round $primary 40%; }
    IslandHeatmap:focus { border: round $accent; }
    """

    BINDINGS = [
        Binding("left", "move(-1, 0)", "Cell left", show=False),
        Binding("right", "move(1, 0)", "Cell right", show=False),
        Binding("up", "move(0, 1)", "Cell up", show=False),
        Binding("down", "move(0, -1)", "Cell down", show=False),
        Binding("enter", "open", "Open elite"),
    ]

    cursor: reactive[tuple[int, int]] = reactive((0, 0))

    class CellSelected(Message):
        """The cursor moved to a cell (elite may be None for an empty cell)."""

        def __init__(self, island: int, cell: tuple[int, int], elite: Elite | None) -> None:
            super().__init__()
            self.island = island
            self.cell = cell
            self.elite = elite

    class EliteOpened(Message):
        def __init__(self, elite: Elite) -> None:
            super().__init__()
            self.elite = elite

    def __init__(
        self, island: int, features: list[FeatureConfig], dims: tuple[int, int] = (0, 1),
        *, id: str | None = None,
    ) -> None:
        super().__init__(id=id)
        self.island = island
        self.features = features
        self.dims = dims
        self.bins_x, self.bins_y = self._bins(dims)
        self.cells: dict[tuple[int, int], Elite] = {}
        self.scale = (0.0, 1.0)
        self.cell_w = CELL_W
        self.compact = False  # two grid rows per line, in half blocks
        self.border_title = f"island {island}"

    def _bins(self, dims: tuple[int, int]) -> tuple[int, int]:
        fs = self.features
        return (fs[dims[0]].bins if dims[0] < len(fs) else 1,
                fs[dims[1]].bins if dims[1] < len(fs) else 1)

    def set_cells(
        self, grid: dict[tuple[int, ...], Elite], scale: tuple[float, float],
        dims: tuple[int, int] | None = None,
    ) -> None:
        """Replace the shown elites (projected onto `dims`, default: the ones shown) and the
        colour scale, then redraw."""
        size = (self.bins_x, self.bins_y)
        if dims is not None and dims != self.dims:
            self.dims = dims
            self.bins_x, self.bins_y = self._bins(dims)
            self.cursor = (min(self.cursor[0], self.bins_x - 1),
                           min(self.cursor[1], self.bins_y - 1))
        dx, dy = self.dims
        cells: dict[tuple[int, int], Elite] = {}
        for key, elite in grid.items():
            x = key[dx] if len(key) > dx else 0
            y = key[dy] if len(key) > dy else 0
            self.bins_x = max(self.bins_x, x + 1)
            self.bins_y = max(self.bins_y, y + 1)
            cur = cells.get((x, y))
            if cur is None or elite.score > cur.score:
                cells[(x, y)] = elite
        self.cells = cells
        self.scale = scale
        filled = len(cells)
        self.border_subtitle = f"{filled}/{self.bins_x * self.bins_y}"
        # A new size needs a layout pass; new colours only a repaint.
        self.refresh(layout=(self.bins_x, self.bins_y) != size)

    def selected(self) -> Elite | None:
        return self.cells.get(self.cursor)

    def set_size(self, cell_w: int, compact: bool) -> None:
        """Characters per cell (3, 2 or 1) and whether rows are packed two to a line."""
        if (cell_w, compact) != (self.cell_w, self.compact):
            self.cell_w, self.compact = cell_w, compact
            self.refresh(layout=True)

    def footprint(self, cell_w: int, compact: bool) -> tuple[int, int]:
        """(width, height) in characters this map takes at that size, border and padding in."""
        w = max(self.bins_x * (1 if compact else cell_w), 8) + 4
        h = (self.bins_y + 1) // 2 if compact else self.bins_y
        return w, h + 2

    def render(self) -> Text:
        if self.compact:
            return self._render_compact()
        out = Text()
        low, high = self.scale
        focused = self.has_focus
        w = self.cell_w
        blank = (" " * w) if w < 3 else " · "
        marks = {3: "[ ]", 2: "[]", 1: "◆"}
        for y in range(self.bins_y - 1, -1, -1):
            for x in range(self.bins_x):
                elite = self.cells.get((x, y))
                mark = marks[w] if focused and (x, y) == self.cursor else None
                if elite is None:
                    out.append(mark or (blank if w == 3 else "·".center(w)), style="dim")
                else:
                    bg = colour_of(elite.score, low, high)
                    fg = "#000000" if bg in PALETTE[4:] else "#ffffff"
                    out.append(mark or " " * w, style=Style(color=fg, bgcolor=bg, bold=True))
            if y:
                out.append("\n")
        return out

    def _render_compact(self) -> Text:
        """Upper half block: the top cell is the foreground, the bottom one the background."""
        out = Text()
        low, high = self.scale
        cursor = self.cursor if self.has_focus else None

        def shade(x: int, y: int) -> str:
            if (x, y) == cursor:
                return "#ffffff"
            elite = self.cells.get((x, y))
            return EMPTY if elite is None else colour_of(elite.score, low, high)

        top = self.bins_y - 1
        while top >= 0:
            for x in range(self.bins_x):
                below = shade(x, top - 1) if top >= 1 else None
                out.append("▀", style=Style(color=shade(x, top), bgcolor=below))
            top -= 2
            if top >= 0:
                out.append("\n")
        return out

    def get_content_width(self, container: object, viewport: object) -> int:
        return max(self.bins_x * (1 if self.compact else self.cell_w), 8)

    def get_content_height(self, container: object, viewport: object, width: int) -> int:
        return (self.bins_y + 1) // 2 if self.compact else self.bins_y

    def watch_cursor(self, cursor: tuple[int, int]) -> None:
        self.post_message(self.CellSelected(self.island, cursor, self.cells.get(cursor)))

    def action_move(self, dx: int, dy: int) -> None:
        x, y = self.cursor
        self.cursor = (min(self.bins_x - 1, max(0, x + dx)), min(self.bins_y - 1, max(0, y + dy)))
        self.refresh()

    def action_open(self) -> None:
        elite = self.selected()
        if elite is not None:
            self.post_message(self.EliteOpened(elite))

    def on_focus(self) -> None:
        self.scroll_visible(animate=False)  # the maps may wrap into a scrolled area
        self.post_message(self.CellSelected(self.island, self.cursor, self.selected()))
        self.refresh()

    def on_blur(self) -> None:
        self.refresh()
