"""SEARCH/REPLACE diffs (the Aider / AlphaEvolve format): parse a reply, apply it to a program.

    <<<<<<< SEARCH
    lines as they are in the program
    =======
    lines to put in their place
    >>>>>>> REPLACE

A reply may hold several blocks, with prose or markdown fences around them. Each block is
applied, in order, to the text inside the program's EVOLVE-BLOCKs only (the fixed parts are
never touched). Matching tolerates trailing-whitespace drift and a consistent indentation
drift (the replacement is re-indented by the same offset). Errors say which block failed and
why, in words meant to be sent back to the model.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from codeevo.mutation import blocks

_SEARCH = re.compile(r"^\s*<{5,9}\s*SEARCH\s*$")
_DIVIDER = re.compile(r"^\s*={5,9}\s*$")
_REPLACE = re.compile(r"^\s*>{5,9}\s*REPLACE\s*$")


class DiffError(ValueError):
    """A reply that cannot be used; `stage` is "parse" (no/broken blocks) or "apply"."""

    def __init__(self, message: str, stage: str = "apply") -> None:
        super().__init__(message)
        self.stage = stage


@dataclass(frozen=True)
class SearchReplace:
    """One edit: `search` (text expected in the program) → `replace`. Both end in a newline
    (or are empty)."""

    search: str
    replace: str


def parse_diff(reply: str) -> list[SearchReplace]:
    """Every SEARCH/REPLACE block in `reply`, in order. Raises DiffError(stage="parse")."""
    edits: list[SearchReplace] = []
    lines = reply.splitlines(keepends=True)
    i = 0
    while i < len(lines):
        if not _SEARCH.match(lines[i]):
            i += 1
            continue
        n = len(edits) + 1
        start = i
        i += 1
        search: list[str] = []
        while i < len(lines) and not _DIVIDER.match(lines[i]):
            if _SEARCH.match(lines[i]) or _REPLACE.match(lines[i]):
                raise DiffError(f"block {n} (line {start + 1}): SEARCH section has no "
                                "'=======' divider before the next marker", "parse")
            search.append(lines[i])
            i += 1
        if i >= len(lines):
            raise DiffError(f"block {n} (line {start + 1}): SEARCH section is never closed "
                            "by a '=======' line", "parse")
        i += 1
        replace: list[str] = []
        while i < len(lines) and not _REPLACE.match(lines[i]):
            if _SEARCH.match(lines[i]) or _DIVIDER.match(lines[i]):
                raise DiffError(f"block {n} (line {start + 1}): REPLACE section is not closed "
                                "by '>>>>>>> REPLACE' before the next marker", "parse")
            replace.append(lines[i])
            i += 1
        if i >= len(lines):
            raise DiffError(f"block {n} (line {start + 1}): REPLACE section is never closed "
                            "by a '>>>>>>> REPLACE' line", "parse")
        i += 1
        edits.append(SearchReplace(_with_newline("".join(search)),
                                   _with_newline("".join(replace))))
    if not edits:
        raise DiffError("no SEARCH/REPLACE blocks found: answer with one or more blocks "
                        "'<<<<<<< SEARCH' ... '=======' ... '>>>>>>> REPLACE'", "parse")
    return edits


def apply_diff(program: str, edits: list[SearchReplace]) -> str:
    """`program` with each edit applied inside its EVOLVE-BLOCKs. Raises DiffError."""
    try:
        segs = blocks.split(program)
    except blocks.BlockError as exc:
        raise DiffError(f"the program's EVOLVE-BLOCK markers are broken: {exc}") from exc
    body = list(segs.blocks)
    for n, edit in enumerate(edits, 1):
        if not edit.search.strip():
            raise DiffError(f"block {n}: the SEARCH section is empty; copy the lines to "
                            "change from the program")
        for j, text in enumerate(body):
            new = _apply_one(text, edit)
            if new is not None:
                body[j] = new
                break
        else:
            raise DiffError(f"block {n}: {_why_not_found(edit.search, segs, body)}")
    child = segs.join(body)
    why = blocks.edits_confined(program, child)
    if why is not None:
        raise DiffError(f"the edits change the program outside its EVOLVE-BLOCKs: {why}")
    return child


# ---------------------------------------------------------------- matching


def _with_newline(text: str) -> str:
    return text if not text or text.endswith("\n") else text + "\n"


def _apply_one(text: str, edit: SearchReplace) -> str | None:
    """`text` with the first match of edit.search replaced, or None when it does not match."""
    at = text.find(edit.search)
    if at >= 0 and (at == 0 or text[at - 1] == "\n"):
        return text[:at] + edit.replace + text[at + len(edit.search):]
    return _apply_fuzzy(text, edit)


def _indent(line: str) -> str:
    return line[: len(line) - len(line.lstrip(" \t"))]


def _trim_blank_edges(lines: list[str]) -> list[str]:
    lo, hi = 0, len(lines)
    while lo < hi and not lines[lo].strip():
        lo += 1
    while hi > lo and not lines[hi - 1].strip():
        hi -= 1
    return lines[lo:hi]


def _apply_fuzzy(text: str, edit: SearchReplace) -> str | None:
    """Line-wise match ignoring trailing whitespace and a constant indentation offset."""
    prog = text.splitlines(keepends=True)
    want = _trim_blank_edges(edit.search.splitlines(keepends=True))
    if not want:
        return None
    for start in range(len(prog) - len(want) + 1):
        window = prog[start:start + len(want)]
        shift = _shift(window, want)
        if shift is None:
            continue
        replacement = _reindent(edit.replace.splitlines(keepends=True), shift)
        return "".join(prog[:start] + replacement + prog[start + len(want):])
    return None


def _shift(window: list[str], want: list[str]) -> tuple[int, str] | None:
    """(delta, pad) when `window` is `want` moved by a constant indentation, else None.

    delta > 0: the program is indented `delta` columns deeper than the SEARCH text (pad is
    the extra indentation to add to the replacement); delta < 0: shallower.
    """
    delta: int | None = None
    pad = ""
    for have, need in zip(window, want, strict=True):
        if not need.strip():
            if have.strip():
                return None
            continue
        if have.strip() != need.strip():
            return None
        d = len(_indent(have)) - len(_indent(need))
        if delta is None:
            delta = d
            pad = _indent(have)[:d] if d > 0 else ""
        elif d != delta:
            return None
    return (delta or 0, pad) if delta is not None else None


def _reindent(lines: list[str], shift: tuple[int, str]) -> list[str]:
    delta, pad = shift
    if delta == 0:
        return lines
    out = []
    for line in lines:
        if not line.strip():
            out.append(line)
        elif delta > 0:
            out.append(pad + line)
        else:
            cut = min(-delta, len(_indent(line)))
            out.append(line[cut:])
    return out


def _why_not_found(search: str, segs: blocks.Segments, body: list[str]) -> str:
    first = next((ln.strip() for ln in search.splitlines() if ln.strip()), "")
    fixed = "".join(segs.fixed)
    probe = SearchReplace(search, "")
    if _apply_one(fixed, probe) is not None:
        return ("the SEARCH text is outside the EVOLVE-BLOCKs, which must not be changed; "
                "edit only the code between EVOLVE-BLOCK-START and EVOLVE-BLOCK-END")
    if any(first and first in b for b in body):
        return (f"the SEARCH text does not match the program exactly (its first line "
                f"{first!r} is there, but the lines after it differ); copy the lines to "
                "change verbatim from the current program")
    return (f"the SEARCH text was not found in the program (first line: {first!r}); "
            "copy the lines to change verbatim from the current program")
