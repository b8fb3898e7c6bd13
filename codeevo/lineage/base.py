"""The lineage seam: record candidates, read them back.

GitLineageStore (``store.py``) is the real one; MemoryLineageStore (``memory.py``) is the
in-memory double for tests and tools. The Protocol declares everything the engine, the read
model (``index.py``), the CLI and the TUI use, so none of them needs to know which one it has.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Protocol, runtime_checkable

from codeevo.candidate import Candidate


@runtime_checkable
class LineageStore(Protocol):
    """One writer appends candidates; any number of readers read them in `seq` order.

    Unknown ids raise ``LineageError`` (``codeevo.lineage.lock``).
    """

    def record(
        self,
        candidate: Candidate,
        program: str,
        files: dict[str, str] | None = None,
        message: str | None = None,
    ) -> str:
        """Write the candidate (program, candidate.json, extra files such as exchange/...,
        artifacts/...) as one commit whose parents are its parents' commits; return its sha.
        The candidate counts as recorded once this returns. Recording the same candidate
        again with the same content returns the same sha; a parent not recorded yet, or other
        content under a recorded id, is a LineageError."""
        ...

    def records(self) -> list[tuple[dict[str, Any], str]]:
        """(candidate.json as a dict, commit sha) for every candidate, in seq order; re-read
        on each call, so a reader sees candidates recorded since. The fast path: no
        validation (the read model builds its rows from these)."""
        ...

    def candidates(self) -> Iterator[Candidate]:
        """Every recorded candidate, validated, in seq order."""
        ...

    def candidate(self, candidate_id: str) -> Candidate:
        """One recorded candidate, validated; finds one recorded after this reader opened."""
        ...

    def program(self, candidate_id: str) -> str: ...

    def programs(self, candidate_ids: list[str]) -> dict[str, str]:
        """Many programs in one go (exports read every candidate's)."""
        ...

    def files(self, candidate_id: str) -> dict[str, str]:
        """The extra files (exchange/..., artifacts/...) of a candidate's commit."""
        ...

    def commit_of(self, candidate_id: str) -> str: ...

    def close(self) -> None: ...
