"""The lineage: a lazily expanded phylogeny tree with filters, jump to best, ancestry highlight."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import Footer, Header, Select, Static, Tree

from codeevo.candidate import Status
from codeevo.tui.run_index import RunIndex
from codeevo.tui.run_source import RunSource
from codeevo.tui.widgets.lineage_tree import LineageFilter, LineageTree, NodeRef


class LineageScreen(Screen[None]):
    BINDINGS = [
        Binding("b", "best", "Jump to best"),
        Binding("a", "ancestry", "Ancestry"),
        Binding("2", "second_parent", "2nd parent"),
        Binding("f", "filters", "Filters"),
        Binding("escape", "app.pop_screen", "Back"),
    ]

    DEFAULT_CSS = """
    LineageScreen #filters { height: auto; padding: 0 1; }
    LineageScreen #filters > Select { width: 1fr; margin-right: 1; }
    LineageScreen #status { height: 1; padding: 0 1; color: $text-muted; }
    LineageScreen LineageTree { height: 1fr; }
    """

    def __init__(self, source: RunSource, index: RunIndex, focus: str | None = None) -> None:
        super().__init__()
        self.source = source
        self.index = index
        self.focus_id = focus
        self.sub_title = f"lineage of {source.path.name}"

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="filters"):
            yield Select([(f"island {i}", i) for i in self.index.islands()],
                         prompt="any island", id="f-island")
            yield Select([(op, op) for op in self.index.operators()],
                         prompt="any operator", id="f-operator")
            yield Select([(s.value, s.value) for s in Status], prompt="any status",
                         id="f-status")
        yield Static("", id="status")
        yield LineageTree(self.index, id="tree")
        yield Footer()

    def on_mount(self) -> None:
        tree = self.query_one(LineageTree)
        tree.focus()
        target = self.focus_id
        if target is None and self.index.roots:
            target = self.index.roots[0]
        if target is not None:
            self.call_after_refresh(self._reveal, target)
        self._status(f"{len(self.index)} candidates, {len(self.index.roots)} seed(s)")

    def _status(self, message: str) -> None:
        self.query_one("#status", Static).update(Text(message))

    def _reveal(self, cid: str) -> None:
        tree = self.query_one(LineageTree)
        if tree.reveal(cid) is None:
            self._status(f"{cid} is not in the tree")

    def on_select_changed(self, event: Select.Changed) -> None:
        def value(sel_id: str) -> Any:
            v = self.query_one(f"#{sel_id}", Select).value
            return None if v is Select.BLANK else v

        flt = LineageFilter(value("f-island"), value("f-operator"), value("f-status"))
        tree = self.query_one(LineageTree)
        if flt != tree.filter:
            tree.set_filter(flt)

    def on_tree_node_selected(self, event: Tree.NodeSelected[NodeRef]) -> None:
        ref = event.node.data
        if ref is None:
            return
        if ref.kind == "cand":
            from codeevo.tui.screens.candidate import CandidateScreen

            self.app.push_screen(CandidateScreen(self.source, self.index, ref.cid))
        else:
            self.query_one(LineageTree).open_node(event.node)

    def on_tree_node_highlighted(self, event: Tree.NodeHighlighted[NodeRef]) -> None:
        ref = event.node.data
        if ref is not None and ref.kind == "cand":
            depth = len(self.index.path_to_root(ref.cid)) - 1
            self._status(f"{ref.cid}: generation {depth}, "
                         f"{len(self.index.kids(ref.cid))} children")

    def action_best(self) -> None:
        best = self.index.best()
        if best is None:
            self.notify("no scored candidate yet", severity="warning")
            return
        self._reveal(best.id)
        self.query_one(LineageTree).set_highlight(self.index.ancestry(best.id))

    def action_ancestry(self) -> None:
        tree = self.query_one(LineageTree)
        cid = tree.selected_id()
        if cid is None:
            return
        ancestors = self.index.ancestry(cid)
        tree.set_highlight(set() if tree.highlight == ancestors else ancestors)
        self._status(f"ancestry of {cid}: {len(ancestors) - 1} ancestors highlighted ◆")

    def action_second_parent(self) -> None:
        tree = self.query_one(LineageTree)
        cid = tree.selected_id()
        cand = self.index.get(cid) if cid else None
        if cand is None or len(cand.parents) < 2:
            self.notify("no second parent")
            return
        self._reveal(cand.parents[1])

    def action_filters(self) -> None:
        self.query_one("#f-island", Select).focus()
