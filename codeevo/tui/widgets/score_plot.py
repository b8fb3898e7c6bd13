"""Best score over evaluations as a braille line chart: one step line per island, and overall.

Each character cell holds 2 x 4 braille dots, so a 60 x 12 plot has 120 x 48 points. The lines
are step functions (the best so far only rises, at the evaluation that raised it) drawn from the
read model's curves (``LineageIndex.best_curve``).
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.style import Style
from rich.text import Text
from textual.widget import Widget

from codeevo.lineage.index import CurvePoint

# Braille dot bits by (row 0..3, column 0..1) inside one character cell.
_DOTS = ((0x01, 0x08), (0x02, 0x10), (0x04, 0x20), (0x40, 0x80))
ISLAND_COLOURS = ("#5fafff", "#ffaf5f", "#af87ff", "#5fd7af", "#ff87af", "#d7d75f",
                  "#87d7ff", "#d7afff")
OVERALL = "bold #ffffff"
Y_LABEL = 9  # characters for the y-axis labels


@dataclass(frozen=True)
class Series:
    """One line: its legend name, colour and curve (points in evaluation order)."""

    name: str
    style: str
    points: list[CurvePoint]


class ScorePlot(Widget):
    """`show(series, evaluations)` redraws; the last series is drawn on top."""

    DEFAULT_CSS = """
    ScorePlot { height: 1fr; min-height: 5; padding: 0 1; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.series: list[Series] = []
        self.evaluations = 0

    def show(self, series: list[Series], evaluations: int) -> None:
        self.series = series
        self.evaluations = evaluations
        self.refresh()

    def render(self) -> Text:
        width, height = self.content_size.width, self.content_size.height
        points = [p for s in self.series for p in s.points]
        if not points:
            return Text("no scored candidate yet", style="dim")
        out = Text(no_wrap=True, overflow="crop")
        legend = Text("best score over evaluations  ", style="bold")
        for s in self.series:
            legend.append("━ ", style=s.style)
            legend.append(f"{s.name}  ")
        out.append_text(legend)
        out.append("\n")
        pw, ph = max(4, width - Y_LABEL - 1), max(2, height - 2)
        lo = min(p.score for p in points)
        hi = max(p.score for p in points)
        if hi <= lo:
            lo, hi = lo - 0.5, hi + 0.5
        x_max = max(self.evaluations, max(p.evaluations for p in points), 1)
        cells: dict[tuple[int, int], int] = {}
        colour: dict[tuple[int, int], str] = {}
        dots_w, dots_h = pw * 2, ph * 4

        def dot(x: int, y: int, style: str) -> None:
            x, y = min(max(x, 0), dots_w - 1), min(max(y, 0), dots_h - 1)
            key = (x // 2, y // 4)
            cells[key] = cells.get(key, 0) | _DOTS[y % 4][x % 2]
            colour[key] = style

        def px(evals: int) -> int:
            return round(evals / x_max * (dots_w - 1))

        def py(score: float) -> int:
            return round((hi - score) / (hi - lo) * (dots_h - 1))

        for s in self.series:
            pts = s.points
            for i, p in enumerate(pts):
                x0, y0 = px(p.evaluations), py(p.score)
                x1 = px(pts[i + 1].evaluations) if i + 1 < len(pts) else dots_w - 1
                for x in range(x0, x1 + 1):
                    dot(x, y0, s.style)
                if i + 1 < len(pts):
                    y1 = py(pts[i + 1].score)
                    for y in range(min(y0, y1), max(y0, y1) + 1):
                        dot(x1, y, s.style)
        for row in range(ph):
            label = ""
            if row == 0:
                label = f"{hi:.4g}"
            elif row == ph - 1:
                label = f"{lo:.4g}"
            out.append(f"{label:>{Y_LABEL - 1}} ┤", style="dim")
            for col in range(pw):
                bits = cells.get((col, row))
                if bits is None:
                    out.append(" ")
                else:
                    out.append(chr(0x2800 + bits), style=Style.parse(colour[(col, row)]))
            out.append("\n")
        axis = f"{'':>{Y_LABEL - 1}} └" + "─" * pw
        out.append(axis + "\n", style="dim")
        right = f"{x_max} evaluations"
        out.append(f"{'':>{Y_LABEL}}0{right:>{max(1, pw - 1)}}", style="dim")
        return out

    def get_content_height(self, container: object, viewport: object, width: int) -> int:
        return 12
