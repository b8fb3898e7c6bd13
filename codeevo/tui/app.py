"""The codeevo Textual app: screens, global bindings, and the runs started from the TUI."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path

from textual import work
from textual.app import App
from textual.binding import Binding
from textual.screen import Screen

from codeevo.config import RunConfig
from codeevo.lineage.base import LineageStore
from codeevo.problem import Problem
from codeevo.tui.live_run import LiveRun
from codeevo.tui.screens.dashboard import DashboardScreen
from codeevo.tui.screens.help import HelpScreen
from codeevo.tui.screens.home import HomeScreen
from codeevo.tui.screens.new_run import NewRunScreen
from codeevo.tui.screens.quit_dialog import QuitDialog


class CodeevoApp(App[None]):
    """`codeevo tui [RUN_DIR]`: home screen, or straight to a run's dashboard.

    Args:
        run_path: a run directory to open at start (finished, or written by another process).
        runs_root: where runs are listed and new runs are created.
        problem_roots: folders searched for problems.
        now: the clock used for "age" columns (tests pin it).
        store_factory: opens a run's lineage store; default: the git store of the run.
    """

    TITLE = "codeevo"
    BINDINGS = [
        Binding("q", "quit", "Quit"),
        Binding("question_mark,f1", "help", "Help"),
        Binding("ctrl+t", "toggle_theme", "Theme"),
    ]

    def __init__(
        self,
        run_path: Path | None = None,
        *,
        runs_root: Path = Path("runs"),
        problem_roots: Sequence[Path] = (Path("problems"),),
        now: Callable[[], float] = time.time,
        store_factory: Callable[[Path], LineageStore] | None = None,
        theme: str | None = None,
    ) -> None:
        super().__init__()
        self.start_path = run_path
        self.runs_root = runs_root
        self.problem_roots = list(problem_roots)
        self.now = now
        self.store_factory = store_factory
        self.live_runs: dict[Path, LiveRun] = {}
        if theme is not None:
            self.theme = theme

    def on_mount(self) -> None:
        self.push_screen(HomeScreen())
        if self.start_path is not None:
            self.open_run(self.start_path)

    # ------------------------------------------------------------------ navigation

    def store_for(self, run_path: Path) -> LineageStore | None:
        """A reader for the run's lineage; None lets RunSource open the git store itself."""
        return self.store_factory(run_path) if self.store_factory is not None else None

    def open_run(self, path: Path) -> None:
        live = self.live_runs.get(path.resolve())
        if live is not None and live.done.is_set():
            live = None
        self.push_screen(DashboardScreen(path, live))

    def open_new_run(self, problem: Path | None = None) -> None:
        self.push_screen(NewRunScreen(problem))

    def start_live_run(self, problem: Problem, config: RunConfig, run_path: Path) -> LiveRun:
        """Create the run directory and its engine in a thread of their own (see LiveRun)."""
        live = LiveRun(problem, config, run_path)
        self.live_runs[run_path.resolve()] = live
        live.start()
        return live

    def show_live_run(self, live: LiveRun, replace: Screen[None] | None = None) -> None:
        if replace is not None and self.screen is replace:
            self.pop_screen()
        self.push_screen(DashboardScreen(live.run_path, live))

    # ------------------------------------------------------------------ actions

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    def action_toggle_theme(self) -> None:
        self.theme = "textual-light" if self.current_theme.dark else "textual-dark"

    def running_live(self) -> list[LiveRun]:
        return [lr for lr in self.live_runs.values() if lr.running]

    async def action_quit(self) -> None:
        running = self.running_live()
        if not running:
            self.exit()
            return

        def chosen(choice: str | None) -> None:
            if choice in ("stop", "detach"):
                self._close_runs(choice)

        self.push_screen(QuitDialog([str(lr.run_path) for lr in running]), chosen)

    @work(thread=True, exclusive=True, group="quit")
    def _close_runs(self, how: str) -> None:
        for live in self.running_live():
            if how == "detach":
                live.detach()
            else:
                live.stop("stopped: the TUI quit")
                live.wait(120)
        self.call_from_thread(self.exit)
