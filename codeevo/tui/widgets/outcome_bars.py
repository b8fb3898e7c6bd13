"""Success rates as bars: per operator and per model, how many candidates came back OK and how
many beat their parent (the read model's ``LineageIndex.outcomes``)."""

from __future__ import annotations

from rich.text import Text
from textual.widget import Widget

from codeevo.lineage.index import Outcomes

BAR = 24


def bar(outcome: Outcomes, width: int = BAR) -> Text:
    """`████▓▓░░░░` : improved (bright), other OK (green), the rest (dim)."""
    if outcome.proposed == 0:
        return Text("░" * width, style="dim")
    improved = round(outcome.improved / outcome.proposed * width)
    ok = max(improved, round(outcome.ok / outcome.proposed * width))
    text = Text()
    text.append("█" * improved, style="bold #a0da39")
    text.append("█" * (ok - improved), style="#1fa187")
    text.append("░" * (width - ok), style="dim")
    return text


class OutcomeBars(Widget):
    """Two tables of bars: operators, then models (an offline run has no model rows)."""

    DEFAULT_CSS = """
    OutcomeBars { height: auto; padding: 0 1; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.sections: list[tuple[str, dict[str, Outcomes]]] = []

    def show(self, operators: dict[str, Outcomes], models: dict[str, Outcomes]) -> None:
        self.sections = [("operator", operators), ("model", models)]
        self.refresh(layout=True)

    def render(self) -> Text:
        width = max(8, min(BAR, self.content_size.width - 44))
        out = Text(no_wrap=True, overflow="ellipsis")
        out.append("█", style="bold #a0da39")
        out.append(" beat their parent  ")
        out.append("█", style="#1fa187")
        out.append(" other OK  ")
        out.append("░", style="dim")
        out.append(" rejected or failed\n")
        for title, table in self.sections:
            if not table:
                continue
            out.append(f"\nby {title}\n", style="bold")
            name_w = min(22, max(len(n) for n in table))
            for name, o in table.items():
                out.append(f"{name[-name_w:]:<{name_w}} ")
                out.append_text(bar(o, width))
                out.append(f" {o.ok}/{o.proposed} ok {o.success_rate:6.1%}")
                out.append(f"  {o.improvement_rate:5.1%} improved\n", style="dim")
        if not any(t for _, t in self.sections):
            out.append("no candidates yet", style="dim")
        return out

    def get_content_height(self, container: object, viewport: object, width: int) -> int:
        rows = sum(len(t) + 2 for _, t in self.sections if t)
        return max(2, rows + 1)
