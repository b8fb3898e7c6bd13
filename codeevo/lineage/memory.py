"""MemoryLineageStore: the lineage seam's in-memory double (tests, tools, dry runs).

Keeps the same contract as GitLineageStore (see ``base.LineageStore``): parents must be
recorded first, re-recording the same content is a no-op returning the same sha, other
content under a recorded id is an error, unknown ids raise LineageError. Its "commits" are
sha1 digests of the candidate, its program, its files and its parents' digests, so equal
lineages get equal hashes; they are not git objects.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from typing import Any

from codeevo.candidate import Candidate
from codeevo.lineage.lock import LineageError


class MemoryLineageStore:
    """Candidates, programs and files in dicts; nothing touches the disk."""

    def __init__(self) -> None:
        self._records: dict[str, dict[str, Any]] = {}
        self._programs: dict[str, str] = {}
        self._files: dict[str, dict[str, str]] = {}
        self._commits: dict[str, str] = {}
        self.closed = False

    def record(
        self,
        candidate: Candidate,
        program: str,
        files: dict[str, str] | None = None,
        message: str | None = None,
    ) -> str:
        missing = [p for p in candidate.parents if p not in self._commits]
        if missing:
            raise LineageError(f"{candidate.id}: parent(s) not recorded yet: {', '.join(missing)}")
        record = candidate.model_dump(mode="json")
        files = dict(files or {})
        body = json.dumps([record, program, sorted(files.items()),
                           [self._commits[p] for p in candidate.parents]], sort_keys=True)
        sha = hashlib.sha1(body.encode("utf-8", "surrogateescape")).hexdigest()
        known = self._commits.get(candidate.id)
        if known is not None:
            if known != sha:
                raise LineageError(f"{candidate.id} is already recorded with other content")
            return sha
        self._records[candidate.id] = record
        self._programs[candidate.id] = program
        self._files[candidate.id] = files
        self._commits[candidate.id] = sha
        return sha

    def records(self) -> list[tuple[dict[str, Any], str]]:
        found = sorted(self._records.values(), key=lambda r: (r["seq"], r["id"]))
        return [(json.loads(json.dumps(r)), self._commits[r["id"]]) for r in found]

    def candidates(self) -> Iterator[Candidate]:
        for record, _ in self.records():
            yield Candidate.model_validate(record)

    def candidate(self, candidate_id: str) -> Candidate:
        return Candidate.model_validate(self._records[self._known(candidate_id)])

    def program(self, candidate_id: str) -> str:
        return self._programs[self._known(candidate_id)]

    def programs(self, candidate_ids: list[str]) -> dict[str, str]:
        return {cid: self.program(cid) for cid in candidate_ids}

    def files(self, candidate_id: str) -> dict[str, str]:
        return dict(self._files[self._known(candidate_id)])

    def commit_of(self, candidate_id: str) -> str:
        return self._commits[self._known(candidate_id)]

    def close(self) -> None:
        self.closed = True

    def _known(self, candidate_id: str) -> str:
        if candidate_id not in self._commits:
            raise LineageError(f"no candidate {candidate_id!r} in this lineage")
        return candidate_id
