"""Resume a stopped or finished run with a new budget: how many more evaluations, and an
optional cost cap. Checked by the same RunConfig models as `codeevo resume`."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Static

from codeevo.config import RunConfig, deep_merge
from codeevo.tui.widgets.form_field import FormField


class ResumeDialog(ModalScreen[RunConfig | None]):
    """Dismisses with the run's config under the new budget, or None."""

    BINDINGS = [Binding("escape", "cancel", "Cancel"), Binding("ctrl+s", "start", "Resume")]

    DEFAULT_CSS = """
    ResumeDialog { align: center middle; }
    ResumeDialog > Vertical { width: 70; max-width: 100%; height: auto;
                              border: thick $primary; background: $surface; padding: 1 2; }
    ResumeDialog Horizontal { height: auto; }
    ResumeDialog Button { margin-right: 1; }
    """

    def __init__(self, config: RunConfig, evaluations: int, run_name: str) -> None:
        super().__init__()
        self.config = config
        self.evaluations = evaluations
        self.run_name = run_name

    def compose(self) -> ComposeResult:
        cap = self.config.budget.max_cost
        with Vertical():
            yield Static(f"Resume [b]{self.run_name}[/] ({self.evaluations} evaluations so far)"
                         " with a new budget:")
            yield FormField("More evaluations", Input("100", id="more-input"),
                            "added to the evaluations so far", id="more")
            yield FormField("Max cost ($)", Input("" if cap is None else f"{cap:g}",
                                                  id="cost-input", placeholder="no cap"),
                            "for the whole run; empty: no cap", id="cost")
            with Horizontal():
                yield Button("Resume (ctrl+s)", id="resume", variant="primary")
                yield Button("Cancel (esc)", id="cancel")

    def on_mount(self) -> None:
        self.query_one("#more-input", Input).focus()

    def checked(self) -> RunConfig | None:
        """The new config, or None with the errors shown under their fields."""
        more_field = self.query_one("#more", FormField)
        cost_field = self.query_one("#cost", FormField)
        more_field.set_error(None)
        cost_field.set_error(None)
        text = self.query_one("#more-input", Input).value.strip()
        try:
            more = int(text)
            if more < 1:
                raise ValueError
        except ValueError:
            more_field.set_error(f"{text!r}: a whole number of evaluations, 1 or more")
            return None
        budget: dict[str, Any] = {"max_evaluations": self.evaluations + more}
        cost = self.query_one("#cost-input", Input).value.strip()
        budget["max_cost"] = cost or None
        try:
            return RunConfig.model_validate(
                deep_merge(self.config.model_dump(mode="json"), {"budget": budget}))
        except ValidationError as exc:
            for err in exc.errors():
                loc = ".".join(str(p) for p in err["loc"])
                target = cost_field if "max_cost" in loc else more_field
                target.set_error(f"{loc}: {err['msg']}")
            return None

    def on_input_submitted(self, _: Input.Submitted) -> None:
        self.action_start()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "resume":
            self.action_start()
        else:
            self.dismiss(None)

    def action_start(self) -> None:
        config = self.checked()
        if config is not None:
            self.dismiss(config)

    def action_cancel(self) -> None:
        self.dismiss(None)
