"""The help screen: every key binding, by screen."""

from __future__ import annotations

from rich.table import Table
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

HELP: list[tuple[str, list[tuple[str, str]]]] = [
    ("Everywhere", [("q", "quit (asks what to do with a run started here)"),
                    ("?  f1", "this help"), ("ctrl+t", "light / dark theme"),
                    ("escape", "back"), ("tab / shift+tab", "next / previous widget")]),
    ("Home", [("enter", "open the run / new run with the problem"), ("n", "new run"),
              ("r", "refresh")]),
    ("New run", [("ctrl+s", "validate and start"), ("escape", "cancel")]),
    ("Dashboard", [("space", "pause / resume (a run started here)"), ("s", "stop the run"),
                   ("b", "best candidate"), ("l", "lineage"),
                   ("enter / o", "open the leaderboard's row or the map's cell"),
                   ("arrows", "move in a map (tab to it first)")]),
    ("Candidate", [("g d i a m", "program, diff, info, artifacts, LLM tabs"),
                   ("p / 2", "primary / second parent"), ("c", "parents and children list"),
                   ("l", "show in lineage")]),
    ("Lineage", [("enter", "open candidate / expand a group"), ("space", "expand / collapse"),
                 ("u  shift+left", "up to the tree parent"), ("b", "jump to best"),
                 ("a", "highlight ancestry ◆"), ("2", "jump to second parent"),
                 ("f", "filters (island, operator, status)")]),
]


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,question_mark,f1", "app.pop_screen", "Close")]

    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll { width: 80; height: 80%; border: thick $primary;
                                  background: $surface; padding: 1 2; }
    """

    def compose(self) -> ComposeResult:
        table = Table.grid(padding=(0, 2))
        table.add_column(style="bold cyan", no_wrap=True)
        table.add_column()
        for section, rows in HELP:
            table.add_row(f"[b u]{section}[/]", "")
            for key, what in rows:
                table.add_row(key, what)
            table.add_row("", "")
        with VerticalScroll():
            yield Static(table)
