"""events.jsonl: an append-only log of what a run did, for machines, the TUI and humans.

Kinds: started, proposed, screened, evaluated, inserted, migrated, progress, warning, stopped.
Each line is one JSON object with at least ``t`` (unix time) and ``kind``. A reader tolerates a
torn last line (a writer killed mid-write) and can follow a file another process is writing.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

EVENTS_FILE = "events.jsonl"


class EventLog:
    """Append-only writer. One per run process."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fh: TextIO | None = path.open("a", encoding="utf-8")

    def emit(self, kind: str, **fields: Any) -> dict[str, Any]:
        event = {"t": round(time.time(), 3), "kind": kind, **fields}
        if self._fh is not None:
            self._fh.write(json.dumps(event, default=str) + "\n")
            self._fh.flush()
        return event

    def close(self) -> None:
        if self._fh is not None:
            self._fh.flush()
            os.fsync(self._fh.fileno())
            self._fh.close()
            self._fh = None


def read_events(path: Path) -> Iterator[dict[str, Any]]:
    """Every complete event in the file (a torn or garbled line is skipped)."""
    if not path.exists():
        return
    with path.open("r", encoding="utf-8", errors="replace") as fh:
        for line in fh:
            if not line.endswith("\n"):
                break
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if isinstance(event, dict):
                yield event


@dataclass
class EventFollower:
    """Reads new complete events from a file another process appends to (``tail -f``)."""

    path: Path
    offset: int = 0
    _partial: bytes = field(default=b"", repr=False)

    def poll(self) -> list[dict[str, Any]]:
        try:
            with self.path.open("rb") as fh:
                fh.seek(self.offset)
                chunk = fh.read()
        except FileNotFoundError:
            return []
        self.offset += len(chunk)
        lines = (self._partial + chunk).split(b"\n")
        self._partial = lines.pop()
        return decode_lines(lines)


def decode_lines(lines: Iterable[bytes | str]) -> list[dict[str, Any]]:
    """The events among complete JSON lines (garbled lines and non-objects are skipped)."""
    out: list[dict[str, Any]] = []
    for line in lines:
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if isinstance(event, dict):
            out.append(event)
    return out
