"""The read model's rules: when a candidate counts as OK, as evaluated, and how candidates rank.

Every question of "is this candidate ok" or "which is best" in codeevo is answered here:
``Candidate.ok``, the MAP-Elites archives, the lineage index, the store's ``HEAD`` and every
view built on them import these two functions. No imports from the rest of codeevo, so the
value types can use them too.
"""

from __future__ import annotations

import math
from typing import Protocol

OK = "ok"  # Status.OK's value (a StrEnum compares equal to it)
REJECTED = "rejected"  # stopped before the sandbox: not an evaluation
INFRA = "infra"  # the evaluation infrastructure failed (node lost): not an evaluation either


class Ranked(Protocol):
    """Anything with a score, a recording order and an id (a Candidate, an index row)."""

    @property
    def score(self) -> float | None: ...

    @property
    def seq(self) -> int: ...

    @property
    def id(self) -> str: ...


def is_ok(status: str, score: float | None) -> bool:
    """Evaluated successfully: status ``ok`` and a score that is a number (NaN is not)."""
    return status == OK and score is not None and not math.isnan(score)


def is_evaluated(status: str) -> bool:
    """Was scored (counts against an evaluation budget): anything but ``rejected`` (stopped
    before the sandbox) and ``infra`` (the infrastructure failed, not the candidate)."""
    return status not in (REJECTED, INFRA)


def rank_key(item: Ranked) -> tuple[float, int, str]:
    """Sort key, best first: higher score, then the earlier candidate (it got there first).

    Only meaningful among OK candidates; a missing score ranks last.
    """
    score = item.score
    return (-score if score is not None else math.inf, item.seq, item.id)
