"""A labelled form row: a label, an input widget and the validation error shown under it."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widget import Widget
from textual.widgets import Label, Static


class FormField(Vertical):
    """Wraps one input; `set_error(message)` shows (or with None, clears) its error line."""

    DEFAULT_CSS = """
    FormField { height: auto; margin: 0 0 1 0; }
    FormField > Label { text-style: bold; }
    FormField > .hint { color: $text-muted; }
    FormField > .error { color: $error; display: none; }
    FormField.-invalid > .error { display: block; }
    """

    def __init__(self, label: str, control: Widget, hint: str = "", *, id: str | None = None):
        super().__init__(id=id)
        self.label = label
        self.control = control
        self.hint = hint
        self._error = ""

    def compose(self) -> ComposeResult:
        yield Label(self.label)
        yield self.control
        if self.hint:
            yield Static(self.hint, classes="hint")
        yield Static("", classes="error")

    def set_error(self, message: str | None) -> None:
        self._error = message or ""
        self.query_one(".error", Static).update(self._error)
        self.set_class(bool(message), "-invalid")

    @property
    def error(self) -> str:
        """The error shown under the field ('' when none)."""
        return self._error
