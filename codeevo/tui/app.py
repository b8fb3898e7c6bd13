"""The codeevo Textual app: screens, global bindings, the command palette, and the runs started
from the TUI."""

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
from codeevo.lineage.index import LineageIndex
from codeevo.problem import Problem
from codeevo.run_reader import RunReader
from codeevo.tui.commands import CodeevoCommands
from codeevo.tui.live_run import LiveRun
from codeevo.tui.screens.candidate import CandidateScreen
from codeevo.tui.screens.dashboard import DashboardScreen
from codeevo.tui.screens.help import HelpScreen, sections_for
from codeevo.tui.screens.home import HomeScreen
from codeevo.tui.screens.lineage import LineageScreen
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

    After it exits, ``exit_notes`` holds what the user must know (a detached run's pid and
    log); ``codeevo tui`` prints them.
    """

    TITLE = "codeevo"
    BINDINGS = [
        Binding("q", "quit", "Quit"),
        Binding("question_mark,f1", "help", "Help"),
        Binding("ctrl+t", "toggle_theme", "Theme"),
    ]
    COMMANDS = App.COMMANDS | {CodeevoCommands}

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
        self.exit_notes: list[str] = []
        if theme is not None:
            self.theme = theme

    def on_mount(self) -> None:
        self.push_screen(HomeScreen())
        missing = [str(r) for r in self.problem_roots if not r.is_dir()]
        if missing:
            self.notify(f"problem folder not found: {', '.join(missing)}", severity="warning",
                        timeout=8)
        if self.start_path is not None:
            self.open_run(self.start_path)

    # ------------------------------------------------------------------ navigation

    def store_for(self, run_path: Path) -> LineageStore | None:
        """A reader for the run's lineage; None lets RunReader open the git store itself."""
        return self.store_factory(run_path) if self.store_factory is not None else None

    def open_run(self, path: Path) -> None:
        live = self.live_runs.get(path.resolve())
        if live is not None and live.done.is_set():
            live = None
        self.push_screen(DashboardScreen(path, live))

    def open_new_run(self, problem: Path | None = None) -> None:
        self.push_screen(NewRunScreen(problem))

    def current_dashboard(self) -> DashboardScreen | None:
        """The dashboard of the run being looked at (the topmost one on the stack)."""
        for screen in reversed(self.screen_stack):
            if isinstance(screen, DashboardScreen):
                return screen
        return None

    def show_candidate(self, reader: RunReader, index: LineageIndex, cid: str) -> None:
        """Show a candidate: in the candidate screen on top if there is one (its breadcrumb
        grows), else in a new one."""
        if isinstance(self.screen, CandidateScreen):
            self.screen.show(cid)
        else:
            self.push_screen(CandidateScreen(reader, index, cid))

    def show_lineage(self, reader: RunReader, index: LineageIndex, cid: str | None) -> None:
        """Show the lineage graph (at `cid`): back to the one already open under this screen,
        or a new one."""
        stack = self.screen_stack
        below = next((s for s in reversed(stack) if isinstance(s, LineageScreen)), None)
        if below is not None and below.index is index:
            while self.screen is not below:
                self.pop_screen()
            if cid is not None:
                below.reveal(cid)
            return
        self.push_screen(LineageScreen(reader, index, focus=cid))

    def start_live_run(self, problem: Problem, config: RunConfig, run_path: Path,
                       resume: bool = False) -> LiveRun:
        """Create (or reopen, to resume) the run directory and its engine in a thread of
        their own (see LiveRun)."""
        live = LiveRun(problem, config, run_path, resume=resume)
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
            self.push_screen(HelpScreen(sections_for(self.screen)))

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
                proc = live.detach()
                log = live.run_path / "detached.log"
                self.exit_notes.append(
                    f"{live.run_path}: continues in the background as pid {proc.pid} "
                    f"(codeevo resume); log: {log}; stop it with: kill {proc.pid}")
            else:
                live.stop("stopped: the TUI quit")
                live.wait(120)
        self.call_from_thread(self.exit)
