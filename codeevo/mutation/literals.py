"""A program's tunable numeric literals as a vector, and the program rebuilt from a new vector.

Only literals inside EVOLVE-BLOCKs are read, and of those only the ones a numeric optimiser can
change without breaking the program's structure:

- floats that are named (below), and unnamed floats except ``0.0`` and ``±1.0`` (the identity
  constants of formulas such as ``1.0 - x``: a boundary, not a knob), ``==`` / ``!=``
  comparisons and subscripts;
- ints only where they are named: the whole value of an assignment (``STEPS = 3``,
  ``k: int = 3``) or a parameter default (``def f(x, k=3)``). Ints elsewhere are dimensions,
  indices, exponents or guards (``delta.dim() == 2``, ``x.sum(0)``, ``2 ** n``);
- never a literal on a line marked ``# tune: fixed``, nor one assigned to a name the problem
  lists in ``fixed_constants``.

A leading unary minus belongs to the literal (its value is signed). ``with_values`` writes
ints as ints and floats with six significant digits, and leaves every other character of the
program as it was. The `skeleton` identifies the program with its tunable values blanked out:
two programs with the same skeleton are two points of one search space.
"""

from __future__ import annotations

import ast
import hashlib
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from codeevo.mutation.ast_source import ParsedProgram, SourceUnit

FIXED_MARK = re.compile(r"#\s*tune:\s*fixed\b")


@dataclass(frozen=True)
class Literal:
    """One tunable literal: its span in the program (a unary minus included) and value."""

    start: int
    end: int
    value: int | float
    name: str  # the name it is assigned to, else "line <n>"

    @property
    def is_int(self) -> bool:
        return isinstance(self.value, int)


@dataclass(frozen=True)
class LiteralVector:
    """The tunable literals of a program, in source order."""

    program: str
    literals: tuple[Literal, ...]

    @property
    def values(self) -> tuple[int | float, ...]:
        return tuple(lit.value for lit in self.literals)

    @property
    def skeleton(self) -> str:
        """A hash of the program with each tunable literal replaced by its kind."""
        parts, pos = [], 0
        for lit in self.literals:
            parts += [self.program[pos : lit.start], "\0i" if lit.is_int else "\0f"]
            pos = lit.end
        parts.append(self.program[pos:])
        return hashlib.sha256("".join(parts).encode()).hexdigest()[:16]

    def with_values(self, values: Sequence[float]) -> str:
        """The program with the literals set to `values` (ints rounded; signs as given). A
        literal whose value does not change keeps its text, so the round trip is exact."""
        if len(values) != len(self.literals):
            raise ValueError(f"expected {len(self.literals)} values, got {len(values)}")
        parts, pos = [], 0
        for lit, value in zip(self.literals, values, strict=True):
            text = format_number(value, lit.is_int)
            if ast.literal_eval(text) == lit.value:
                text = self.program[lit.start : lit.end]
            parts += [self.program[pos : lit.start], text]
            pos = lit.end
        parts.append(self.program[pos:])
        return "".join(parts)


def format_number(value: float, is_int: bool) -> str:
    """Python source for `value`: an int literal, or a float literal with 6 significant digits."""
    if not math.isfinite(value):
        raise ValueError(f"cannot write {value!r} as a literal")
    if is_int:
        return str(int(round(value)))
    text = f"{value:.6g}"
    return text if any(ch in text for ch in ".e") else text + ".0"


def read_literals(program: str, fixed_names: Iterable[str] = ()) -> LiteralVector:
    """The tunable literals of `program` (raises BlockError when its markers are broken)."""
    parsed = ParsedProgram(program)
    fixed = set(fixed_names)
    found: list[Literal] = []
    taken: set[int] = set()
    for unit, node, start, end in parsed.nodes():
        if not (isinstance(node, ast.Constant) and type(node.value) in (int, float)):
            continue
        signed: ast.AST = node
        parent = unit.parent(node)
        if isinstance(parent, ast.UnaryOp) and isinstance(parent.op, ast.USub | ast.UAdd):
            signed = parent
            start = unit.span(parent)[0]
        name = _assigned_name(unit, signed)
        if start in taken or not _tunable(unit, node, signed, name) or name in fixed:
            continue
        if _line_marked_fixed(program, start):
            continue
        text = program[start:end]
        try:
            value: int | float = ast.literal_eval(text.strip())
        except (ValueError, SyntaxError):
            continue  # the span is not exactly the literal's text (a position quirk)
        if type(value) is not type(node.value):
            continue
        taken.add(start)
        found.append(Literal(start, end, value, name or f"line {parsed.line_of(start)}"))
    found.sort(key=lambda lit: lit.start)
    return LiteralVector(program, tuple(found))


def _line_marked_fixed(program: str, offset: int) -> bool:
    lo = program.rfind("\n", 0, offset) + 1
    hi = program.find("\n", offset)
    return bool(FIXED_MARK.search(program[lo : len(program) if hi < 0 else hi]))


def _assigned_name(unit: SourceUnit, signed: ast.AST) -> str | None:
    """The target name when `signed` is the whole value of `NAME = lit` / `NAME: T = lit`,
    or the parameter name when it is a default; else None."""
    parent = unit.parent(signed)
    if isinstance(parent, ast.Assign) and parent.value is signed and len(parent.targets) == 1:
        target = parent.targets[0]
        return target.id if isinstance(target, ast.Name) else None
    if isinstance(parent, ast.AnnAssign) and parent.value is signed:
        return parent.target.id if isinstance(parent.target, ast.Name) else None
    if isinstance(parent, ast.arguments):
        positional = parent.posonlyargs + parent.args
        for arg, default in zip(positional[len(positional) - len(parent.defaults):],
                                parent.defaults, strict=True):
            if default is signed:
                return arg.arg
        for arg, kw_default in zip(parent.kwonlyargs, parent.kw_defaults, strict=True):
            if kw_default is signed:
                return arg.arg
    return None


def _tunable(unit: SourceUnit, node: ast.Constant, signed: ast.AST, name: str | None) -> bool:
    if isinstance(node.value, int):
        return name is not None  # ints are tuned only where they are named
    if name is None and node.value in (0.0, 1.0, -1.0):
        return False
    child = signed
    for a in unit.ancestors(signed):
        if isinstance(a, ast.Subscript) and a.slice is child:
            return False
        if isinstance(a, ast.Compare) and any(isinstance(op, ast.Eq | ast.NotEq)
                                              for op in a.ops):
            return False
        if isinstance(a, ast.stmt):
            return True
        child = a
    return True
