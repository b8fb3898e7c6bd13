"""One candidate: program, diff against each parent, metrics, artifacts, LLM exchange, costs.

Moving to a parent or a child replaces what this screen shows (one screen, a breadcrumb of the
candidates visited); escape steps back along the breadcrumb, then closes. Program text and files
are read from the lineage store in a worker.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, cast

from rich.syntax import Syntax
from rich.table import Table
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Label, OptionList, Static, TabbedContent, TabPane
from textual.widgets.option_list import Option

from codeevo.candidate import Candidate
from codeevo.errors import CodeevoError
from codeevo.lineage.index import LineageIndex, Row
from codeevo.run_reader import CandidateDetail, RunReader
from codeevo.tui import format as fmt
from codeevo.tui.widgets.diff_view import DiffView
from codeevo.tui.widgets.title_bar import TitleBar

if TYPE_CHECKING:
    from codeevo.tui.app import CodeevoApp

CRUMBS = 6  # candidates shown in the breadcrumb (older ones as "…")


class CandidateScreen(Screen[None]):
    BINDINGS = [
        Binding("p", "parent", "Parent"),
        Binding("2", "second_parent", "2nd parent"),
        Binding("c", "focus_relatives", "Relatives"),
        Binding("d", "tab('diff')", "Diff"),
        Binding("g", "tab('program')", "Program"),
        Binding("i", "tab('info')", "Info"),
        Binding("a", "tab('artifacts')", "Artifacts"),
        Binding("m", "tab('llm')", "LLM"),
        Binding("l", "lineage", "In lineage"),
        Binding("slash", "jump", "Go to id"),
        Binding("escape", "back", "Back"),
    ]
    HELP_NOTES = [("escape", "back along the breadcrumb, then to the screen before"),
                  ("enter", "in parents / children: show that candidate here")]

    DEFAULT_CSS = """
    CandidateScreen #crumbs { height: 1; padding: 0 1; color: $text-muted; }
    CandidateScreen #summary { height: auto; padding: 0 1; }
    CandidateScreen #body { height: 1fr; }
    CandidateScreen TabbedContent { width: 1fr; }
    CandidateScreen #side { width: 32; border-left: solid $primary 40%; }
    CandidateScreen #side > Label { padding: 0 1; text-style: bold; }
    CandidateScreen #relatives { height: 1fr; }
    """

    def __init__(self, reader: RunReader, index: LineageIndex, cid: str) -> None:
        super().__init__()
        self.reader = reader
        self.index = index
        self.trail = [cid]
        self.detail: CandidateDetail | None = None
        self.sub_title = cid

    @property
    def cid(self) -> str:
        return self.trail[-1]

    @property
    def codeevo(self) -> CodeevoApp:
        from codeevo.tui.app import CodeevoApp

        return cast(CodeevoApp, self.app)

    @property
    def candidate(self) -> Candidate | Row:
        """The full record once loaded; the read model's row until then."""
        if self.detail is not None:
            return self.detail.candidate
        return self.index.rows[self.cid]

    def compose(self) -> ComposeResult:
        yield TitleBar()
        yield Static(id="crumbs")
        yield Static(id="summary")
        with Horizontal(id="body"):
            with TabbedContent(initial="program"):
                with TabPane("Program", id="program"):
                    yield VerticalScroll(Static("loading …", id="program-text"))
                with TabPane("Diff", id="diff"):
                    yield VerticalScroll(Static("loading …"), id="diff-body")
                with TabPane("Info", id="info"):
                    yield VerticalScroll(Static("loading …", id="info-text"))
                with TabPane("Artifacts", id="artifacts"):
                    yield VerticalScroll(Static("loading …", id="artifacts-text"))
                with TabPane("LLM", id="llm"):
                    yield VerticalScroll(Static("loading …", id="llm-text"))
            with VerticalScroll(id="side"):
                yield Label("parents / children")
                yield OptionList(id="relatives")
        yield Footer()

    def on_mount(self) -> None:
        self._present()

    # ------------------------------------------------------------------ showing

    def show(self, cid: str) -> None:
        """Show another candidate here, one step further along the breadcrumb."""
        if cid == self.cid:
            return
        self.trail.append(cid)
        self._present()

    def _present(self) -> None:
        self.detail = None
        self.sub_title = self.cid
        self.query_one("#crumbs", Static).update(self._crumbs())
        self.query_one("#summary", Static).update(self._summary())
        relatives = self.query_one("#relatives", OptionList)
        relatives.clear_options()
        relatives.add_options(self._relatives())
        for sel in ("#program-text", "#info-text", "#artifacts-text", "#llm-text"):
            self.query_one(sel, Static).update("loading …")
        self._load(self.cid)

    def _crumbs(self) -> Text:
        text = Text("◂ esc  ", style="dim")
        shown = self.trail[-CRUMBS:]
        if len(self.trail) > CRUMBS:
            text.append("… › ")
        for i, cid in enumerate(shown):
            last = i == len(shown) - 1
            text.append(cid, style="bold" if last else "")
            if not last:
                text.append(" › ")
        return text

    def _summary(self) -> Text:
        row = self.index.rows[self.cid]
        text = Text()
        text.append(f"{row.id} ", style="bold")
        if row.commit:
            text.append(f"{row.short} ", style="dim")
        text.append(fmt.who(row), style="cyan")
        text.append("  ")
        text.append(fmt.outcome(row), style=fmt.STATUS_STYLE.get(row.status, ""))
        delta = self.index.delta(row.id)
        if delta is not None:
            text.append(f" ({delta:+.4f})", style="dim")
        rank = self.index.rank_of(row.id)
        if rank is not None:
            text.append(f"  rank {rank}/{self.index.scored}", style="dim")
        if row.cost or row.tokens:
            text.append(f"  {fmt.money(row.cost)} {fmt.count(row.tokens)} tok", style="dim")
        return text

    def _relatives(self) -> list[Option]:
        row = self.index.rows[self.cid]
        opts = []
        for i, pid in enumerate(row.parents):
            opts.append(Option(self._rel_label("↑" if i == 0 else "×↑", pid), id=pid))
        for kid in self.index.children(self.cid)[:500]:
            second = self.index.rows[kid].parents[0] != self.cid
            opts.append(Option(self._rel_label("×↓" if second else "↓", kid), id=kid))
        return opts

    def _rel_label(self, mark: str, cid: str) -> Text:
        other = self.index.get(cid)
        label = Text(f"{mark} {cid} ")
        if other is not None:
            label.append(fmt.outcome(other), style=fmt.STATUS_STYLE.get(other.status, ""))
        return label

    @work(thread=True, exclusive=True, group="candidate-load")
    def _load(self, cid: str) -> None:
        try:
            detail = self.reader.detail(cid)
        except CodeevoError as exc:
            self.app.call_from_thread(self.notify, f"{cid}: {exc}", severity="error")
            return
        self.app.call_from_thread(self._show, detail)

    def _show(self, detail: CandidateDetail) -> None:
        if detail.candidate.id != self.cid:
            return  # the user moved on while it loaded
        self.detail = detail
        dark = self.app.current_theme.dark
        syntax = Syntax(detail.program, "python", line_numbers=True, word_wrap=False,
                        theme="monokai" if dark else "friendly")
        self.query_one("#program-text", Static).update(syntax)
        diff_body = self.query_one("#diff-body", VerticalScroll)
        diff_body.remove_children()
        if not detail.parent_programs:
            diff_body.mount(Static(Text("a seed has no parent to diff against", style="dim")))
        for pid, old in detail.parent_programs.items():
            diff_body.mount(Label(f"against {pid}", classes="diff-title"))
            diff_body.mount(DiffView(old, detail.program, f"{pid}/{detail.candidate.entry}",
                                     f"{self.cid}/{detail.candidate.entry}"))
        self.query_one("#info-text", Static).update(_info(detail))
        self.query_one("#artifacts-text", Static).update(
            _files(detail.files, "artifacts/", "no evaluator artifacts"))
        self.query_one("#llm-text", Static).update(
            _files(detail.files, "exchange/", "no LLM exchange (offline operator or seed)"))

    # ------------------------------------------------------------------ navigation

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        if event.option.id is not None and event.option.id in self.index:
            self.show(event.option.id)

    def action_parent(self) -> None:
        row = self.index.rows[self.cid]
        if row.parents:
            self.show(row.parents[0])
        else:
            self.notify("a seed has no parent")

    def action_second_parent(self) -> None:
        row = self.index.rows[self.cid]
        if len(row.parents) > 1:
            self.show(row.parents[1])
        else:
            self.notify("no second parent")

    def action_back(self) -> None:
        if len(self.trail) > 1:
            self.trail.pop()
            self._present()
        else:
            self.app.pop_screen()

    def action_focus_relatives(self) -> None:
        self.query_one("#relatives", OptionList).focus()

    def action_tab(self, tab: str) -> None:
        self.query_one(TabbedContent).active = tab

    def action_lineage(self) -> None:
        self.codeevo.show_lineage(self.reader, self.index, self.cid)

    def action_jump(self) -> None:
        from codeevo.tui.screens.jump import JumpScreen

        def chosen(cid: str | None) -> None:
            if cid is not None:
                self.show(cid)

        self.app.push_screen(JumpScreen(self.index), chosen)


def _info(detail: CandidateDetail) -> Table:
    cand = detail.candidate
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold")
    table.add_column()
    rows: list[tuple[str, Any]] = [
        ("status", Text(cand.status.value, style=fmt.STATUS_STYLE.get(cand.status, ""))),
    ]
    if cand.ok:
        rows.append(("last stage run", cand.stage or "-"))
    else:
        rows += [("stopped at", cand.stage or "-"), ("reason", cand.reason or "-")]
    rows += [
        ("score", fmt.score(cand.score)),
        ("commit", detail.commit),
        ("operator", cand.operator),
        ("model", cand.model or "— (offline operator)"),
        ("parents", ", ".join(cand.parents) or "— (a seed)"),
        ("island / cell", f"{cand.island} / {cand.cell}"),
        ("in archive", "yes" if cand.inserted else "no"),
        ("cost", fmt.money(cand.cost)),
        ("tokens", ", ".join(f"{k} {v}" for k, v in cand.tokens.items()) or "-"),
        ("timings (s)", ", ".join(f"{k} {v:.3f}" for k, v in cand.timings.items()) or "-"),
    ]
    for key, value in sorted(cand.metrics.items()):
        rows.append((f"metric {key}", f"{value:.6g}"))
    for key, value in sorted(cand.features.items()):
        rows.append((f"feature {key}", f"{value:.6g}"))
    if cand.extra:
        rows.append(("extra", json.dumps(cand.extra, sort_keys=True)))
    for key, value in rows:
        table.add_row(key, value)
    return table


def _files(files: dict[str, str], prefix: str, empty: str) -> Text:
    picked = {k: v for k, v in sorted(files.items()) if k.startswith(prefix)}
    if not picked:
        return Text(empty, style="dim")
    out = Text()
    for name, body in picked.items():
        out.append(f"── {name} ──\n", style="bold cyan")
        out.append(body if body.endswith("\n") else body + "\n")
        out.append("\n")
    return out
