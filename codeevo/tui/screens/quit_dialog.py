"""Asked on quit while a run started in this TUI is still going: stop it, detach, or stay."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Static


class QuitDialog(ModalScreen[str]):
    """Dismisses with "stop", "detach" or "cancel"."""

    BINDINGS = [
        Binding("s", "choose('stop')", "Stop and quit"),
        Binding("d", "choose('detach')", "Detach"),
        Binding("escape", "choose('cancel')", "Cancel"),
    ]

    DEFAULT_CSS = """
    QuitDialog { align: center middle; }
    QuitDialog > Vertical { width: 66; height: auto; border: thick $warning;
                            background: $surface; padding: 1 2; }
    QuitDialog Horizontal { height: auto; margin-top: 1; }
    QuitDialog Button { margin-right: 1; }
    """

    def __init__(self, runs: list[str]) -> None:
        super().__init__()
        self.runs = runs

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(
                "A run started here is still going:\n  " + "\n  ".join(self.runs) + "\n\n"
                "[b]s[/]top it cleanly and quit, [b]d[/]etach it (it carries on in the "
                "background as `codeevo resume`), or stay."
            )
            with Horizontal():
                yield Button("Stop and quit", id="stop", variant="error")
                yield Button("Detach", id="detach", variant="warning")
                yield Button("Cancel", id="cancel")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id or "cancel")

    def action_choose(self, choice: str) -> None:
        self.dismiss(choice)
