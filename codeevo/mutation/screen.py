"""Cheap-first screening: reject a child before it costs a sandbox run.

Checks, in order: the program parses and compiles (stage "parse"), its edits stay inside the
EVOLVE-BLOCKs (stage "blocks"), and it is not an exact duplicate of a program the run has seen
(stage "duplicate"). Compiling never executes anything, so this is safe on hostile programs.
"""

from __future__ import annotations

import ast
import hashlib
from dataclasses import dataclass

from codeevo.mutation.blocks import edits_confined


@dataclass(frozen=True)
class Screening:
    """The verdict. `stage` names the check that failed (None when `ok`)."""

    ok: bool
    stage: str | None
    reason: str | None
    program_hash: str


def normalize(program: str) -> str:
    """The program with line endings unified and trailing whitespace (per line, at end) dropped."""
    lines = program.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return "\n".join(line.rstrip() for line in lines).rstrip("\n") + "\n"


def program_hash(program: str) -> str:
    """sha256 hex of the normalized program: equal for programs differing only in trailing
    whitespace."""
    return hashlib.sha256(normalize(program).encode("utf-8", "surrogatepass")).hexdigest()


def syntax_problem(program: str, filename: str = "<candidate>") -> str | None:
    """None when `program` parses and compiles, else a one-line reason with the line number."""
    try:
        tree = ast.parse(program, filename=filename)
        compile(tree, filename, "exec", dont_inherit=True)
    except SyntaxError as exc:
        where = f" at line {exc.lineno}" if exc.lineno else ""
        if exc.lineno and exc.offset:
            where += f", column {exc.offset}"
        text = (exc.text or "").strip()
        shown = f": {text[:120]}" if text else ""
        return f"syntax error{where}: {exc.msg}{shown}"
    except (ValueError, RecursionError, MemoryError, OverflowError) as exc:
        # null bytes (ValueError), absurd nesting (RecursionError/MemoryError), huge literals
        return f"cannot compile: {type(exc).__name__}: {exc}"
    return None


def screen(parent_program: str, child_program: str, seen_hashes: set[str]) -> Screening:
    """Screen `child_program` (derived from `parent_program`) against the run's `seen_hashes`.

    Pure: `seen_hashes` is only read; the caller adds `program_hash` once it accepts the child.
    """
    digest = program_hash(child_program)
    problem = syntax_problem(child_program)
    if problem is not None:
        return Screening(False, "parse", problem, digest)
    problem = edits_confined(parent_program, child_program)
    if problem is not None:
        return Screening(False, "blocks", problem, digest)
    if digest in seen_hashes:
        return Screening(
            False, "duplicate", f"exact duplicate of a program seen before ({digest[:12]})", digest
        )
    return Screening(True, None, None, digest)
