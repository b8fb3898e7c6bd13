"""EVOLVE-BLOCK markers: split a program into fixed and evolvable parts, and check edits.

A program holds one or more regions between `# EVOLVE-BLOCK-START` and `# EVOLVE-BLOCK-END`
lines. Only the text inside those regions may change; everything else is fixed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

START = "EVOLVE-BLOCK-START"
END = "EVOLVE-BLOCK-END"
_START_RE = re.compile(r"^\s*#\s*EVOLVE-BLOCK-START\b.*$")
_END_RE = re.compile(r"^\s*#\s*EVOLVE-BLOCK-END\b.*$")


class BlockError(ValueError):
    """Markers missing, unbalanced or nested; the message names the line."""


@dataclass(frozen=True)
class Segments:
    """A program cut at its markers: fixed[0], block[0], fixed[1], block[1], ..., fixed[n].

    Marker lines belong to the fixed parts, so joining everything restores the program.
    """

    fixed: tuple[str, ...]
    blocks: tuple[str, ...]

    def join(self, blocks: tuple[str, ...] | list[str] | None = None) -> str:
        body = self.blocks if blocks is None else tuple(blocks)
        if len(body) != len(self.blocks):
            raise BlockError(f"expected {len(self.blocks)} blocks, got {len(body)}")
        out = [self.fixed[0]]
        for block, fixed in zip(body, self.fixed[1:], strict=True):
            out.append(block)
            out.append(fixed)
        return "".join(out)


def split(program: str) -> Segments:
    """Cut `program` at its EVOLVE-BLOCK markers (at least one block is required)."""
    lines = program.splitlines(keepends=True)
    fixed: list[str] = []
    blocks: list[str] = []
    cur: list[str] = []
    inside = False
    for no, line in enumerate(lines, 1):
        if _START_RE.match(line):
            if inside:
                raise BlockError(f"line {no}: {START} inside an open block")
            cur.append(line)
            fixed.append("".join(cur))
            cur = []
            inside = True
        elif _END_RE.match(line):
            if not inside:
                raise BlockError(f"line {no}: {END} without a matching {START}")
            blocks.append("".join(cur))
            cur = [line]
            inside = False
        else:
            cur.append(line)
    if inside:
        raise BlockError(f"{START} at the end is never closed by {END}")
    fixed.append("".join(cur))
    if not blocks:
        raise BlockError(f"no '# {START}' / '# {END}' markers found")
    return Segments(tuple(fixed), tuple(blocks))


def edits_confined(parent: str, child: str) -> str | None:
    """None when `child` differs from `parent` only inside EVOLVE-BLOCKs, else the reason."""
    try:
        p = split(parent)
    except BlockError as exc:
        return f"parent: {exc}"
    try:
        c = split(child)
    except BlockError as exc:
        return f"child: {exc}"
    if len(p.blocks) != len(c.blocks):
        return f"child has {len(c.blocks)} EVOLVE-BLOCKs, parent has {len(p.blocks)}"
    for i, (a, b) in enumerate(zip(p.fixed, c.fixed, strict=True)):
        if _loose(a) != _loose(b):
            return f"fixed region {i} (outside EVOLVE-BLOCKs) was changed"
    return None


def _loose(text: str) -> list[str]:
    # Line endings and trailing whitespace are not edits (an LLM reply may use CRLF); blank
    # lines at the end of a fixed region are not either.
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").split("\n")]
    while lines and not lines[-1]:
        lines.pop()
    return lines


def replace_blocks(parent: str, blocks: list[str]) -> str:
    """The parent with its blocks replaced (fixed parts restored from the parent)."""
    segs = split(parent)
    fixed_blocks = [b if b.endswith("\n") or not b else b + "\n" for b in blocks]
    return segs.join(fixed_blocks)
