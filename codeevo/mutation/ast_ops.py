"""The offline operator: AST-guided edits inside EVOLVE-BLOCKs, no LLM needed.

Edits: perturb a numeric literal, swap a comparison operator (`<`↔`<=`, ...), swap an arithmetic
operator (`+`↔`-`, `*`↔`/`, also in `+=` ...), and crossover — take from the second parent a
function of the same name, or a run of statements where the two differ (statements aligned like
a diff, also inside same-named functions: the donor's run replaces, extends or deletes the
parent's).

How: the program is parsed once (or, when it does not parse as a whole, each block alone after
removing its common indentation); only nodes lying inside a block are touched, and each edit
replaces the exact source span of its node (or operator token). Text outside the edited spans —
the fixed parts, comments, formatting — stays byte-identical. A child is returned only if it
still parses, stays inside the blocks, and differs from the parent.
"""

from __future__ import annotations

import ast
import math
import random
from dataclasses import dataclass
from difflib import SequenceMatcher

from codeevo.config import OperatorConfig
from codeevo.mutation.ast_source import (
    ParsedProgram,
    SourceUnit,
    edit_sites,
    number,
    own_lines,
    reparse,
)
from codeevo.mutation.base import Proposal, ProposalRequest
from codeevo.mutation.blocks import BlockError, edits_confined

_ATTEMPTS = 8  # children tried before giving up on producing a changed, valid one
# Literal nudges are what hill-climbing needs; operator swaps mostly break a program, so they
# are the rarer structural moves.
_KIND_WEIGHTS = {"literal": 0.8, "compare": 0.1, "arith": 0.1}
_DEFS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


# ------------------------------------------------------------------ point mutations


def _format_float(value: float) -> str | None:
    if not math.isfinite(value):
        return None
    text = f"{value:.6g}"
    return text if any(ch in text for ch in ".e") else text + ".0"


def _perturb_float(value: float, rng: random.Random) -> str | None:
    for _ in range(4):
        # Relative step scale log-uniform in [0.1%, 20%]: mostly small steps, some large.
        scale = 10.0 ** rng.uniform(-3.0, -0.7)
        if value != 0.0 and rng.random() < 0.7:
            new = value * math.exp(rng.gauss(0.0, scale))
        else:
            new = value + rng.gauss(0.0, scale * max(abs(value), 1.0))
        text = _format_float(abs(new))  # a literal's sign lives in a unary minus outside it
        if text is not None and float(text) != value:
            return text
    return None


def _perturb_int(value: int, rng: random.Random) -> str:
    floor = 1 if value >= 1 else 0  # counts and sizes stay usable: a positive int stays positive
    for _ in range(4):
        r = rng.random()
        if r < 0.75:
            new = value + rng.choice((-1, 1))
        elif r < 0.95:
            new = value + rng.choice((-2, 2))
        else:  # a jump, for large ints such as iteration counts
            new = round(value * math.exp(rng.gauss(0.0, 0.3)))
        new = max(new, floor)
        if new != value:
            return str(new)
    return str(value + 1)


def _shift_sequence(values: list[int], rng: random.Random) -> list[int] | None:
    """The ints with their sum kept: two unequal elements swapped, or one unit moved from an
    element to another (a positive element stays positive)."""
    n = len(values)
    pairs = [(i, j) for i in range(n) for j in range(n) if i != j]
    rng.shuffle(pairs)
    swap = rng.random() < 0.5
    for i, j in pairs:
        new = list(values)
        if swap and values[i] != values[j]:
            new[i], new[j] = values[j], values[i]
            return new
        if not swap and values[j] - 1 >= (1 if values[j] >= 1 else 0):
            new[i] += 1
            new[j] -= 1
            return new
    return None


def _mutate(parsed: ParsedProgram, rng: random.Random) -> tuple[str, str] | None:
    sites = edit_sites(parsed)
    kinds = [k for k in _KIND_WEIGHTS if any(s.category == k for s in sites)]
    if not kinds:
        return None
    kind = rng.choices(kinds, weights=[_KIND_WEIGHTS[k] for k in kinds])[0]
    pool = [s for s in sites if s.category == kind]
    site = rng.choices(pool, weights=[s.weight for s in pool])[0]
    line = parsed.line_of(site.start)
    program = parsed.program
    old = program[site.start : site.end]
    if site.kind == "sequence":
        values = [number(program[a:b], int) for a, b in site.parts]
        ints = [v for v in values if isinstance(v, int)]
        shifted = _shift_sequence(ints, rng) if len(ints) == len(values) else None
        if shifted is None:
            return None
        text, pos = "", site.start
        for (a, b), v in zip(site.parts, shifted, strict=True):
            text += program[pos:a] + str(v)
            pos = b
        text += program[pos : site.end]
        note = f"shift ints {old} -> {text} at line {line}"
    elif site.kind == "literal":
        value = number(old, float if site.note == "float" else int)
        assert value is not None  # checked when the site was collected
        new = _perturb_float(value, rng) if isinstance(value, float) else _perturb_int(value, rng)
        if new is None:
            return None
        text = new
        note = f"perturb literal {old} -> {text} at line {line}"
    else:
        # The boundary swap (< to <=) is the gentle one; the reversal (< to >) is rarer.
        opts = site.options
        text = opts[0] if len(opts) == 1 or rng.random() < 0.8 else opts[1]
        what = "comparison" if kind == "compare" else "operator"
        note = f"swap {what} {site.note} -> {text} at line {line}"
    return program[: site.start] + text + program[site.end :], note


# ------------------------------------------------------------------ crossover


def _reindent(text: str, old: str, new: str) -> str | None:
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


_Stmts = list[tuple[SourceUnit, ast.stmt]]


@dataclass(frozen=True)
class _Option:
    weight: float
    label: str
    start: int
    end: int
    text: str


def _key(stmt: ast.stmt) -> str:
    # Definitions align by name (their bodies are compared separately), the rest by structure.
    return f"def {stmt.name}" if isinstance(stmt, _DEFS) else ast.dump(stmt)


def _aligned(
    parsed: ParsedProgram, other: ParsedProgram, a: _Stmts, b: _Stmts, where: str
) -> list[_Option]:
    """Crossover options for two statement lists aligned like a diff: a differing run of the
    parent's statements replaced by the donor's run (or the donor's extra statements inserted,
    or the parent's extra ones deleted), and for each definition present in both, the donor's
    version of it and of the differing runs in its body."""
    out: list[_Option] = []
    matcher = SequenceMatcher(None, [_key(s) for _, s in a], [_key(s) for _, s in b], False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            for (ua, sa), (ub, sb) in zip(a[i1:i2], b[j1:j2], strict=True):
                if isinstance(sa, _DEFS) and isinstance(sb, _DEFS):
                    out += _option(
                        parsed,
                        other,
                        _lines(parsed, [(ua, sa)]),
                        [(ub, sb)],
                        f"function {sa.name}",
                        2.0,
                    )
                    body_a = [(ua, x) for x in sa.body]
                    out += _aligned(parsed, other, body_a, [(ub, x) for x in sb.body], sa.name)
            continue
        if i1 < i2:
            region = _lines(parsed, a[i1:i2])
        elif i1 < len(a):  # insertion before the next statement
            region = _lines(parsed, a[i1 : i1 + 1], where="before")
        elif a:  # insertion after the last statement
            region = _lines(parsed, a[-1:], where="after")
        else:
            continue
        label = {"replace": "statements", "insert": "inserted statements"}.get(tag, "deletion")
        out += _option(parsed, other, region, b[j1:j2], label + (f" in {where}" if where else ""))
    return out


def _lines(parsed: ParsedProgram, run: _Stmts, where: str = "") -> tuple[int, int, str] | None:
    """(start, end, indent) of the whole lines of `run`; with `where`, an empty span there."""
    first = own_lines(parsed.program, *run[0])
    last = own_lines(parsed.program, *run[-1])
    if first is None or last is None:
        return None
    if where == "before":
        return first[0], first[0], first[2]
    if where == "after":
        return last[1], last[1], first[2]
    return first[0], last[1], first[2]


def _option(
    parsed: ParsedProgram,
    other: ParsedProgram,
    region: tuple[int, int, str] | None,
    b_run: _Stmts,
    label: str,
    weight: float = 1.0,
) -> list[_Option]:
    """Replace `region` of the parent with the lines of the donor's `b_run`, reindented."""
    if region is None:
        return []
    start, end, indent = region
    program, donor = parsed.program, other.program
    text = ""
    if b_run:
        first = own_lines(donor, *b_run[0])
        last = own_lines(donor, *b_run[-1])
        if first is None or last is None:
            return []
        moved = _reindent(donor[first[0] : last[1]], first[2], indent)
        if moved is None:
            return []
        text = moved if moved.endswith("\n") or end >= len(program) else moved + "\n"
    if start == end and start > 0 and program[start - 1] != "\n":
        text = "\n" + text  # inserting after a last line that had no newline
    if program[start:end] == text:
        return []
    return [_Option(weight, label, start, end, text)]


def _crossover(
    parsed: ParsedProgram, other: ParsedProgram, rng: random.Random
) -> tuple[str, str] | None:
    a_by_block: dict[int, _Stmts] = {}
    b_by_block: dict[int, _Stmts] = {}
    for unit, stmt, start, _ in parsed.top_statements():
        a_by_block.setdefault(parsed.block_of(start), []).append((unit, stmt))
    for unit, stmt, start, _ in other.top_statements():
        b_by_block.setdefault(other.block_of(start), []).append((unit, stmt))
    options: list[_Option] = []
    for block, a_stmts in sorted(a_by_block.items()):
        options += _aligned(parsed, other, a_stmts, b_by_block.get(block, []), "")
    if not options:
        return None
    pick = rng.choices(options, weights=[o.weight for o in options])[0]
    line = parsed.line_of(pick.start)
    note = f"crossover: {pick.label} at line {line} taken from the second parent"
    program = parsed.program
    return program[: pick.start] + pick.text + program[pick.end :], note


# ------------------------------------------------------------------ the operator


class AstMutationOperator:
    """Offline operator: 1..`ast_max_edits` AST edits inside EVOLVE-BLOCKs, sometimes crossover.

    With probability `ast_crossover_rate`, when a second parent is offered, the first edit takes
    a function or statement from it; the proposal then names both parents (primary first).
    The edits made are described in `exchange["mutation.txt"]`.
    """

    name = "ast"
    needs_two_parents = False  # uses a second parent when offered, works without one
    self_limited = False

    def __init__(self, config: OperatorConfig | None = None) -> None:
        self.config = config or OperatorConfig()
        self._cache: dict[str, ParsedProgram] = {}

    def _parse_parent(self, program: str) -> ParsedProgram:
        # Elites are parents again and again; keep the last few parsed (results never change).
        found = self._cache.pop(program, None) or ParsedProgram(program)
        self._cache[program] = found
        while len(self._cache) > 32:
            del self._cache[next(iter(self._cache))]
        return found

    async def propose(self, request: ProposalRequest, rng: random.Random) -> Proposal:
        return self.propose_sync(request, rng)

    def propose_sync(self, request: ProposalRequest, rng: random.Random) -> Proposal:
        """The same as `propose`, for callers outside an event loop (it never awaits)."""
        parent = request.parent
        primary = (parent.candidate.id,)
        try:
            parsed = self._parse_parent(parent.program)
        except BlockError as exc:
            return Proposal(None, self.name, parents=primary, error=f"parent program: {exc}")
        if not parsed.units:
            return Proposal(
                None,
                self.name,
                parents=primary,
                error="no EVOLVE-BLOCK of the parent parses; nothing to edit",
            )
        donor: ParsedProgram | None = None
        second = request.second_parent
        if second is not None and rng.random() < self.config.ast_crossover_rate:
            try:
                donor = self._parse_parent(second.program)
            except BlockError:
                donor = None
        for _ in range(_ATTEMPTS):
            done, notes, crossed = self._child(parsed, donor, rng)
            child = done.program if done is not None else None
            if (
                done is not None
                and child is not None
                and child != parent.program
                and done.parses_like(parsed)
                and edits_confined(parent.program, child) is None
            ):
                parents = primary + (second.candidate.id,) if crossed and second else primary
                return Proposal(
                    child,
                    self.name,
                    parents=parents,
                    exchange={"mutation.txt": "\n".join(notes) + "\n"},
                )
        return Proposal(
            None,
            self.name,
            parents=primary,
            error=f"no valid AST edit found in {_ATTEMPTS} attempts "
            "(no numeric literals or swappable operators inside the EVOLVE-BLOCKs?)",
        )

    def _child(
        self, parsed: ParsedProgram, donor: ParsedProgram | None, rng: random.Random
    ) -> tuple[ParsedProgram | None, list[str], bool]:
        # 1 edit half the time, then halving odds: each extra edit risks breaking a good child.
        counts = range(1, self.config.ast_max_edits + 1)
        edits = rng.choices(counts, weights=[0.5**k for k in counts])[0]
        notes: list[str] = []
        crossed = False
        current: ParsedProgram | None = parsed
        if donor is not None:
            done = _crossover(parsed, donor, rng)
            if done is not None:
                notes.append(done[1])
                crossed = True
                edits -= 1
                current = reparse(done[0])
        for _ in range(edits):
            if current is None:
                return None, notes, crossed
            done = _mutate(current, rng)
            if done is None:
                break
            notes.append(done[1])
            current = reparse(done[0])
        return (current if notes else None), notes, crossed
