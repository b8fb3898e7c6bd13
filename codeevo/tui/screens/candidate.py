"""One candidate: program, diff against each parent, metrics, artifacts, LLM exchange, costs.

Program text and files are read from the lineage store in a worker when the screen opens; the
parents and children listed on the right open their own candidate screens.
"""

from __future__ import annotations

import json
from typing import Any

from rich.syntax import Syntax
from rich.table import Table
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import (
    Footer,
    Header,
    Label,
    OptionList,
    Static,
    TabbedContent,
    TabPane,
)
from textual.widgets.option_list import Option

from codeevo.candidate import Candidate
from codeevo.tui import format as fmt
from codeevo.tui.run_index import CandidateRow, RunIndex
from codeevo.tui.run_source import CandidateDetail, RunSource
from codeevo.tui.widgets.diff_view import DiffView


class CandidateScreen(Screen[None]):
    BINDINGS = [
        Binding("p", "parent", "Parent"),
        Binding("2", "second_parent", "2nd parent", show=False),
        Binding("c", "focus_relatives", "Parents/children"),
        Binding("d", "tab('diff')", "Diff"),
        Binding("g", "tab('program')", "Program"),
        Binding("i", "tab('info')", "Info"),
        Binding("a", "tab('artifacts')", "Artifacts"),
        Binding("m", "tab('llm')", "LLM"),
        Binding("l", "lineage", "In lineage"),
        Binding("escape", "app.pop_screen", "Back"),
    ]

    DEFAULT_CSS = """
    CandidateScreen #summary { height: auto; padding: 0 1; }
    CandidateScreen #body { height: 1fr; }
    CandidateScreen TabbedContent { width: 1fr; }
    CandidateScreen #side { width: 34; border-left: solid $primary 40%; }
    CandidateScreen #side > Label { padding: 0 1; text-style: bold; }
    CandidateScreen #relatives { height: 1fr; }
    """

    def __init__(self, source: RunSource, index: RunIndex, cid: str) -> None:
        super().__init__()
        self.source = source
        self.index = index
        self.cid = cid
        self.detail: CandidateDetail | None = None
        self.sub_title = cid

    @property
    def candidate(self) -> Candidate | CandidateRow:
        """The full record once loaded; the index's light row until then."""
        if self.detail is not None:
            return self.detail.candidate
        return self.index.candidates[self.cid]

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(self._summary(), id="summary")
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
                yield OptionList(*self._relatives(), id="relatives")
        yield Footer()

    def _summary(self) -> Text:
        cand = self.index.candidates[self.cid]
        text = Text()
        text.append(f"{cand.id} ", style="bold")
        text.append(cand.operator, style="cyan")
        text.append(f" on island {cand.island} by {cand.model or '-'}  ")
        text.append(fmt.outcome(cand), style=fmt.STATUS_STYLE.get(cand.status, ""))
        rank = self.index.rank_of(cand.id)
        if rank is not None:
            text.append(f"  rank {rank}/{self.index.scored}", style="dim")
        if cand.cost or cand.tokens:
            text.append(f"  {fmt.money(cand.cost)} {fmt.count(cand.tokens)} tok", style="dim")
        if cand.parents:
            text.append(f"  parents {', '.join(cand.parents)}", style="dim")
        return text

    def _relatives(self) -> list[Option]:
        cand = self.index.candidates[self.cid]
        opts = []
        for i, pid in enumerate(cand.parents):
            opts.append(Option(self._rel_label("↑" if i == 0 else "×", pid), id=pid))
        for kid in self.index.all_children(self.cid)[:200]:
            opts.append(Option(self._rel_label("↓", kid), id=kid))
        return opts

    def _rel_label(self, mark: str, cid: str) -> Text:
        other = self.index.get(cid)
        label = Text(f"{mark} {cid} ")
        if other is not None:
            label.append(fmt.outcome(other), style=fmt.STATUS_STYLE.get(other.status, ""))
        return label

    def on_mount(self) -> None:
        self._load()

    @work(thread=True, exclusive=True, group="candidate-load")
    def _load(self) -> None:
        detail = self.source.detail(self.cid)
        self.app.call_from_thread(self._show, detail)

    def _show(self, detail: CandidateDetail) -> None:
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
        self.query_one("#info-text", Static).update(_info(detail.candidate))
        self.query_one("#artifacts-text", Static).update(
            _files(detail.files, "artifacts/", "no evaluator artifacts"))
        self.query_one("#llm-text", Static).update(
            _files(detail.files, "exchange/", "no LLM exchange (offline operator or seed)"))

    # ------------------------------------------------------------------ navigation

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        if event.option.id is not None:
            self.open(event.option.id)

    def open(self, cid: str) -> None:
        if cid in self.index:
            self.app.push_screen(CandidateScreen(self.source, self.index, cid))

    def action_parent(self) -> None:
        cand = self.index.candidates[self.cid]
        if cand.parents:
            self.open(cand.parents[0])
        else:
            self.notify("a seed has no parent")

    def action_second_parent(self) -> None:
        cand = self.index.candidates[self.cid]
        if len(cand.parents) > 1:
            self.open(cand.parents[1])
        else:
            self.notify("no second parent")

    def action_focus_relatives(self) -> None:
        self.query_one("#relatives", OptionList).focus()

    def action_tab(self, tab: str) -> None:
        self.query_one(TabbedContent).active = tab

    def action_lineage(self) -> None:
        from codeevo.tui.screens.lineage import LineageScreen

        self.app.push_screen(LineageScreen(self.source, self.index, focus=self.cid))


def _info(cand: Candidate) -> Table:
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold")
    table.add_column()
    rows: list[tuple[str, Any]] = [
        ("status", Text(cand.status.value, style=fmt.STATUS_STYLE.get(cand.status, ""))),
        ("rejected/stopped at", cand.stage or "-"),
        ("reason", cand.reason or "-"),
        ("score", fmt.score(cand.score)),
        ("operator", cand.operator),
        ("model", cand.model or "-"),
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
