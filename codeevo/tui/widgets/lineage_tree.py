"""The phylogeny as a lazily expanded tree: seeds at the top, primary parent as tree parent.

Nodes are created only when their parent is expanded, so a 10,000-candidate run opens at once.
Runs of three or more childless failures collapse into one expandable group node, and nodes with
many children show them a page at a time.
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
from codeevo.tui.run_index import RunIndex

PAGE = 100  # children shown per page under one node
FAIL_RUN = 3  # shortest run of childless failures that is collapsed into one node


@dataclass
class NodeRef:
    """What a tree node stands for: a candidate, a group of failures, or a further page."""

    kind: str  # "cand" | "group" | "more" | "root"
    ids: list[str] = field(default_factory=list)
    loaded: bool = False

    @property
    def cid(self) -> str:
        return self.ids[0] if self.ids else ""


@dataclass(frozen=True)
class LineageFilter:
    """Which candidates count as matching; None means any."""

    island: int | None = None
    operator: str | None = None
    status: str | None = None

    def matches(self, cand: Candidate) -> bool:
        return (
            (self.island is None or cand.island == self.island)
            and (self.operator is None or cand.operator == self.operator)
            and (self.status is None or cand.status.value == self.status)
        )

    @property
    def active(self) -> bool:
        return any(v is not None for v in (self.island, self.operator, self.status))


class LineageTree(Tree[NodeRef]):
    """Enter opens a candidate (NodeSelected); space expands; `u` goes to the tree parent."""

    BINDINGS = [
        Binding("u", "cursor_parent", "Up to parent"),
    ]

    def __init__(self, index: RunIndex, *, id: str | None = None) -> None:
        super().__init__("lineage", NodeRef("root"), id=id)
        self.index = index
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
        """Start over from the seeds (after a filter change)."""
        self.clear()
        self.nodes_by_id.clear()
        assert self.root.data is not None
        self.root.data.loaded = False
        self.populate(self.root)
        self.root.expand()

    def populate(self, node: TreeNode[NodeRef]) -> None:
        """Create node's children if not done yet (called on expand and when revealing)."""
        ref = node.data
        if ref is None or ref.loaded:
            return
        ref.loaded = True
        if ref.kind == "root":
            self._add_entries(node, self._visible(self.index.roots))
        elif ref.kind == "cand":
            self._add_entries(node, self._visible(self.index.kids(ref.cid)))
        elif ref.kind == "group":
            for cid in ref.ids:
                self._add_candidate(node, cid)
        elif ref.kind == "more":
            # A page node turns into the rest of its parent's children.
            parent = node.parent
            assert parent is not None
            node.remove()
            self._add_entries(parent, ref.ids)

    def _visible(self, ids: list[str]) -> list[str]:
        if not self.filter.active:
            return ids
        out = []
        for cid in ids:
            cand = self.index.candidates[cid]
            if self.filter.matches(cand) or self.index.kids(cid) or cid in self._forced:
                out.append(cid)
        return out

    def _add_entries(self, parent: TreeNode[NodeRef], ids: list[str]) -> None:
        entries = self._grouped(ids[:PAGE])
        for entry in entries:
            if isinstance(entry, str):
                self._add_candidate(parent, entry)
            else:
                parent.add(_group_label(self.index, entry), NodeRef("group", entry))
        if len(ids) > PAGE:
            rest = ids[PAGE:]
            parent.add(Text(f"… {len(rest)} more", style="italic"), NodeRef("more", rest))

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

    def _add_candidate(self, parent: TreeNode[NodeRef], cid: str) -> TreeNode[NodeRef]:
        has_kids = bool(self.index.kids(cid))
        node = parent.add(self.label_for(cid), NodeRef("cand", [cid]), allow_expand=has_kids)
        self.nodes_by_id[cid] = node
        return node

    def label_for(self, cid: str) -> Text:
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
        n = len(self.index.kids(cid))
        if n:
            text.append(f" ({n})", style="dim")
        if best is not None and best.id == cid:
            text.append(" ★ best", style="bold green")
        if self.filter.active and not self.filter.matches(cand):
            text.stylize("dim")
        return text

    # ------------------------------------------------------------------ navigation

    def reveal(self, cid: str) -> TreeNode[NodeRef] | None:
        """Expand the path from a seed down to cid and move the cursor onto it."""
        path = list(reversed(self.index.path_to_root(cid)))
        if not path:
            return None
        self._forced = set(path)
        parent: TreeNode[NodeRef] = self.root
        node: TreeNode[NodeRef] | None = None
        for step in path:
            self.populate(parent)
            parent.expand()
            node = self._find_child(parent, step)
            if node is None:
                self._forced = set()
                return None
            parent = node
        self._forced = set()
        if node is not None:
            # Line numbers are assigned when Tree rebuilds its line cache (normally at the next
            # render); build it now so the cursor lands on the node in this same call.
            _ = self._tree_lines
            self.move_cursor(node)
            self.call_after_refresh(self.scroll_to_node, node)
        return node

    def _find_child(self, parent: TreeNode[NodeRef], cid: str) -> TreeNode[NodeRef] | None:
        for _ in range(len(self.index) + 1):
            for child in parent.children:
                ref = child.data
                if ref is None:
                    continue
                if ref.kind == "cand" and ref.cid == cid:
                    return child
            holder = next(
                (c for c in parent.children
                 if c.data is not None and c.data.kind in ("group", "more") and cid in c.data.ids),
                None,
            )
            if holder is None:
                return None
            if holder.data is not None and holder.data.kind == "group":
                self.populate(holder)
                holder.expand()
                parent = holder
            else:
                self.populate(holder)
        return None

    def set_highlight(self, ids: set[str]) -> None:
        changed = self.highlight ^ ids
        self.highlight = ids
        for cid in changed:
            node = self.nodes_by_id.get(cid)
            if node is not None:
                node.set_label(self.label_for(cid))

    def set_filter(self, flt: LineageFilter) -> None:
        self.filter = flt
        self.rebuild()

    def selected_id(self) -> str | None:
        node = self.cursor_node
        if node is None or node.data is None or node.data.kind != "cand":
            return None
        return node.data.cid

    def on_tree_node_expanded(self, event: Tree.NodeExpanded[NodeRef]) -> None:
        self.populate(event.node)


def _group_label(index: RunIndex, ids: list[str]) -> Text:
    counts = Counter(index.candidates[c].status.value for c in ids)
    parts = ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
    first, last = ids[0], ids[-1]
    return Text(f"✗ {len(ids)} failures {first}…{last} ({parts})", style="red")
