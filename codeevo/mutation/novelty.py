"""Novelty screening: reject a child too similar to what its island already has, before it
costs a sandbox run (stage "novelty"; runs after the exact-duplicate check of `screen.py`).

The child's evolvable text is embedded (codeevo.mutation.embedding) and compared by cosine
similarity with the island's archive and its `recent` last evaluated candidates. At or above
`novelty.threshold` (default 0.999 with the offline embedding, 0.99 with an embedding model)
the child is rejected, or, with `novelty.judge`, an LLM is shown the child and its nearest
neighbour and decides. Vectors are stored in the run's ``embeddings.jsonl``.
"""

from __future__ import annotations

import logging
import random
import re
from collections import deque
from dataclasses import dataclass, field, replace

import numpy as np

from codeevo.candidate import Candidate, Status
from codeevo.config import NoveltyConfig
from codeevo.llm.base import LLMCallError, LLMClient, Message
from codeevo.mutation.embedding import (
    Embedder,
    EmbeddingError,
    EmbeddingStore,
    OfflineEmbedder,
    Vector,
    evolvable_text,
)

log = logging.getLogger(__name__)

JUDGE_SYSTEM = ("You screen candidate programs of an evolutionary code search. Evaluating a "
                "program is expensive; a candidate that only rewords, reformats or trivially "
                "perturbs an existing program is not worth it. Answer with one line: "
                "'NOVEL: <why>' or 'NOT NOVEL: <why>'.")
JUDGE_USER = """# Existing program ({nearest})
```python
{old}
```

# New candidate
```python
{new}
```

By code overlap the two are {similarity:.1%} alike. Is the new candidate a meaningfully
different idea, worth evaluating?"""
_VERDICT = re.compile(r"\b(NOT\s+NOVEL|NOVEL)\b", re.IGNORECASE)


@dataclass(frozen=True)
class NoveltyVerdict:
    """`ok` False means rejected (stage "novelty"). `exchange` holds a judge's transcript."""

    ok: bool
    similarity: float = 0.0
    nearest: str | None = None
    reason: str | None = None
    judged: bool = False
    exchange: dict[str, str] = field(default_factory=dict)
    tokens_in: int = 0
    tokens_out: int = 0
    cost: float = 0.0
    model: str | None = None


class NoveltyJudge:
    """Asks one model of the run's ensemble whether a too-similar child is still novel."""

    def __init__(self, client: LLMClient, model: str | None = None) -> None:
        self.client = client
        self.model = model

    async def decide(self, new: str, old: str, nearest: str, similarity: float,
                     rng: random.Random) -> NoveltyVerdict:
        messages = [Message(role="system", content=JUDGE_SYSTEM),
                    Message(role="user", content=JUDGE_USER.format(
                        nearest=nearest, old=old.rstrip(), new=new.rstrip(),
                        similarity=similarity))]
        prompt = "\n\n".join(f"## {m['role']}\n\n{m['content']}" for m in messages) + "\n"
        try:
            reply = await self.client.complete(messages, rng, model=self.model)
        except LLMCallError as exc:  # no verdict: let the child through rather than lose it
            return NoveltyVerdict(True, similarity, nearest, judged=True, model=exc.model,
                                  exchange={"novelty-prompt.md": prompt,
                                            "novelty-error.md": exc.reason + "\n"})
        found = _VERDICT.search(reply.text)
        novel = found is not None and not found.group(1).upper().startswith("NOT")
        line = reply.text.strip().splitlines()[0][:300] if reply.text.strip() else ""
        reason = None if novel else (f"judged not novel by {reply.model} (similarity "
                                     f"{similarity:.3f} to {nearest}): {line}")
        return NoveltyVerdict(novel, similarity, nearest, reason, True,
                              {"novelty-prompt.md": prompt, "novelty-response.md": reply.text},
                              reply.tokens_in, reply.tokens_out, reply.cost, reply.model)


class NoveltyScreen:
    """The run's novelty screen: vectors by candidate, recent candidates per island, totals."""

    def __init__(self, config: NoveltyConfig, embedder: Embedder, store: EmbeddingStore,
                 judge: NoveltyJudge | None = None) -> None:
        self.config = config
        self.embedder = embedder
        self.store = store
        self.judge = judge
        self.vectors: dict[str, Vector] = {}
        self.recent: dict[int, deque[str]] = {}
        self.checked = 0
        self.rejected = 0
        self.judged = 0
        self._eval_seconds = 0.0
        self._evaluated = 0
        self.fallback: str | None = None  # why the configured embedder was replaced
        self.threshold = config.effective_threshold(isinstance(embedder, OfflineEmbedder))
        self._spent: tuple[int, float] = (0, 0.0)  # embedding tokens and dollars of a check
        self._archived: set[str] = set()  # archive members at the last check: never evicted

    # -- vectors
    async def _vectors(self, items: list[tuple[str, str]]) -> list[Vector] | None:
        """Vectors for (program hash, program) pairs: from the store, else embedded now."""
        out: list[Vector | None] = [self.store.get(self.embedder.name, h) for h, _ in items]
        missing = [i for i, v in enumerate(out) if v is None]
        if missing:
            try:
                done = await self.embedder.embed([evolvable_text(items[i][1]) for i in missing])
            except EmbeddingError as exc:
                # One failure (no key, no network, a bad name): the rest of the run uses the
                # offline embedding, a vector space of its own, rather than stop screening.
                log.warning("novelty: %s; using the offline embedding from now on", exc)
                self.fallback = f"{self.embedder.name} failed ({exc}); offline embedding used"
                self.embedder = OfflineEmbedder()
                self.threshold = self.config.effective_threshold(True)
                self.vectors.clear()
                return None
            for i, vec in zip(missing, done.vectors, strict=True):
                self.store.put(self.embedder.name, items[i][0], vec)
                out[i] = vec
            self._spent = (self._spent[0] + done.tokens, self._spent[1] + done.cost)
        return [v for v in out if v is not None]

    def restore(self, cand: Candidate) -> None:
        """Feed a candidate recorded earlier (resume): its stored vector, no recomputation."""
        vec = self.store.get(self.embedder.name, cand.program_hash) if cand.program_hash \
            else None
        self._remember(cand, vec)

    def recorded(self, cand: Candidate, seconds: float) -> None:
        """Feed a candidate just recorded (its vector was stored when it was screened)."""
        if cand.status != Status.REJECTED and cand.operator not in ("seed", "baseline"):
            self._eval_seconds += seconds
            self._evaluated += 1
        self.restore(cand)

    def _remember(self, cand: Candidate, vec: Vector | None) -> None:
        if cand.status == Status.REJECTED:
            return
        if vec is not None:
            self.vectors[cand.id] = vec
        if self.config.recent > 0 and cand.operator not in ("seed", "baseline"):
            ring = self.recent.setdefault(cand.island, deque(maxlen=self.config.recent))
            if len(ring) == ring.maxlen:
                old = ring[0]
                if old not in self._archived:
                    self.vectors.pop(old, None)
            ring.append(cand.id)

    # -- the check
    async def check(self, island: int, program: str, digest: str,
                    archive: dict[str, tuple[str, str]], rng: random.Random) -> NoveltyVerdict:
        """Screen `program` (hash `digest`) against `archive` (id -> (hash, program)) of its
        island and the island's recent candidates."""
        self.checked += 1
        self._spent = (0, 0.0)
        verdict = await self._check(island, program, digest, archive, rng)
        tokens, cost = self._spent
        if tokens or cost:  # what embedding it cost goes on the candidate's bill
            verdict = replace(verdict, tokens_in=verdict.tokens_in + tokens,
                              cost=verdict.cost + cost)
        return verdict

    async def _check(self, island: int, program: str, digest: str,
                     archive: dict[str, tuple[str, str]], rng: random.Random
                     ) -> NoveltyVerdict:
        self._archived = set(archive)
        need = [(cid, h, p) for cid, (h, p) in archive.items() if cid not in self.vectors]
        if need:
            vecs = await self._vectors([(h, p) for _, h, p in need])
            if vecs is None:  # the embedder was just replaced: start over in the new space
                return await self._check(island, program, digest, archive, rng)
            for (cid, _, _), vec in zip(need, vecs, strict=True):
                self.vectors[cid] = vec
        got = await self._vectors([(digest, program)])
        if got is None:
            return await self._check(island, program, digest, archive, rng)
        child = got[0]
        ids = list(dict.fromkeys([*archive, *self.recent.get(island, ())]))
        ids = [i for i in ids if i in self.vectors]
        if not ids:
            return NoveltyVerdict(True)
        sims = np.stack([self.vectors[i] for i in ids]) @ child
        best = int(np.argmax(sims))
        similarity, nearest = float(sims[best]), ids[best]
        if similarity < self.threshold:
            return NoveltyVerdict(True, similarity, nearest)
        if self.judge is not None and nearest in archive:
            self.judged += 1
            verdict = await self.judge.decide(evolvable_text(program),
                                              evolvable_text(archive[nearest][1]), nearest,
                                              similarity, rng)
            if not verdict.ok:
                self.rejected += 1
            return verdict
        self.rejected += 1
        return NoveltyVerdict(False, similarity, nearest,
                              f"too similar to {nearest}: similarity {similarity:.4f} >= "
                              f"threshold {self.threshold:g}")

    def summary(self) -> dict[str, float | int]:
        """Counts and the sandbox seconds saved (rejections x the mean evaluation time)."""
        mean = self._eval_seconds / self._evaluated if self._evaluated else 0.0
        return {"checked": self.checked, "rejected": self.rejected, "judged": self.judged,
                "saved_evaluations": self.rejected,
                "saved_seconds": round(self.rejected * mean, 3),
                "mean_eval_seconds": round(mean, 4)}
