"""Home: the problems found and the recent runs. Enter opens, `n` starts a new run."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, cast

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Label

from codeevo.errors import CodeevoError
from codeevo.problem import find_problems, load_problem
from codeevo.runs import RunSummary, list_runs
from codeevo.tui import format as fmt
from codeevo.tui.widgets.title_bar import TitleBar

if TYPE_CHECKING:
    from codeevo.tui.app import CodeevoApp

_RUN_STATUS = {"running": "green", "finished": "cyan", "stopped": "yellow", "crashed": "red"}


class HomeScreen(Screen[None]):
    BINDINGS = [
        Binding("n", "new_run", "New run"),
        Binding("r", "refresh", "Refresh"),
        Binding("tab", "focus_next", "Next table", show=False),
    ]

    DEFAULT_CSS = """
    HomeScreen Label.title { padding: 1 1 0 1; text-style: bold; }
    HomeScreen #problems { height: auto; max-height: 12; }
    HomeScreen #runs { height: 1fr; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.problem_paths: list[Path] = []
        self.run_paths: list[Path] = []

    @property
    def codeevo(self) -> CodeevoApp:
        from codeevo.tui.app import CodeevoApp

        return cast(CodeevoApp, self.app)

    def compose(self) -> ComposeResult:
        yield TitleBar()
        with Vertical():
            yield Label("Problems — Enter: new run with this problem", classes="title")
            yield DataTable(id="problems", cursor_type="row")
            yield Label("Recent runs — Enter: open dashboard", classes="title")
            yield DataTable(id="runs", cursor_type="row")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#problems", DataTable).add_columns(
            "problem", "description", "evaluator", "sandbox")
        self.query_one("#runs", DataTable).add_columns(
            "run", "problem", "status", "evals", "best", "cost", "age")

    def on_screen_resume(self) -> None:
        # Loaded when shown (and re-shown), not while `codeevo tui RUN` opens a dashboard on top.
        self.action_refresh()

    def action_refresh(self) -> None:
        self._load()

    @work(thread=True, exclusive=True, group="home-load")
    def _load(self) -> None:
        app = self.codeevo
        problems: list[tuple[Path, tuple[str, str, str, str]]] = []
        for path in find_problems(*app.problem_roots):
            try:
                prob = load_problem(path)
            except CodeevoError as exc:
                problems.append((path, (path.name, f"invalid: {exc}"[:60], "-", "-")))
                continue
            evaluator = f"{prob.evaluator_dir.name}/{prob.config.evaluator.module}"
            problems.append((path, (prob.name, prob.config.description[:60], evaluator,
                                    prob.config.sandbox_profile)))
        runs = list_runs(app.runs_root)
        self.app.call_from_thread(self._show, problems, runs)

    def _show(
        self, problems: list[tuple[Path, tuple[str, str, str, str]]], runs: list[RunSummary]
    ) -> None:
        table = self.query_one("#problems", DataTable)
        table.clear()
        self.problem_paths = [p for p, _ in problems]
        for path, row in problems:
            table.add_row(*row, key=str(path))
        if not problems:
            roots = self.codeevo.problem_roots
            why = "; ".join(f"{r}: {'no such folder' if not r.is_dir() else 'no problem.yaml'}"
                            for r in roots)
            table.add_row(Text(f"(no problems found — {why}; n: new run from a folder)",
                               style="yellow"), "", "", "")
        rtable = self.query_one("#runs", DataTable)
        rtable.clear()
        self.run_paths = [r.path for r in runs]
        now = self.codeevo.now()
        for r in runs:
            when = r.updated or r.started
            rtable.add_row(
                r.path.name,
                r.problem,
                Text(r.status, style=_RUN_STATUS.get(r.status, "")),
                str(r.evaluations),
                fmt.score(r.best_score),
                fmt.money(r.cost),
                fmt.age(now - when if when else None),
                key=str(r.path),
            )
        if runs:
            rtable.focus()
        else:
            table.focus()
            rtable.add_row("(no runs yet under " + str(self.codeevo.runs_root) + ")",
                           "", "", "", "", "", "")

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        if event.data_table.id == "problems" and event.cursor_row < len(self.problem_paths):
            self.codeevo.open_new_run(self.problem_paths[event.cursor_row])
        elif event.data_table.id == "runs" and event.cursor_row < len(self.run_paths):
            self.codeevo.open_run(self.run_paths[event.cursor_row])

    def action_new_run(self) -> None:
        table = self.query_one("#problems", DataTable)
        row = table.cursor_row
        path = self.problem_paths[row] if 0 <= row < len(self.problem_paths) else None
        self.codeevo.open_new_run(path)
