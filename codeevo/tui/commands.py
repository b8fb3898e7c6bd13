"""The command palette's codeevo commands (ctrl+p): new run, open a run, go to a candidate (type
its id, number or commit prefix), best, lineage, pause, stop, resume, export."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, cast

from textual.command import DiscoveryHit, Hit, Hits, Provider

if TYPE_CHECKING:
    from codeevo.runs import RunSummary
    from codeevo.tui.app import CodeevoApp
    from codeevo.tui.screens.dashboard import DashboardScreen

Command = tuple[str, str, Callable[[], object]]


class CodeevoCommands(Provider):
    """The app's commands, the runs under the runs folder, and the candidates of the run shown."""

    runs: tuple[RunSummary, ...] = ()  # listed in startup(), off the UI thread

    @property
    def codeevo(self) -> CodeevoApp:
        from codeevo.tui.app import CodeevoApp

        return cast(CodeevoApp, self.app)

    async def startup(self) -> None:
        from codeevo.runs import list_runs

        self.runs = tuple(await asyncio.to_thread(list_runs, self.codeevo.runs_root))

    def commands(self) -> list[Command]:
        app = self.codeevo
        out: list[Command] = [("New run", "start a run from the form", app.open_new_run)]
        dash = app.current_dashboard()
        if dash is not None and dash.loaded:
            name = dash.run_path.name
            out += [
                ("Go to candidate…", f"by id, number or commit prefix ({name})",
                 partial(self._on, dash, dash.action_jump)),
                ("Go to the best candidate", name, partial(self._on, dash, dash.action_open_best)),
                ("Show the lineage graph", name, partial(self._on, dash, dash.action_lineage)),
                ("Export the lineage as HTML", f"{name}/lineage.html, one self-contained page",
                 partial(self._on, dash, dash.action_export)),
            ]
            if dash.driving:
                out += [("Pause or resume the run", name,
                         partial(self._on, dash, dash.action_toggle_pause)),
                        ("Stop the run", f"{name} (asks first)",
                         partial(self._on, dash, dash.action_stop))]
            else:
                out.append(("Resume the run with a new budget", name,
                            partial(self._on, dash, dash.action_resume)))
        for run in self.runs:
            out.append((f"Open run {run.path.name}",
                        f"{run.problem} · {run.status} · {run.evaluations} evaluations",
                        partial(app.open_run, run.path)))
        return out

    def _on(self, dash: DashboardScreen, action: Callable[[], object]) -> None:
        """Run a dashboard action on that dashboard, brought to the top first."""
        app = self.codeevo
        while app.screen is not dash and len(app.screen_stack) > 1:
            app.pop_screen()
        action()

    async def discover(self) -> Hits:
        for name, help_text, callback in self.commands():
            yield DiscoveryHit(name, callback, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, help_text, callback in self.commands():
            score = matcher.match(name)
            if score > 0:
                yield Hit(score, matcher.highlight(name), callback, help=help_text)
        dash = self.codeevo.current_dashboard()
        if dash is None or not dash.loaded:
            return
        words = query.strip().split()
        text = words[-1] if words else ""
        for cid in dash.index.matching(text, limit=20):
            row = dash.index.rows[cid]
            label = f"Go to {cid} {row.short}".strip()
            outcome = f"{row.score:.4f}" if row.ok else f"{row.status.value}@{row.stage or '-'}"
            yield Hit(1.0, label, partial(dash.open_candidate, cid),
                      help=f"{row.operator} on island {row.island}: {outcome}")
