"""`/`: go to a candidate by id, number or commit prefix, with suggestions as you type."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from codeevo.errors import CodeevoError
from codeevo.lineage.index import LineageIndex
from codeevo.tui import format as fmt


class JumpScreen(ModalScreen[str | None]):
    """Dismisses with the chosen candidate id, or None."""

    BINDINGS = [Binding("escape", "cancel", "Cancel"),
                Binding("down", "suggestions", "Suggestions", show=False)]

    DEFAULT_CSS = """
    JumpScreen { align: center top; }
    JumpScreen > Vertical { width: 64; max-width: 100%; height: auto; margin-top: 3;
                            border: thick $primary; background: $surface; padding: 0 1; }
    JumpScreen OptionList { height: auto; max-height: 12; }
    JumpScreen #jump-error { color: $error; height: auto; }
    """

    def __init__(self, index: LineageIndex) -> None:
        super().__init__()
        self.index = index

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Input(placeholder="candidate id (c000042), number (42) or commit prefix",
                        id="jump-input")
            yield Static("", id="jump-error")
            yield OptionList(id="jump-options")

    def on_mount(self) -> None:
        self.query_one("#jump-input", Input).focus()

    def on_input_changed(self, event: Input.Changed) -> None:
        options = self.query_one("#jump-options", OptionList)
        options.clear_options()
        self.query_one("#jump-error", Static).update("")
        for cid in self.index.matching(event.value, limit=10):
            row = self.index.rows[cid]
            label = Text(f"{cid} ", style="bold")
            label.append(f"{row.short} ", style="dim")
            label.append(f"{row.operator} i{row.island} ")
            label.append(fmt.outcome(row), style=fmt.STATUS_STYLE.get(row.status, ""))
            options.add_option(Option(label, id=cid))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        try:
            self.dismiss(self.index.resolve(event.value))
        except CodeevoError as exc:
            self.query_one("#jump-error", Static).update(str(exc))

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_suggestions(self) -> None:
        options = self.query_one("#jump-options", OptionList)
        if options.option_count:
            options.focus()
            options.highlighted = 0

    def action_cancel(self) -> None:
        self.dismiss(None)
