"""Source positions for the offline operator: a program parsed with its EVOLVE-BLOCK ranges,
and AST nodes mapped to exact character spans of the program text.

The program is parsed once as a whole or, when it does not parse as a whole, each block alone
after removing its common indentation. Offsets are absolute character offsets into the
program, so an edit is a plain splice `program[:start] + text + program[end:]` and all other
text stays byte-identical.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator

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


def reindent(text: str, old: str, new: str) -> str | None:
    """`text` with its leading `old` indentation replaced by `new` on every non-blank line;
    None when a line does not start with `old` (e.g. a less-indented multi-line string)."""
    out = []
    for line in text.splitlines(keepends=True):
        if not line.strip():
            out.append(line)
        elif line.startswith(old):
            out.append(new + line[len(old) :])
        else:
            return None
    return "".join(out)
