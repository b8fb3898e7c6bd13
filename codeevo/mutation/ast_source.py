"""The offline operator's view of a program, without randomness: the program parsed with its
EVOLVE-BLOCK ranges, AST nodes mapped to exact character spans, and the edit sites (literals,
int lists, operators) with the weights they are picked by.

The program is parsed once as a whole or, when it does not parse as a whole, each block alone
after removing its common indentation. Offsets are absolute character offsets into the
program, so an edit is a plain splice `program[:start] + text + program[end:]` and all other
text stays byte-identical.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass

from codeevo.mutation.blocks import BlockError, split

_OP_RE = re.compile(r"\*\*=?|//=?|<=|>=|==|!=|[-+*/%@&|^<>]=?")

# A node found inside a block: (its unit, the node, start offset, end offset).
Located = tuple["SourceUnit", ast.AST, int, int]
LocatedStmt = tuple["SourceUnit", ast.stmt, int, int]


class SourceUnit:
    """A parsed piece of the program (the whole of it, or one dedented block) with a map from
    AST positions (line, UTF-8 byte column) to absolute character offsets in the program."""

    def __init__(self, program: str, base: int, text: str, indent: int) -> None:
        self.program = program
        self.lines = text.split("\n")  # original (indented) lines, as the parser counts them
        self.indent = indent
        self.starts: list[int] = []
        pos = base
        for line in self.lines:
            self.starts.append(pos)
            pos += len(line) + 1
        src = "\n".join(line[indent:] for line in self.lines)
        self.tree = ast.parse(src)
        self.parents: dict[int, ast.AST] = {}  # filled by ParsedProgram indexing

    def offset(self, lineno: int, col: int) -> int:
        line = self.lines[lineno - 1]
        if line.isascii():
            return self.starts[lineno - 1] + self.indent + col
        body = line[self.indent :].encode("utf-8")[:col].decode("utf-8", "ignore")
        return self.starts[lineno - 1] + self.indent + len(body)

    def span(self, node: ast.AST) -> tuple[int, int]:
        end_line = getattr(node, "end_lineno", None) or node.lineno  # type: ignore[attr-defined]
        end_col = getattr(node, "end_col_offset", None)
        end = self.offset(end_line, end_col if end_col is not None else 0)
        return self.offset(node.lineno, node.col_offset), end  # type: ignore[attr-defined]

    def parent(self, node: ast.AST) -> ast.AST | None:
        return self.parents.get(id(node))

    def ancestors(self, node: ast.AST) -> Iterator[ast.AST]:
        cur = self.parents.get(id(node))
        while cur is not None:
            yield cur
            cur = self.parents.get(id(cur))


class ParsedProgram:
    """A program, its block character ranges, and the units whose nodes may be edited.

    Raises `BlockError` when the markers are broken. `units` is empty when no block parses.
    """

    def __init__(self, program: str) -> None:
        self.program = program
        segs = split(program)  # raises BlockError
        self.ranges: list[tuple[int, int]] = []
        pos = 0
        for fixed, block in zip(segs.fixed, segs.blocks, strict=False):
            pos += len(fixed)
            self.ranges.append((pos, pos + len(block)))
            pos += len(block)
        self.units: list[SourceUnit] = []
        self.whole = True
        self._nodes: list[Located] | None = None
        self._tops: list[LocatedStmt] | None = None
        try:
            self.units.append(SourceUnit(program, 0, program, 0))
        except (SyntaxError, ValueError, RecursionError):
            self.whole = False
            for start, end in self.ranges:
                unit = dedented_unit(program, start, end)
                if unit is not None:
                    self.units.append(unit)

    def inside(self, start: int, end: int) -> bool:
        return any(lo <= start and end <= hi for lo, hi in self.ranges)

    def block_of(self, start: int) -> int:
        return next(i for i, (lo, hi) in enumerate(self.ranges) if lo <= start < hi)

    def nodes(self) -> list[Located]:
        """Every node lying inside a block (f-string internals excluded), in source order."""
        if self._nodes is None:
            self._index()
        assert self._nodes is not None
        return self._nodes

    def top_statements(self) -> list[LocatedStmt]:
        """Statements inside a block whose enclosing statements are not inside it."""
        if self._tops is None:
            self._index()
        assert self._tops is not None
        return self._tops

    def _index(self) -> None:
        # One depth-first pass: parent links, block membership, f-string and nesting flags.
        nodes: list[Located] = []
        tops: list[LocatedStmt] = []
        for unit in self.units:
            stack: list[tuple[ast.AST, bool, bool]] = [(unit.tree, False, False)]
            while stack:
                node, in_fstring, under_stmt = stack.pop()
                in_fstring = in_fstring or isinstance(node, ast.JoinedStr)
                if hasattr(node, "lineno") and not in_fstring:
                    start, end = unit.span(node)
                    if self.inside(start, end):
                        nodes.append((unit, node, start, end))
                        if isinstance(node, ast.stmt):
                            if not under_stmt:
                                tops.append((unit, node, start, end))
                            under_stmt = True
                children = list(ast.iter_child_nodes(node))
                for child in reversed(children):
                    unit.parents[id(child)] = node
                    stack.append((child, in_fstring, under_stmt))
        self._nodes, self._tops = nodes, tops

    def line_of(self, offset: int) -> int:
        return self.program.count("\n", 0, offset) + 1

    def parses_like(self, parent: ParsedProgram) -> bool:
        """This program parses as well as `parent` did (whole, or block by block)."""
        return self.whole if parent.whole else len(self.units) >= len(parent.units)


def dedented_unit(program: str, start: int, end: int) -> SourceUnit | None:
    """The block program[start:end] parsed alone without its common indentation, or None."""
    text = program[start:end]
    if text.endswith("\n"):
        text = text[:-1]
    lines = [ln for ln in text.split("\n") if ln.strip()]
    if not lines:
        return None
    indent = min(len(ln) - len(ln.lstrip(" \t")) for ln in lines)
    if any(ln[:indent] != lines[0][:indent] for ln in lines):
        return None  # mixed indentation prefixes: cannot dedent safely
    try:
        return SourceUnit(program, start, text, indent)
    except (SyntaxError, ValueError, RecursionError):
        return None


def reparse(program: str) -> ParsedProgram | None:
    """`program` parsed, or None when its markers are broken or no block parses."""
    try:
        parsed = ParsedProgram(program)
    except BlockError:
        return None
    return parsed if parsed.units else None


def operator_at(program: str, start: int, end: int) -> tuple[int, str] | None:
    """The operator token in program[start:end], skipping spaces, parentheses and comments."""
    i = start
    while i < end:
        ch = program[i]
        if ch in " \t\n\r\f()":
            i += 1
        elif ch == "\\" and program.startswith("\n", i + 1):
            i += 2
        elif ch == "#":
            nl = program.find("\n", i)
            i = end if nl < 0 else nl
        else:
            m = _OP_RE.match(program, i, end)
            return (i, m.group()) if m else None
    return None


def own_lines(program: str, unit: SourceUnit, node: ast.stmt) -> tuple[int, int, str] | None:
    """(start, end, indent) of the whole lines holding `node` (decorators included), or None
    when the statement shares a line with other code."""
    first = min([node.lineno, *(d.lineno for d in getattr(node, "decorator_list", []))])
    start = unit.offset(first, 0) - unit.indent
    stmt_start, stmt_end = unit.span(node)
    if first == node.lineno:
        head = program[start:stmt_start]
    else:
        head = program[start : program.index("@", start)]
    if head.strip():
        return None
    nl = program.find("\n", stmt_end)
    end = len(program) if nl < 0 else nl + 1
    tail = program[stmt_end:end].strip()
    if tail and not tail.startswith("#"):
        return None
    return start, end, head


# Within the literal pool: floats are the tunable constants; ints are often counts, sizes or
# divisors, where a step changes structure, so they are picked less often.
_FLOAT_WEIGHT = 1.0
_INT_WEIGHT = 0.3
_INT_DIVISOR_WEIGHT = 0.1  # an int inside the right operand of /, // or %
_INT_IN_SEQUENCE_WEIGHT = 0.1  # all elements of an all-int list/tuple (rows = [5, 6, 5]) together
_SEQUENCE_WEIGHT = 0.6  # a sum-preserving edit of such a sequence (swap or move one unit)
_COMPARE_SWAPS = {
    ast.Lt: ("<", ("<=", ">")),
    ast.LtE: ("<=", ("<", ">=")),
    ast.Gt: (">", (">=", "<")),
    ast.GtE: (">=", (">", "<=")),
    ast.Eq: ("==", ("!=",)),
    ast.NotEq: ("!=", ("==",)),
}
_ARITH_SWAPS = {ast.Add: ("+", "-"), ast.Sub: ("-", "+"), ast.Mult: ("*", "/"), ast.Div: ("/", "*")}
_DIVISIONS = (ast.Div, ast.FloorDiv, ast.Mod)


@dataclass(frozen=True)
class Site:
    """A place an edit can go; the new text is drawn when the site is used."""

    kind: str  # "literal", "sequence", "compare" or "arith"
    weight: float
    start: int  # absolute character offsets into the program
    end: int
    note: str  # literal: "int" or "float"; a swap: the old operator
    options: tuple[str, ...] = ()  # a swap: the replacements, gentlest first
    parts: tuple[tuple[int, int], ...] = ()  # a sequence: its elements' spans

    @property
    def category(self) -> str:
        return "literal" if self.kind == "sequence" else self.kind


# ------------------------------------------------------------------ edit sites


def number(text: str, kind: type) -> int | float | None:
    try:
        return int(text, 0) if kind is int else float(text)
    except ValueError:
        return None


def _is_int(node: ast.AST) -> bool:
    return isinstance(node, ast.Constant) and type(node.value) is int


def _is_index(unit: SourceUnit, node: ast.AST) -> bool:
    """`x[0]`, `x[-1]`, `x[0, 1]`: an index whose change would likely fall out of range."""
    parent = unit.parent(node)
    if isinstance(parent, ast.UnaryOp):
        node, parent = parent, unit.parent(parent)
    if isinstance(parent, ast.Tuple):
        node, parent = parent, unit.parent(parent)
    return isinstance(parent, ast.Subscript) and parent.slice is node


def _int_sequence_length(unit: SourceUnit, node: ast.AST) -> int:
    """The length of the list/tuple/set display of two or more plain ints that `node` is an
    element of, else 0."""
    parent = unit.parent(node)
    if (
        isinstance(parent, ast.List | ast.Tuple | ast.Set)
        and len(parent.elts) >= 2
        and all(_is_int(e) for e in parent.elts)
    ):
        return len(parent.elts)
    return 0


def _in_divisor(unit: SourceUnit, node: ast.AST) -> bool:
    """Inside the right operand of /, // or % (in the same statement)."""
    child = node
    for a in unit.ancestors(node):
        if isinstance(a, ast.BinOp) and isinstance(a.op, _DIVISIONS) and a.right is child:
            return True
        if isinstance(a, ast.AugAssign) and isinstance(a.op, _DIVISIONS) and a.value is child:
            return True
        if isinstance(a, ast.stmt):
            return False
        child = a
    return False


def _in_int_context(unit: SourceUnit, node: ast.AST) -> bool:
    """Inside range(...) or a subscript, where turning * into / would make a float."""
    for a in unit.ancestors(node):
        if isinstance(a, ast.Subscript):
            return True
        if isinstance(a, ast.Call) and isinstance(a.func, ast.Name) and a.func.id == "range":
            return True
    return False


def _is_sequence_or_str(node: ast.AST) -> bool:
    if isinstance(node, ast.Constant):
        return isinstance(node.value, str | bytes)
    return isinstance(node, ast.JoinedStr | ast.List | ast.Tuple | ast.ListComp)


def _nonzero_number(node: ast.AST) -> bool:
    """A numeric literal other than zero (maybe negated): safe to divide by."""
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        node = node.operand
    return (
        isinstance(node, ast.Constant)
        and type(node.value) in (int, float)
        and node.value != 0
    )


def _literal_site(parsed: ParsedProgram, unit: SourceUnit, node: ast.Constant, start: int,
                  end: int) -> Site | None:
    if _is_index(unit, node) or number(parsed.program[start:end], type(node.value)) != node.value:
        return None  # an index, or the span is not the literal's text (a position quirk)
    if isinstance(node.value, float):
        weight = _FLOAT_WEIGHT
    elif length := _int_sequence_length(unit, node):
        weight = _INT_IN_SEQUENCE_WEIGHT / length
    elif _in_divisor(unit, node):
        weight = _INT_DIVISOR_WEIGHT
    else:
        weight = _INT_WEIGHT
    return Site("literal", weight, start, end, type(node.value).__name__)


def _swap_site(parsed: ParsedProgram, unit: SourceUnit, node: ast.AST) -> Site | None:
    """An arithmetic swap that keeps strings, sequences and int contexts working and never
    makes a division by something that may be zero."""
    if not isinstance(node, ast.BinOp | ast.AugAssign) or type(node.op) not in _ARITH_SWAPS:
        return None
    left, right = (
        (node.left, node.right) if isinstance(node, ast.BinOp) else (node.target, node.value)
    )
    if _is_sequence_or_str(left) or _is_sequence_or_str(right):
        return None
    if isinstance(node.op, ast.Mult | ast.Div) and _in_int_context(unit, node):
        return None
    if isinstance(node.op, ast.Mult) and not _nonzero_number(right):
        return None
    old, new = _ARITH_SWAPS[type(node.op)]
    if isinstance(node, ast.AugAssign):
        old, new = old + "=", new + "="
    found = operator_at(parsed.program, unit.span(left)[1], unit.span(right)[0])
    if not found or found[1] != old:
        return None
    return Site("arith", 1.0, found[0], found[0] + len(old), old, (new,))


def edit_sites(parsed: ParsedProgram) -> list[Site]:
    """Every place an edit can go inside the blocks."""
    out: list[Site] = []
    program = parsed.program
    for unit, node, start, end in parsed.nodes():
        site: Site | None = None
        if isinstance(node, ast.Constant) and type(node.value) in (int, float):
            site = _literal_site(parsed, unit, node, start, end)
        elif isinstance(node, ast.List | ast.Tuple | ast.Set) and len(node.elts) >= 2 and all(
            _is_int(e) for e in node.elts
        ):
            parts = tuple(unit.span(e) for e in node.elts)
            site = Site("sequence", _SEQUENCE_WEIGHT, start, end, "ints", parts=parts)
        elif isinstance(node, ast.Compare):
            operands = [node.left, *node.comparators]
            for i, op in enumerate(node.ops):
                if type(op) not in _COMPARE_SWAPS:
                    continue
                lo, hi = unit.span(operands[i])[1], unit.span(operands[i + 1])[0]
                found = operator_at(program, lo, hi)
                old, options = _COMPARE_SWAPS[type(op)]
                if found and found[1] == old:
                    out.append(Site("compare", 1.0, found[0], found[0] + len(old), old, options))
        else:
            site = _swap_site(parsed, unit, node)
        if site is not None:
            out.append(site)
    return out
