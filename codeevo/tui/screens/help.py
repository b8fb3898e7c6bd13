"""The help screen: the bindings of the screen it was opened from (and of the widget that had
focus there), then the ones that work everywhere. Built from the live bindings, so it lists
exactly what the keys do on that screen."""

from __future__ import annotations

from dataclasses import dataclass

from rich.table import Table
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Static


@dataclass(frozen=True)
class HelpSection:
    title: str
    rows: list[tuple[str, str]]


def sections_for(screen: Screen[object]) -> list[HelpSection]:
    """What the keys do on `screen`: its focused widget's bindings, the screen's, its notes,
    then the app's. Each key is listed once, where it takes effect first."""
    app = screen.app
    by_node: dict[object, list[tuple[str, str]]] = {}
    seen: set[str] = set()
    for key, active in screen.active_bindings.items():
        if key in seen:
            continue
        seen.add(key)
        binding: Binding = active.binding
        by_node.setdefault(active.node, []).append(
            (_key_display(app, binding), binding.description or binding.action))
    name = type(screen).__name__.removesuffix("Screen")
    out = [HelpSection(f"This screen ({name})", by_node.get(screen, []))]
    for node, rows in by_node.items():
        if node is not app and node is not screen:
            out.append(HelpSection(f"{type(node).__name__} (has focus)", rows))
    notes = list(getattr(type(screen), "HELP_NOTES", []))
    if notes:
        out.append(HelpSection("Also", notes))
    out.append(HelpSection("Everywhere", by_node.get(app, [])))
    return out


def _key_display(app: object, binding: Binding) -> str:
    try:
        return str(app.get_key_display(binding))  # type: ignore[attr-defined]
    except (AttributeError, TypeError):  # Textual before 0.80 took the key string
        return str(app.get_key_display(binding.key))  # type: ignore[attr-defined]


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,question_mark,f1", "app.pop_screen", "Close")]

    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll { width: 76; max-width: 100%; height: 90%;
                                  border: thick $primary; background: $surface; padding: 0 1; }
    """

    def __init__(self, sections: list[HelpSection]) -> None:
        super().__init__()
        self.sections = sections

    def compose(self) -> ComposeResult:
        table = Table.grid(padding=(0, 2))
        table.add_column(style="bold cyan", no_wrap=True)
        table.add_column()
        for section in self.sections:
            table.add_row(f"[b u]{section.title}[/]", "")
            for key, what in section.rows:
                table.add_row(key, what)
            table.add_row("", "")
        with VerticalScroll():
            yield Static(table, id="help-table")
