"""The lineage seam: record candidates, read them back. GitLineageStore is the real one."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol, runtime_checkable

from codeevo.candidate import Candidate


@runtime_checkable
class LineageStore(Protocol):
    """One writer appends candidates; any number of readers iterate them in `seq` order."""

    def record(
        self,
        candidate: Candidate,
        program: str,
        files: dict[str, str] | None = None,
        message: str | None = None,
    ) -> str:
        """Write the candidate (program, candidate.json, extra files such as exchange/...,
        artifacts/...) as one commit whose parents are its parents' commits; return its sha.
        The candidate counts as recorded once this returns (its ref exists)."""
        ...

    def candidates(self) -> Iterator[Candidate]:
        """Every recorded candidate, in seq order."""
        ...

    def program(self, candidate_id: str) -> str: ...

    def files(self, candidate_id: str) -> dict[str, str]:
        """The extra files (exchange/..., artifacts/...) of a candidate's commit."""
        ...

    def commit_of(self, candidate_id: str) -> str: ...

    def close(self) -> None: ...
