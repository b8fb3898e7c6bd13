"""The new-run form: problem (found, or any folder), model(s), budget, sandbox, islands, seed.

Errors come from the same pydantic models the CLI and config files use, and each one is shown
under the field its path points at. Models then go through the same pre-flight check as every
run (``codeevo.llm.preflight``: litellm knows the provider, the key is set, an api_base
answers, a cost budget has prices) in a worker, as the LLM worker takes seconds to start; its
findings are shown under the Models field.
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from pydantic import ValidationError
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import Button, Footer, Input, Select, Static

from codeevo.config import RunConfig, deep_merge
from codeevo.errors import CodeevoError
from codeevo.problem import Problem, find_problems, load_problem
from codeevo.tui.compat import chosen, select_kwargs
from codeevo.tui.widgets.form_field import FormField
from codeevo.tui.widgets.title_bar import TitleBar

if TYPE_CHECKING:
    from codeevo.tui.app import CodeevoApp

# Config field path (prefix) → form field id.
FIELD_OF: dict[tuple[str, ...], str] = {
    ("seed",): "seed",
    ("population", "num_islands"): "islands",
    ("budget", "max_evaluations"): "budget",
    ("budget", "max_cost"): "max_cost",
    ("sandbox", "kind"): "sandbox",
    ("llm", "models"): "models",
}
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


class NewRunScreen(Screen[None]):
    BINDINGS = [
        Binding("ctrl+s", "start", "Start run"),
        Binding("escape", "app.pop_screen", "Back"),
    ]

    DEFAULT_CSS = """
    NewRunScreen VerticalScroll { padding: 1 2; }
    NewRunScreen Horizontal { height: auto; }
    NewRunScreen Horizontal > FormField { width: 1fr; margin-right: 2; }
    NewRunScreen #general { color: $error; height: auto; }
    NewRunScreen #state { color: $text-muted; height: auto; }
    """

    def __init__(self, problem: Path | None = None) -> None:
        super().__init__()
        self.initial_problem = problem
        self.problems: list[Path] = []
        self.checks = 0  # validations finished (tests wait on it)
        self._suggested = ""

    @property
    def codeevo(self) -> CodeevoApp:
        from codeevo.tui.app import CodeevoApp

        return cast(CodeevoApp, self.app)

    def compose(self) -> ComposeResult:
        app = self.codeevo
        self.problems = find_problems(*app.problem_roots)
        options = [(p.name, str(p)) for p in self.problems]
        initial = str(self.initial_problem.resolve()) if self.initial_problem else None
        if initial not in {v for _, v in options}:
            initial = options[0][1] if options else None
        yield TitleBar()
        with VerticalScroll():
            found = f"found under {', '.join(map(str, app.problem_roots))}"
            yield FormField("Problem", Select(options, id="problem-input",
                                              allow_blank=not options,
                                              prompt="no problem found" if not options
                                              else "choose a problem",
                                              **select_kwargs(initial)),
                            found if options else f"none {found}: give a folder below",
                            id="problem")
            yield FormField("… or a problem folder", Input(id="path-input",
                                                          placeholder="path/to/problem"),
                            "a folder holding problem.yaml; used instead of the choice above",
                            id="path")
            yield FormField("Run name", Input(id="name-input"),
                            f"the run directory, under {app.runs_root}/", id="name")
            yield FormField("Models", Input(id="models-input", placeholder="offline AST operator"),
                            "litellm names, comma-separated; empty: offline operator, no API key",
                            id="models")
            with Horizontal():
                yield FormField("Max evaluations", Input("300", id="budget-input"), id="budget")
                yield FormField("Max cost ($)", Input(id="max_cost-input", placeholder="none"),
                                id="max_cost")
            with Horizontal():
                yield FormField(
                    "Sandbox",
                    Select([(k, k) for k in ("auto", "local", "docker", "docker-gpu")],
                           value="auto", allow_blank=False, id="sandbox-input"),
                    id="sandbox")
                yield FormField("Islands", Input("4", id="islands-input"), id="islands")
                yield FormField("Seed", Input("0", id="seed-input"), id="seed")
            yield Static("", id="general")
            yield Static("", id="state")
            yield Button("Start run", variant="primary", id="start")
        yield Footer()

    def on_mount(self) -> None:
        self._suggest_name()

    def on_select_changed(self, event: Select.Changed) -> None:
        if event.select.id == "problem-input":
            self._suggest_name()

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "path-input":
            self._suggest_name()

    def _suggest_name(self) -> None:
        """Name the run after the problem, unless the user has typed a name of their own."""
        path = self._problem_path()
        field = self.query_one("#name-input", Input)
        if path is None or field.value not in ("", self._suggested):
            return
        base, n = path.name, 1
        name = base
        while (self.codeevo.runs_root / name).exists():
            n += 1
            name = f"{base}-{n}"
        self._suggested = name
        field.value = name

    def _problem_path(self) -> Path | None:
        typed = self.query_one("#path-input", Input).value.strip()
        if typed:
            return Path(typed).expanduser()
        value = chosen(self.query_one("#problem-input", Select))
        return Path(str(value)) if value is not None else None

    # ------------------------------------------------------------------ validation

    def form_data(self) -> dict[str, Any]:
        """The form as a partial RunConfig mapping (blank fields are left to the defaults)."""

        def text(field: str) -> str:
            return self.query_one(f"#{field}-input", Input).value.strip()

        data: dict[str, Any] = {}
        if text("seed"):
            data["seed"] = text("seed")
        if text("islands"):
            data["population"] = {"num_islands": text("islands")}
        budget: dict[str, Any] = {}
        if text("budget"):
            budget["max_evaluations"] = text("budget")
        if text("max_cost"):
            budget["max_cost"] = text("max_cost")
        if budget:
            data["budget"] = budget
        data["sandbox"] = {"kind": self.query_one("#sandbox-input", Select).value}
        models = self._models()
        if models:
            data["llm"] = {"models": [{"name": m} for m in models]}
        return data

    def validate_form(self) -> tuple[Problem, RunConfig, Path] | None:
        """Check every field; show each error under its field; return what a run needs."""
        for ff in self.query(FormField):
            ff.set_error(None)
        general = self.query_one("#general", Static)
        general.update("")
        errors: dict[str, list[str]] = {}
        problem: Problem | None = None
        path = self._problem_path()
        typed = bool(self.query_one("#path-input", Input).value.strip())
        if path is None:
            errors.setdefault("problem", []).append("choose a problem, or give its folder")
        else:
            try:
                problem = load_problem(path)
            except CodeevoError as exc:
                errors.setdefault("path" if typed else "problem", []).append(str(exc))
        name = self.query_one("#name-input", Input).value.strip()
        run_path = self.codeevo.runs_root / name
        if not _NAME.match(name):
            errors.setdefault("name", []).append(
                "a folder name: letters, digits, '.', '_' or '-'")
        elif run_path.exists() and any(run_path.iterdir()):
            errors.setdefault("name", []).append(f"{run_path} already holds a run")
        config: RunConfig | None = None
        defaults = problem.config.defaults if problem is not None else {}
        try:
            config = RunConfig.model_validate(deep_merge(defaults, self.form_data()))
        except ValidationError as exc:
            for err in exc.errors():
                loc = tuple(str(p) for p in err["loc"])
                field = next((f for pre, f in FIELD_OF.items() if loc[: len(pre)] == pre), None)
                msg = f"{'.'.join(loc)}: {err['msg']}"
                if field is None:
                    general.update(msg)
                else:
                    errors.setdefault(field, []).append(msg)
        self._show_errors(errors)
        if errors or config is None or problem is None:
            return None
        return problem, config, run_path

    def _show_errors(self, errors: dict[str, list[str]]) -> None:
        for field, msgs in errors.items():
            self.query_one(f"#{field}", FormField).set_error("\n".join(msgs))
        first = next((ff for ff in self.query(FormField) if ff.id in errors), None)
        if first is not None:  # on a small screen the error may be below the fold
            first.control.focus()
            self.call_after_refresh(first.scroll_visible, animate=False)

    # ------------------------------------------------------------------ start

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "start":
            self.action_start()

    def _models(self) -> list[str]:
        text = self.query_one("#models-input", Input).value
        return [m.strip() for m in text.split(",") if m.strip()]

    def action_start(self) -> None:
        checked = self.validate_form()
        if checked is None or not checked[1].llm.models:
            self.checks += 1
            if checked is not None:
                self._launch(*checked)
            return
        self.query_one("#start", Button).disabled = True
        self.query_one("#state", Static).update(
            "checking the models (the LLM worker is starting: a few seconds) …")
        self._preflight(*checked)

    @work(thread=True, exclusive=True, group="preflight")
    def _preflight(self, problem: Problem, config: RunConfig, run_path: Path) -> None:
        from codeevo.llm.preflight import preflight

        problems: list[str] = []
        try:
            asyncio.run(preflight(config.llm, config.budget))
        except CodeevoError as exc:
            problems = [line.strip() for line in str(exc).splitlines()[1:] if line.strip()]
            problems = problems or [str(exc)]
        self.app.call_from_thread(self._preflighted, problems, problem, config, run_path)

    def _preflighted(self, problems: list[str], problem: Problem, config: RunConfig,
                     run_path: Path) -> None:
        self.checks += 1
        self.query_one("#state", Static).update("")
        self.query_one("#start", Button).disabled = False
        if problems:
            self._show_errors({"models": problems})
            return
        self._launch(problem, config, run_path)

    def _launch(self, problem: Problem, config: RunConfig, run_path: Path) -> None:
        self.query_one("#start", Button).disabled = True
        self.query_one("#state", Static).update(f"starting {run_path} …")
        self._start(problem, config, run_path)

    @work(thread=True, exclusive=True, group="start-run")
    def _start(self, problem: Problem, config: RunConfig, run_path: Path) -> None:
        live = self.codeevo.start_live_run(problem, config, run_path)
        live.ready.wait()
        self.app.call_from_thread(self._started, live)

    def _started(self, live: Any) -> None:
        if live.error is not None:
            self.query_one("#general", Static).update(f"could not start: {live.error}")
            self.query_one("#state", Static).update("")
            self.query_one("#start", Button).disabled = False
            return
        self.codeevo.show_live_run(live, replace=self)
