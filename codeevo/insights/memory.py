"""The insight memory of a run (meta-prompting): every `insights.interval` evaluations it
distils the candidates recorded since the last version into a few lessons.

- offline (no model, or ``use_llm: false``): a deterministic digest: the changes that raised
  the score most (as small diffs against the parent) and the most frequent failures;
- with a model: the digest and the previous insights go to the model, which answers with at
  most `max_items` short lessons (on a failed request the digest is used).

Each version is written to the lineage (codeevo.insights.store) and its text is offered to
prompts as ``$insights``. On resume the latest version is read back and the candidates since
it are replayed into the window, so nothing is lost.
"""

from __future__ import annotations

import difflib
import random
import re
from collections import Counter
from dataclasses import dataclass

from codeevo.candidate import Candidate, Status
from codeevo.config import InsightsConfig
from codeevo.insights.store import Insight, InsightStore
from codeevo.lineage.base import LineageStore
from codeevo.llm.base import LLMCallError, LLMClient, Message
from codeevo.mutation.embedding import evolvable_text

SYSTEM = ("You distil lessons from an automated, evolutionary search over programs. Each "
          "lesson must be concrete and actionable for someone writing the next change: which "
          "kinds of edits raised the score, which failed and why. No preamble.")
USER = """# The task
{task}

# Earlier insights
{previous}

# What happened in the last {count} candidates
{digest}

Write at most {items} lessons, one per line, each starting with "- ". Keep what still holds
from the earlier insights, drop what the new results contradict."""

_DIFF_LINES = 12
_TOP = 3
_WS = re.compile(r"\s+")
FOUNDERS = ("seed", "baseline")


@dataclass(frozen=True)
class _Seen:
    seq: int
    id: str
    parent: str | None
    operator: str
    model: str | None
    status: str
    stage: str | None
    reason: str | None
    gain: float | None  # score - parent's score, for an ok child of an ok parent
    score: float | None


class InsightMemory:
    """Observes recorded candidates; writes a new insight version when one is due."""

    def __init__(self, config: InsightsConfig, lineage: LineageStore,
                 store: InsightStore | None, client: LLMClient | None = None,
                 model: str | None = None, task: str = "", seed: int = 0) -> None:
        self.config = config
        self.lineage = lineage
        self.store = store
        self.client = client if config.use_llm else None
        self.model = model
        self.task = task.strip()
        self.seed = seed
        self.current: Insight | None = store.latest() if store is not None else None
        self._window: list[_Seen] = []
        self._scores: dict[str, float | None] = {}
        self._best: tuple[float, str] | None = None
        self._busy = False
        self._pending = False  # a summary is due: new candidates wait for it
        last = self.current.evaluations if self.current else 0
        self.next_at = last + config.interval

    # -- observing
    def observe(self, cand: Candidate, evaluations: int) -> None:
        """Take in one recorded candidate (live or replayed on resume, in seq order)."""
        self._scores[cand.id] = cand.score if cand.ok else None
        if cand.ok and cand.score is not None and (self._best is None or
                                                   cand.score > self._best[0]):
            self._best = (cand.score, cand.id)
        if cand.operator in FOUNDERS:
            return
        if self.current is not None and cand.seq <= self.current.last_seq:
            return  # already summarised in the stored version
        parent = cand.parents[0] if cand.parents else None
        pscore = self._scores.get(parent) if parent else None
        gain = cand.score - pscore if cand.ok and cand.score is not None and \
            pscore is not None else None
        self._window.append(_Seen(cand.seq, cand.id, parent, cand.operator, cand.model,
                                  cand.status.value, cand.stage, cand.reason, gain, cand.score))
        self._pending = evaluations >= self.next_at

    @property
    def ready(self) -> bool:
        """False from the record that makes a summary due until it is written."""
        return not (self._busy or self._pending)

    def due(self, evaluations: int) -> bool:
        return evaluations >= self.next_at and bool(self._window) and not self._busy

    def prompt_text(self) -> str:
        if self.current is None:
            return ""
        text = self.current.text.strip()
        return text[: self.config.max_chars]

    # -- summarising
    async def summarise(self, evaluations: int) -> Insight | None:
        """Write the next version (None when nothing new was seen or one is in progress)."""
        if self._busy or not self._window:
            return None
        self._busy = True
        try:
            window, self._window = self._window, []
            digest = self.digest(window)
            version = (self.current.version if self.current else 0) + 1
            text, source = digest, "digest"
            if self.client is not None:
                got = await self._ask(digest, len(window), version)
                if got is not None:
                    text, source = got
            insight = Insight(version, evaluations, source, text.rstrip() + "\n",
                              max(s.seq for s in window))
            if self.store is not None:
                self.store.write(insight)
            self.current = insight
            self.next_at = evaluations + self.config.interval
            return insight
        finally:
            self._busy = False
            self._pending = False

    async def _ask(self, digest: str, count: int, version: int) -> tuple[str, str] | None:
        assert self.client is not None
        previous = self.current.text.strip() if self.current else "(none yet)"
        messages = [Message(role="system", content=SYSTEM),
                    Message(role="user", content=USER.format(
                        task=self.task or "(see the programs)", previous=previous,
                        count=count, digest=digest, items=self.config.max_items))]
        rng = random.Random(f"{self.seed}:insights:{version}")
        try:
            reply = await self.client.complete(messages, rng, model=self.model)
        except LLMCallError:
            return None
        lines = [ln.rstrip() for ln in reply.text.strip().splitlines() if ln.strip()]
        bullets = [ln for ln in lines if ln.lstrip().startswith(("-", "*", "•"))] or lines
        text = "\n".join(bullets[: self.config.max_items])
        return (text, reply.model) if text else None

    def digest(self, window: list[_Seen]) -> str:
        """The deterministic digest of `window`: top gains as diffs, frequent failures."""
        out: list[str] = []
        gains = sorted((s for s in window if s.gain is not None and s.gain > 0),
                       key=lambda s: (-(s.gain or 0.0), s.seq))[:_TOP]
        if gains:
            out.append("What raised the score most:")
            for s in gains:
                who = s.operator + (f" by {s.model}" if s.model else "")
                out.append(f"- {s.gain:+.6g} ({who}; {s.id} from {s.parent}):")
                out += [f"    {line}" for line in self._diff(s)]
        else:
            out.append("No change beat its parent in this stretch.")
        fails = Counter(
            (s.status, s.stage or "-", _WS.sub(" ", (s.reason or "").strip())[:140])
            for s in window if s.status != Status.OK.value)
        if fails:
            out.append("What failed most often:")
            for (status, stage, reason), n in fails.most_common(_TOP):
                out.append(f"- {n}x {status} at {stage}" + (f": {reason}" if reason else ""))
        ok = [s for s in window if s.status == Status.OK.value]
        flat = sum(1 for s in ok if s.gain is not None and s.gain <= 0)
        out.append(f"{len(ok)} of {len(window)} candidates evaluated fine; {flat} of those did "
                   "not beat their parent.")
        if self._best is not None:
            out.append(f"Best so far: {self._best[0]:.6g} ({self._best[1]}).")
        return "\n".join(out)

    def _diff(self, s: _Seen) -> list[str]:
        try:
            old = evolvable_text(self.lineage.program(s.parent or "")).splitlines()
            new = evolvable_text(self.lineage.program(s.id)).splitlines()
        except Exception:  # a program not readable: the digest goes without its diff
            return []
        lines = [ln for ln in difflib.unified_diff(old, new, lineterm="", n=0)
                 if not ln.startswith(("---", "+++", "@@"))]
        if len(lines) > _DIFF_LINES:
            lines = lines[:_DIFF_LINES] + [f"... ({len(lines) - _DIFF_LINES} more lines)"]
        return [ln[:160] for ln in lines]
