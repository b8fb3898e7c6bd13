"""The phylogeny as a lazily expanded tree: seeds at the top, primary parent as tree parent.

Nodes are created only when their parent is expanded, so a 10,000-candidate run opens at once.
Long lines of descent are folded into one flat list (see ``codeevo.tui.lineage_layout``), so a
candidate 1,500 generations deep sits a few levels down, not 1,500. Runs of three or more
childless failures collapse into one expandable group node, and long lists show a page at a
time; revealing a candidate opens only the page around it.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from rich.text import Text
from textual.binding import Binding
from textual.widgets import Tree
from textual.widgets.tree import TreeNode

from codeevo.candidate import Candidate, Status
from codeevo.tui import format as fmt
from codeevo.tui.lineage_layout import LineageLayout
from codeevo.tui.run_index import CandidateRow, RunIndex

PAGE = 100  # entries shown per page of one list
FAIL_RUN = 3  # shortest run of childless failures that is collapsed into one node
BEFORE = 10  # entries kept above a revealed one when a page is opened around it


@dataclass
class NodeRef:
    """What a tree node stands for.

    kind: "root"; "cand" (one candidate; `in_line`: shown inside a folded line, so its heir is
    the next entry rather than a child); "line" (a folded line of descent, `ids` its
    generations); "group" (childless failures); "more" (a further page of `ids`: line members
    when `members`, else entries; `tail`: the page sits above shown entries, so it opens from
    its end).
    """

    kind: str
    ids: list[str] = field(default_factory=list)
    loaded: bool = False
    in_line: bool = False
    members: bool = False
    tail: bool = False

    @property
    def cid(self) -> str:
        return self.ids[0] if self.ids else ""


@dataclass(frozen=True)
class LineageFilter:
    """Which candidates count as matching; None means any."""

    island: int | None = None
    operator: str | None = None
    status: str | None = None

    def matches(self, cand: CandidateRow | Candidate) -> bool:
        return (
            (self.island is None or cand.island == self.island)
            and (self.operator is None or cand.operator == self.operator)
            and (self.status is None or cand.status.value == self.status)
        )

    @property
    def active(self) -> bool:
        return any(v is not None for v in (self.island, self.operator, self.status))


class LineageTree(Tree[NodeRef]):
    """Enter opens a candidate (NodeSelected); space expands; `u` goes to the primary parent."""

    BINDINGS = [
        Binding("u", "cursor_parent", "Up to parent"),
    ]

    def __init__(self, index: RunIndex, *, id: str | None = None) -> None:
        super().__init__("lineage", NodeRef("root"), id=id)
        self.index = index
        self.fold = LineageLayout(index)
        self.filter = LineageFilter()
        self.highlight: set[str] = set()
        self.nodes_by_id: dict[str, TreeNode[NodeRef]] = {}
        self.auto_expand = False
        self.show_root = False
        self._forced: set[str] = set()

    def on_mount(self) -> None:
        self.rebuild()

    # ------------------------------------------------------------------ building

    def rebuild(self) -> None:
        """Start over from the seeds (after a filter change), with a fresh fold of the index."""
        self.clear()
        self.nodes_by_id.clear()
        self.fold = LineageLayout(self.index)
        assert self.root.data is not None
        self.root.data.loaded = False
        self.populate(self.root)
        self.root.expand()

    def populate(self, node: TreeNode[NodeRef], around: str | None = None) -> None:
        """Create node's children if not done yet (on expand, and when revealing `around`)."""
        ref = node.data
        if ref is None or ref.loaded:
            return
        ref.loaded = True
        if ref.kind == "root":
            self._add_page(node, self._visible(self.index.roots), False, around)
        elif ref.kind == "cand":
            kids = self.fold.side_kids(ref.cid, ref.in_line)
            self._add_page(node, self._visible(kids), False, around)
        elif ref.kind == "line":
            self._add_page(node, ref.ids, True, around)
        elif ref.kind == "group":
            for cid in ref.ids:
                self._add_candidate(node, cid, False)
        elif ref.kind == "more":
            self._open_more(node, around)

    def _open_more(self, node: TreeNode[NodeRef], around: str | None) -> None:
        """Replace a page node by its entries: the page around `around`, else the page next to
        what is already shown; what is left stays behind further page nodes."""
        ref = node.data
        parent = node.parent
        assert ref is not None and parent is not None
        at = parent.children.index(node)
        node.remove()
        if around is None and ref.tail:
            around = ref.ids[max(0, len(ref.ids) - PAGE + BEFORE)]
        self._add_page(parent, ref.ids, ref.members, around, at)

    def _add_page(
        self, parent: TreeNode[NodeRef], ids: list[str], members: bool,
        around: str | None = None, at: int | None = None,
    ) -> None:
        """Add one page of `ids` (line members, or entries) at index `at` of parent's children:
        the first page, or the page holding `around`; page nodes stand for the rest."""
        lo = 0
        if around is not None and len(ids) > PAGE:
            try:
                lo = max(0, ids.index(around) - BEFORE)
            except ValueError:
                lo = 0
        hi = min(len(ids), lo + PAGE)
        pos = len(parent.children) if at is None else at

        def put(label: Text, ref: NodeRef, expandable: bool = True) -> TreeNode[NodeRef]:
            nonlocal pos
            node = parent.add(label, ref, before=pos, allow_expand=expandable)
            pos += 1
            return node

        if lo > 0:
            put(_page_label(lo, "earlier"), NodeRef("more", ids[:lo], members=members, tail=True))
        if members:
            for cid in ids[lo:hi]:
                self._add_candidate(parent, cid, True, pos)
                pos += 1
        else:
            for entry in self._grouped(ids[lo:hi]):
                if isinstance(entry, list):
                    put(_group_label(self.index, entry), NodeRef("group", entry))
                elif self.fold.folded(entry):
                    line = self.fold.line(entry)
                    put(self._line_label(line), NodeRef("line", line))
                else:
                    self._add_candidate(parent, entry, False, pos)
                    pos += 1
        if hi < len(ids):
            put(_page_label(len(ids) - hi, "more"), NodeRef("more", ids[hi:], members=members))

    def _visible(self, ids: list[str]) -> list[str]:
        if not self.filter.active:
            return ids
        out = []
        for cid in ids:
            cand = self.index.candidates[cid]
            if self.filter.matches(cand) or self.index.kids(cid) or cid in self._forced:
                out.append(cid)
        return out

    def _grouped(self, ids: list[str]) -> list[str | list[str]]:
        """Collapse runs of childless failures (never one we were asked to reveal)."""
        out: list[str | list[str]] = []
        run: list[str] = []

        def flush() -> None:
            if len(run) >= FAIL_RUN:
                out.append(list(run))
            else:
                out.extend(run)
            run.clear()

        for cid in ids:
            cand = self.index.candidates[cid]
            if cand.status != Status.OK and not self.index.kids(cid) and cid not in self._forced:
                run.append(cid)
            else:
                flush()
                out.append(cid)
        flush()
        return out

    def _add_candidate(
        self, parent: TreeNode[NodeRef], cid: str, in_line: bool, at: int | None = None
    ) -> TreeNode[NodeRef]:
        expandable = bool(self.fold.side_kids(cid, in_line))
        node = parent.add(self.label_for(cid, in_line), NodeRef("cand", [cid], in_line=in_line),
                          before=at, allow_expand=expandable)
        self.nodes_by_id[cid] = node
        return node

    def label_for(self, cid: str, in_line: bool = False) -> Text:
        cand = self.index.candidates[cid]
        best = self.index.best()
        text = Text()
        if cid in self.highlight:
            text.append("◆ ", style="bold magenta")
        text.append(cid, style="bold" if cid in self.highlight else "")
        text.append(f" {cand.operator}", style="cyan")
        text.append(f" i{cand.island} ")
        style = fmt.STATUS_STYLE.get(cand.status, "")
        text.append(fmt.outcome(cand), style=style)
        for other in cand.parents[1:]:
            text.append(f" ×{other}", style="magenta")
        n = len(self.fold.side_kids(cid, in_line))
        if n:
            text.append(f" (+{n} side)" if in_line else f" ({n})", style="dim")
        if best is not None and best.id == cid:
            text.append(" ★ best", style="bold green")
        if self.filter.active and not self.filter.matches(cand):
            text.stylize("dim")
        return text

    def _line_label(self, ids: list[str]) -> Text:
        scores = [s for s in (self.index.candidates[c].score for c in ids) if s is not None]
        text = Text(f"┊ {len(ids)} generations {ids[0]} → {ids[-1]}", style="bold")
        if scores:
            text.append(f"  top {fmt.score(max(scores))}", style="green")
        best = self.index.best()
        if best is not None and best.id in ids:
            text.append(" ★ best", style="bold green")
        return text

    # ------------------------------------------------------------------ navigation

    def reveal(self, cid: str) -> TreeNode[NodeRef] | None:
        """Open the tree down to cid and move the cursor onto it.

        Follows the folded layout: per segment of the path, one entry is found (and the page
        holding it opened), so the work is O(depth) look-ups plus O(levels × PAGE) nodes.
        """
        segments = self.fold.segments(cid)
        if not segments:
            return None
        self._forced = set(self.index.path_to_root(cid))
        try:
            container: TreeNode[NodeRef] = self.root
            node: TreeNode[NodeRef] | None = None
            for seg in segments:
                if node is not None:
                    container = node
                entry = self._entry_in(container, seg.first)
                if entry is None:
                    return None
                if seg.folded:
                    node = self._entry_in(entry, seg.last)
                    if node is None:
                        return None
                else:
                    node = entry
        finally:
            self._forced = set()
        # Line numbers are assigned when Tree rebuilds its line cache (normally at the next
        # render); build it now so the cursor lands on the node in this same call.
        _ = self._tree_lines
        self.move_cursor(node)
        self.call_after_refresh(self.scroll_to_node, node)
        return node

    def _entry_in(self, container: TreeNode[NodeRef], cid: str) -> TreeNode[NodeRef] | None:
        """The node standing for cid among container's children (a candidate, or the line it
        heads), opening container, and the group or page holding cid, as needed."""
        self.populate(container, around=cid)
        if not container.is_expanded:
            container.expand()
        for _ in range(3):  # a page node, then a group inside the page opened from it
            found = self.nodes_by_id.get(cid)
            for child in container.children:
                ref = child.data
                if ref is None:
                    continue
                if child is found or (ref.kind == "line" and ref.cid == cid):
                    return child
                if ref.kind in ("group", "more") and cid in ref.ids:
                    if ref.kind == "group":
                        self.populate(child)
                        child.expand()
                        return self.nodes_by_id.get(cid)
                    self._open_more(child, cid)
                    break
            else:
                return None
        return None

    def action_cursor_parent(self) -> None:
        """`u`: to the primary parent's node (revealing it when it sits on a closed page), or
        to the tree parent for a group, line or page node."""
        node = self.cursor_node
        ref = node.data if node is not None else None
        parent = self.index.primary_parent(ref.cid) if ref and ref.kind == "cand" else None
        if parent is not None and parent in self.index:
            self.reveal(parent)
            return
        super().action_cursor_parent()

    def set_highlight(self, ids: set[str]) -> None:
        changed = self.highlight ^ ids
        self.highlight = ids
        for cid in changed:
            node = self.nodes_by_id.get(cid)
            if node is not None and node.data is not None:
                node.set_label(self.label_for(cid, node.data.in_line))

    def set_filter(self, flt: LineageFilter) -> None:
        self.filter = flt
        self.rebuild()

    def selected_id(self) -> str | None:
        node = self.cursor_node
        if node is None or node.data is None or node.data.kind != "cand":
            return None
        return node.data.cid

    def open_node(self, node: TreeNode[NodeRef]) -> None:
        """Enter on a line, group or page node: show what it stands for."""
        self.populate(node)
        if node.data is not None and node.data.kind != "more":
            node.expand()

    def on_tree_node_expanded(self, event: Tree.NodeExpanded[NodeRef]) -> None:
        self.populate(event.node)


def _page_label(n: int, what: str) -> Text:
    return Text(f"… {n} {what}", style="italic")


def _group_label(index: RunIndex, ids: list[str]) -> Text:
    counts = Counter(index.candidates[c].status.value for c in ids)
    parts = ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
    first, last = ids[0], ids[-1]
    return Text(f"✗ {len(ids)} failures {first}…{last} ({parts})", style="red")
