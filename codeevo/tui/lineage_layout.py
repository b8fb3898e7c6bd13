"""How the lineage tree folds a deep phylogeny so no view nests deeper than about log2(n).

Every candidate's *heir* is its primary child with the most descendants (ties: an OK one, then
the earliest). Following heirs from a candidate that is not its parent's heir gives a *line of
descent*; a line of LINE_MIN or more generations is shown as one flat, expandable list (a
"line" node) instead of one nesting level per generation, and its members' other children
(side branches) nest under them. Any root-to-candidate path crosses at most log2(n) side
branches (each holds less than half of its parent's descendants), so revealing a candidate
1,500 generations deep builds a handful of tree levels, not 1,500.

Pure data: the widget (``codeevo.tui.widgets.lineage_tree``) turns it into Textual nodes.
"""

from __future__ import annotations

from dataclasses import dataclass

from codeevo.tui.run_index import RunIndex

LINE_MIN = 4  # shortest line of descent folded into one flat list


@dataclass(frozen=True)
class Segment:
    """A stretch of a root-to-candidate path. `first` heads a line of descent and is shown as
    an entry under the previous segment's `last` (or at the top). `folded`: that line is one
    flat list and the stretch runs along it down to `last`; else `last` is `first`."""

    first: str
    last: str
    folded: bool


class LineageLayout:
    """A snapshot of the heirs of an index (O(n) to build); cheap queries afterwards.

    Candidates indexed after the snapshot count as having no heir (their children show as side
    branches), so a live run never forces a rebuild of what is already on screen.
    """

    def __init__(self, index: RunIndex) -> None:
        self.index = index
        self.heir: dict[str, str] = {}
        size: dict[str, int] = {}
        key: dict[str, tuple[int, bool]] = {}
        # Children come after their parents in recording order, so one backward pass sees a
        # candidate's whole subtree before the candidate itself.
        for cid in reversed(index.order):
            row = index.candidates[cid]
            mine = size.get(cid, 0) + 1
            size[cid] = mine
            if row.parents:
                parent = row.parents[0]
                size[parent] = size.get(parent, 0) + mine
                k = (mine, row.ok)
                if parent not in key or k >= key[parent]:  # >=: the earliest wins a tie
                    key[parent] = k
                    self.heir[parent] = cid
        self.size = size

    def is_heir(self, cid: str) -> bool:
        parent = self.index.primary_parent(cid)
        return parent is not None and self.heir.get(parent) == cid

    def head_of(self, cid: str) -> str:
        """The first generation of the line of descent cid belongs to."""
        cur = cid
        seen = {cid}
        while self.is_heir(cur):
            parent = self.index.primary_parent(cur)
            assert parent is not None
            if parent in seen:
                break
            seen.add(parent)
            cur = parent
        return cur

    def folded(self, head: str) -> bool:
        """Whether the line starting at `head` is long enough to show as one flat list."""
        cur: str | None = head
        for _ in range(LINE_MIN - 1):
            cur = self.heir.get(cur) if cur is not None else None
            if cur is None:
                return False
        return True

    def line(self, head: str) -> list[str]:
        """head, its heir, the heir's heir, ... down to a candidate without children."""
        out = [head]
        seen = {head}
        cur = self.heir.get(head)
        while cur is not None and cur not in seen:
            out.append(cur)
            seen.add(cur)
            cur = self.heir.get(cur)
        return out

    def side_kids(self, cid: str, in_line: bool) -> list[str]:
        """The children shown nested under cid: all of them, or all but its heir when cid is
        shown inside a folded line (the heir is then the next entry of that list)."""
        kids = self.index.kids(cid)
        if not in_line:
            return kids
        heir = self.heir.get(cid)
        return [k for k in kids if k != heir] if heir is not None else kids

    def segments(self, cid: str) -> list[Segment]:
        """The path from a root down to cid, cut where the tree view nests one level deeper:
        O(depth), a few dict look-ups per generation."""
        path = list(reversed(self.index.path_to_root(cid)))
        out: list[Segment] = []
        i = 0
        while i < len(path):
            # path[i] is a root, a side branch, or the heir of a candidate in a short line
            # (whose own line is shorter still): either way it heads its own line.
            first = path[i]
            folded = self.folded(first)
            j = i
            if folded:  # the path stays in this flat list while it follows heirs
                while j + 1 < len(path) and self.heir.get(path[j]) == path[j + 1]:
                    j += 1
            out.append(Segment(first, path[j], folded))
            i = j + 1
        return out
