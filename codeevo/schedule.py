"""The order in which a run started and recorded its candidates, so a replay can follow it.

With several candidates in flight, what a candidate's prompt holds (its parents, inspirations,
the archive it was drawn from) depends on which candidates had been recorded when it started.
So every candidate started by the engine carries a stamp in its `candidate.json` (`extra.sched`):

- `epoch`: how the run's RNG was seeded for its session (None: `Random(seed)`, a fresh run;
  N: `Random(f"{seed}:{N}")`, a session resumed with N candidates recorded);
- `start`: its place in the session's order of starts;
- `after`: how many candidates had been recorded when it started.

and the keys of the LLM exchanges it used (`extra.llm_keys`). A replay (`codeevo replay`)
starts each candidate once exactly `after` candidates are recorded, records candidates in their
recorded order, and answers each candidate's requests with its own recorded exchanges: the same
RNG draws on the same archives give the same prompts, so the lineage is reproduced whatever the
concurrency of the recorded run. Candidates cancelled by a stop were never recorded; they were
the last of their session, so nothing after them depends on their draws.
"""

from __future__ import annotations

import contextvars
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from codeevo.candidate import Candidate
from codeevo.mutation.screen import Screening


@dataclass(frozen=True)
class Stamp:
    epoch: int | None
    start: int
    after: int

    def as_json(self) -> dict[str, Any]:
        return {"epoch": self.epoch, "start": self.start, "after": self.after}

    @classmethod
    def from_json(cls, data: Any) -> Stamp | None:
        if not isinstance(data, dict):
            return None
        try:
            epoch = data.get("epoch")
            return cls(None if epoch is None else int(epoch), int(data["start"]),
                       int(data["after"]))
        except (KeyError, TypeError, ValueError):
            return None


@dataclass(frozen=True)
class Planned:
    """One recorded candidate as a replay must redo it."""

    seq: int
    stamp: Stamp
    llm_keys: tuple[str, ...] = ()
    duplicate: bool = False  # screened out as a duplicate when recorded


@dataclass(frozen=True)
class Session:
    epoch: int | None
    starts: tuple[Planned, ...]  # in start order


@dataclass
class ReplayPlan:
    """The recorded run's sessions, each with its candidates in start order."""

    sessions: list[Session]
    candidates: int  # every recorded candidate, founders (seed, baselines) included
    exact: bool  # False: a run recorded before stamps existed; replayed one at a time

    @classmethod
    def from_candidates(cls, candidates: Iterable[Candidate]) -> ReplayPlan:
        cands = sorted(candidates, key=lambda c: c.seq)
        planned: list[Planned] = []
        exact = True
        for cand in cands:
            if cand.operator in ("seed", "baseline"):
                continue
            stamp = Stamp.from_json(cand.extra.get("sched"))
            if stamp is None:  # an older run: as if it ran with max_in_flight 1
                exact = False
                stamp = Stamp(None, cand.seq, cand.seq)
            keys = cand.extra.get("llm_keys") or []
            planned.append(Planned(cand.seq, stamp, tuple(str(k) for k in keys),
                                   cand.stage == "duplicate"))
        sessions: list[Session] = []
        for p in planned:  # sessions appear in seq order; starts sorted within each
            if not sessions or sessions[-1].epoch != p.stamp.epoch:
                sessions.append(Session(p.stamp.epoch, ()))
            sessions[-1] = Session(sessions[-1].epoch, (*sessions[-1].starts, p))
        sessions = [Session(s.epoch, tuple(sorted(s.starts, key=lambda p: p.stamp.start)))
                    for s in sessions]
        return cls(sessions, len(cands), exact)


@dataclass
class ExchangeTrail:
    """The LLM exchange keys one candidate's requests used; in a replay, the recorded keys
    its requests must use, in order."""

    keys: list[str] = field(default_factory=list)
    replay: deque[str] | None = None

    def next_replay_key(self) -> str | None:
        return self.replay.popleft() if self.replay else None


# Set by the engine around each candidate's proposal; read by the LLM client.
EXCHANGE_TRAIL: contextvars.ContextVar[ExchangeTrail | None] = contextvars.ContextVar(
    "codeevo_exchange_trail", default=None)


def as_recorded(verdict: Screening, planned: Planned) -> Screening:
    """A replay's screening verdict: which of several equal programs in flight counted as the
    duplicate depended on timing, so the recording decides."""
    if verdict.stage == "duplicate" and not planned.duplicate:
        return Screening(True, None, None, verdict.program_hash)
    if verdict.ok and planned.duplicate:
        return Screening(False, "duplicate", "exact duplicate of a program in flight "
                         f"({verdict.program_hash[:12]}), as recorded", verdict.program_hash)
    return verdict
