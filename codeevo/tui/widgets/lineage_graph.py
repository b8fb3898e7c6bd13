"""The lineage as a commit graph: one row per candidate, lanes and edges drawn in box characters.

The layout is ``codeevo.lineage.layout.build_layout`` (heavy child in its parent's lane, side
children branching right, second parents in a band of dotted merge lanes); this widget only
draws the rows in view (a line API ScrollView), so a 10,000-candidate run scrolls as fast as a
small one. Each row: graph, short commit hash (as `git log --oneline` prints it), id, operator,
island, outcome, delta to the primary parent, crossover parents, markers.
"""

from __future__ import annotations

from rich.segment import Segment
from rich.style import Style
from textual.binding import Binding
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from codeevo.candidate import Status
from codeevo.lineage.index import LineageIndex
from codeevo.lineage.layout import GraphLayout, GraphRow, LayoutFilter, build_layout
from codeevo.tui import format as fmt

_NODE = {Status.OK: "●", Status.REJECTED: "◌", Status.FAILED: "✕", Status.CRASHED: "✕",
         Status.TIMEOUT: "◔", Status.OOM: "◔"}
_LINE = Style(color="#7f7f8c")
_MERGE = Style(color="#b07cd8")
_DIM = Style(dim=True)
_ANCESTOR = Style(color="#d75fd7", bold=True)
_DESCENDANT = Style(color="#5fd7ff", bold=True)
_BEST = Style(color="#ffd75f", bold=True)
_STATUS = {s: Style.parse(c) for s, c in fmt.STATUS_STYLE.items()}
TEXT_MIN = 70  # columns kept for the text of a row when sizing the merge band


class LineageGraph(ScrollView, can_focus=True):
    """Arrows move, enter opens (or unfolds a fold), space folds a subtree, `c` folds chains,
    `u` primary parent, `2` second parent, `a` ancestry, `d` descendants."""

    BINDINGS = [
        Binding("up,k", "move(-1)", "Up", show=False),
        Binding("down,j", "move(1)", "Down", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
        Binding("home", "edge(0)", "First", show=False),
        Binding("end", "edge(1)", "Last", show=False),
        Binding("enter", "open", "Open"),
        Binding("space", "fold", "Fold/unfold"),
        Binding("c", "chains", "Fold chains"),
        Binding("u", "parent", "Parent"),
        Binding("2", "second_parent", "2nd parent"),
        Binding("a", "ancestry", "Ancestry"),
        Binding("d", "descendants", "Descendants"),
    ]

    COMPONENT_CLASSES = {"lineage-graph--cursor"}
    DEFAULT_CSS = """
    LineageGraph { height: 1fr; }
    LineageGraph > .lineage-graph--cursor { background: $accent 35%; text-style: bold; }
    """

    class Opened(Message):
        def __init__(self, cid: str) -> None:
            super().__init__()
            self.cid = cid

    class Moved(Message):
        """The cursor is on another row (`cid` None for a fold row)."""

        def __init__(self, cid: str | None, row: GraphRow) -> None:
            super().__init__()
            self.cid = cid
            self.row = row

    class Said(Message):
        """Something worth a line in the status bar."""

        def __init__(self, text: str) -> None:
            super().__init__()
            self.text = text

    def __init__(self, index: LineageIndex, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.index = index
        self.filter = LayoutFilter()
        self.collapsed: set[str] = set()
        self.pinned: set[str] = set()
        self.fold_chains = False
        self.ancestry: set[str] = set()
        self.descendant: set[str] = set()
        self.cursor = 0
        self.graph_layout = GraphLayout([], [], 0)  # laid out on mount, at the real width
        self._band = 0
        self._built_at = -1
        self._built_width = 0

    # ------------------------------------------------------------------ layout

    def on_mount(self) -> None:
        if self.size.width:  # already sized; else the first Resize lays it out
            self.relayout()

    def on_resize(self) -> None:
        # The first layout waits for the real width (a layout at mount's width 0 would have
        # no merge band, and at 10,000 candidates costs as much as the real one).
        if self._built_width == 0 or self._band_for(self.graph_layout.lanes) != self._band:
            self.relayout()

    @property
    def laid_out(self) -> bool:
        """Laid out at the widget's real width (what a test or a benchmark waits for)."""
        return self._built_width > 0

    def _band_for(self, lanes: int) -> int:
        """Merge lanes that fit beside a tree of `lanes` lanes, keeping TEXT_MIN columns."""
        free = self.size.width - 2 * lanes - TEXT_MIN
        return max(0, min(6, free // 2))

    def relayout(self, keep: str | None = None) -> None:
        """Lay the index out again (filters, folds, new candidates), keeping the cursor on
        `keep` (default: the candidate under it)."""
        keep = keep if keep is not None else self.selected_id()
        self.graph_layout = build_layout(self.index, self.filter, self.collapsed, self.fold_chains,
                                         self.pinned | ({keep} if keep else set()),
                                         self._band_for)
        self._band = self._band_for(self.graph_layout.lanes)  # the room it was given
        self._built_at = self.index.version
        self._built_width = self.size.width
        width = 2 * (self.graph_layout.lanes + self.graph_layout.band) + 120
        self.virtual_size = Size(width, len(self.graph_layout))
        row = self.graph_layout.row_of.get(keep) if keep else None
        last = max(0, len(self.graph_layout) - 1)
        self.cursor = min(row if row is not None else self.cursor, last)
        self._moved()
        self.refresh()

    @property
    def stale(self) -> bool:
        """The index has changed since the last layout (a live run)."""
        return self.index.version != self._built_at

    # ------------------------------------------------------------------ drawing

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        i = scroll_y + y
        width = self.size.width
        if i >= len(self.graph_layout):
            return Strip.blank(width)
        segments = self._segments(i)
        strip = Strip(segments).crop(scroll_x, scroll_x + width)
        if i == self.cursor and self.has_focus:
            strip = strip.apply_style(self.get_component_rich_style("lineage-graph--cursor"))
        elif i == self.cursor:
            strip = strip.apply_style(Style(underline=True))
        return strip.extend_cell_length(width)

    def _segments(self, i: int) -> list[Segment]:
        lay = self.graph_layout
        row = lay.rows[i]
        cells: list[tuple[str, Style | None]] = []
        for lane in range(lay.lanes):
            if lane == row.lane:
                cells.append(self._node(row))
            elif row.branch and lane == row.lane - 1:
                cells.append(("├" if row.through >> lane & 1 else "╰", _LINE))
            elif row.through >> lane & 1:
                cells.append(("│", _LINE))
            else:
                cells.append((" ", None))
            joint = row.branch and lane == row.lane - 1
            cells.append(("─" if joint else " ", _LINE if joint else None))
        band = lay.band_at(i) if lay.band else []
        ends = [e for e in band if e is not None and i in (e.top, e.bottom)]
        reach = max((e.lane for e in ends if e.lane is not None), default=-1)
        for lane, edge in enumerate(band):
            if edge is None:
                glyph = "┄" if lane < reach else " "
            elif i == edge.top:
                glyph = "╮"
            elif i == edge.bottom:
                glyph = "╯"
            else:
                glyph = "┼" if lane < reach else "┊"
            cells.append((glyph, _MERGE))
            cells.append(("┄" if lane < reach else " ", _MERGE))
        if ends:  # dotted run from the node to its merge lane, over the free lanes between
            for col in range(2 * row.lane + 1, 2 * lay.lanes):
                if cells[col][0] == " ":
                    cells[col] = ("┄", _MERGE)
        segments = [Segment(text, style) for text, style in cells]
        segments.append(Segment(" "))
        segments.extend(self._text(row))
        return segments

    def _node(self, row: GraphRow) -> tuple[str, Style]:
        if row.kind == "fold":
            return ("┊", _LINE)
        cand = self.index.rows[row.id]
        best = self.index.best()
        if best is not None and best.id == row.id:
            return ("★", _BEST)
        style = _STATUS.get(cand.status, _DIM)
        if row.id in self.ancestry:
            style = _ANCESTOR
        elif row.id in self.descendant:
            style = _DESCENDANT
        return (_NODE.get(cand.status, "●"), style)

    def _text(self, row: GraphRow) -> list[Segment]:
        if row.kind == "fold":
            first, last = row.ids[0], row.ids[-1]
            scored = [s for s in (self.index.rows[c].score for c in row.ids) if s is not None]
            top = f"  top {max(scored):.4f}" if scored else ""
            what = "generations" if self._is_chain(row) else "descendants"
            return [Segment(f"┄ {len(row.ids)} {what} {first} … {last}{top}", _DIM),
                    Segment("  enter: unfold", _DIM)]
        cand = self.index.rows[row.id]
        dim = self.filter.active and not self.filter.matches(cand)
        out = [Segment(f"{cand.short or '·' * 7} ", _DIM),
               Segment(row.id, _ANCESTOR if row.id in self.ancestry else
                       _DESCENDANT if row.id in self.descendant else Style(bold=True)),
               Segment(f" {cand.operator:<9.9}", Style(color="cyan")),
               Segment(f" i{cand.island:<2} "),
               Segment(f"{fmt.outcome(cand):>16.16}", _STATUS.get(cand.status)),
               Segment(f" {fmt.delta(self.index.delta(row.id)):>8}", _DIM)]
        stubs = set(self.graph_layout.stubs(row.id))
        for other in cand.parents[1:]:
            out.append(Segment(f" {'⤳' if other in stubs else '×'}{other}", _MERGE))
        if row.skipped:
            out.append(Segment(f" (via {row.skipped} hidden)", _DIM))
        best = self.index.best()
        if best is not None and best.id == row.id:
            out.append(Segment(" ★ best", _BEST))
        if dim:
            out = [Segment(s.text, (s.style or Style()) + _DIM) for s in out]
        return out

    def _is_chain(self, row: GraphRow) -> bool:
        """A fold of single-child generations (else: a collapsed subtree)."""
        owner = self.graph_layout.rows[row.parent_row].id if row.parent_row is not None else None
        return owner not in self.collapsed

    # ------------------------------------------------------------------ cursor

    def selected_row(self) -> GraphRow | None:
        return self.graph_layout.rows[self.cursor] if self.graph_layout.rows else None

    def selected_id(self) -> str | None:
        row = self.selected_row()
        return row.id if row is not None and row.kind == "cand" else None

    def go(self, row: int) -> None:
        if not self.graph_layout.rows:
            return
        self.cursor = min(max(0, row), len(self.graph_layout) - 1)
        self.scroll_to_region_row(self.cursor)
        self._moved()
        self.refresh()

    def scroll_to_region_row(self, row: int) -> None:
        # force=True: until Textual has shown the scrollbars of a new layout (the first
        # refresh), a ScrollView refuses to scroll; `end` pressed at once must still follow.
        top = self.scroll_offset.y
        height = max(1, self.size.height)
        if row < top:
            self.scroll_to(y=row, animate=False, force=True)
        elif row >= top + height:
            self.scroll_to(y=row - height + 1, animate=False, force=True)

    def _moved(self) -> None:
        row = self.selected_row()
        if row is not None:
            self.post_message(self.Moved(self.selected_id(), row))

    def reveal(self, cid: str) -> bool:
        """Unfold whatever hides `cid` and put the cursor on it (False: the filter hides it
        or it is unknown)."""
        if cid not in self.index:
            return False
        if self.filter.active and not self.filter.matches(self.index.rows[cid]):
            return False
        at = self.graph_layout.row_of.get(cid)
        if at is None or self.graph_layout.rows[at].kind == "fold":
            self.collapsed -= set(self.index.primary_line(cid))
            self.pinned.add(cid)
            self.relayout(keep=cid)
            at = self.graph_layout.row_of.get(cid)
            if at is None:
                return False
        self.go(at)
        self.call_after_refresh(self._centre)
        return True

    def _centre(self) -> None:
        height = max(1, self.size.height)
        self.scroll_to(y=max(0, self.cursor - height // 2), animate=False, force=True)

    # ------------------------------------------------------------------ actions

    def action_move(self, step: int) -> None:
        self.go(self.cursor + step)

    def action_page(self, step: int) -> None:
        self.go(self.cursor + step * max(1, self.size.height - 1))

    def action_edge(self, end: int) -> None:
        self.go(len(self.graph_layout) - 1 if end else 0)

    def action_open(self) -> None:
        row = self.selected_row()
        if row is None:
            return
        if row.kind == "fold":
            self._unfold(row)
        else:
            self.post_message(self.Opened(row.id))

    def action_fold(self) -> None:
        row = self.selected_row()
        if row is None:
            return
        if row.kind == "fold":
            self._unfold(row)
        elif row.id in self.collapsed:
            self.collapsed.discard(row.id)
            self.relayout(keep=row.id)
        elif self.index.children(row.id):
            self.collapsed.add(row.id)
            self.relayout(keep=row.id)

    def _unfold(self, row: GraphRow) -> None:
        owner = self.graph_layout.rows[row.parent_row].id if row.parent_row is not None else None
        if owner is not None and owner in self.collapsed:
            self.collapsed.discard(owner)
        else:
            self.pinned.update(row.ids)
        self.relayout(keep=row.ids[0])

    def action_chains(self) -> None:
        self.fold_chains = not self.fold_chains
        self.pinned.clear()
        self.relayout()
        self.post_message(self.Said("single-child chains folded" if self.fold_chains
                                    else "chains shown in full"))

    def action_parent(self) -> None:
        cid = self._cursor_cid()
        row = self.index.rows.get(cid) if cid else None
        if row is None or not row.parents:
            self.post_message(self.Said("a seed has no parent"))
        elif not self.reveal(row.parents[0]):
            self.post_message(self.Said(f"{row.parents[0]} is hidden by the filter"))

    def action_second_parent(self) -> None:
        cid = self._cursor_cid()
        row = self.index.rows.get(cid) if cid else None
        if row is None or len(row.parents) < 2:
            self.post_message(self.Said("no second parent"))
        elif not self.reveal(row.parents[1]):
            self.post_message(self.Said(f"{row.parents[1]} is hidden by the filter"))

    def _cursor_cid(self) -> str | None:
        row = self.selected_row()
        if row is None:
            return None
        return row.id if row.kind == "cand" else row.ids[0]

    def action_ancestry(self) -> None:
        cid = self.selected_id()
        if cid is None:
            return
        found = self.index.ancestors(cid)
        self.ancestry = set() if self.ancestry == found else found
        self.refresh()
        self.post_message(self.Said(f"{cid}: {len(found)} ancestors (any parent)"
                                    + (" highlighted" if self.ancestry else " — cleared")))

    def action_descendants(self) -> None:
        cid = self.selected_id()
        if cid is None:
            return
        found = self.index.descendants(cid)
        self.descendant = set() if self.descendant == found else found
        self.refresh()
        self.post_message(self.Said(f"{cid}: {len(found)} descendants (any parent)"
                                    + (" highlighted" if self.descendant else " — cleared")))

    def set_filter(self, flt: LayoutFilter) -> None:
        self.filter = flt
        self.relayout()

    def on_focus(self) -> None:
        self.refresh()

    def on_blur(self) -> None:
        self.refresh()
