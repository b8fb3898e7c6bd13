"""A coloured unified diff of two programs."""

from __future__ import annotations

import difflib

from rich.text import Text
from textual.widgets import Static


def unified_diff(old: str, new: str, old_name: str, new_name: str, context: int = 3) -> str:
    lines = difflib.unified_diff(
        old.splitlines(keepends=True), new.splitlines(keepends=True),
        fromfile=old_name, tofile=new_name, n=context,
    )
    return "".join(line if line.endswith("\n") else line + "\n" for line in lines)


def colour_diff(diff: str) -> Text:
    """Additions green, removals red, hunk headers cyan; readable on light and dark themes."""
    out = Text()
    for line in diff.splitlines(keepends=True):
        if line.startswith(("+++", "---")):
            out.append(line, style="bold")
        elif line.startswith("@@"):
            out.append(line, style="cyan")
        elif line.startswith("+"):
            out.append(line, style="green")
        elif line.startswith("-"):
            out.append(line, style="red")
        else:
            out.append(line)
    return out


class DiffView(Static):
    """Shows the diff from `old` to `new` (or a note when they are the same)."""

    def __init__(self, old: str, new: str, old_name: str, new_name: str,
                 *, id: str | None = None) -> None:
        self.diff = unified_diff(old, new, old_name, new_name)
        body = colour_diff(self.diff) if self.diff else Text("(identical programs)", style="dim")
        super().__init__(body, id=id, expand=True)
