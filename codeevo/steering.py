"""What steers the search besides selection, each part optional: novelty screening
(codeevo.mutation.novelty), the cost-aware (model, operator) bandit (codeevo.mutation.bandit)
and the insight memory (codeevo.insights). The engine calls the hooks below at fixed points
and emits the events they return; `make_steering` builds the parts a run's config asks for
("auto": novelty and insights on when LLM operators propose, the bandit when the ensemble has
two or more models).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from codeevo.candidate import Candidate
from codeevo.config import RunConfig
from codeevo.insights import InsightMemory, InsightStore
from codeevo.lineage.base import LineageStore
from codeevo.llm.base import LLMClient
from codeevo.mutation.bandit import OperatorBandit
from codeevo.mutation.embedding import (
    Embedder,
    EmbeddingStore,
    LiteLLMEmbedder,
    OfflineEmbedder,
    StoredOnlyEmbedder,
)
from codeevo.mutation.novelty import NoveltyJudge, NoveltyScreen, NoveltyVerdict
from codeevo.mutation.registry import OFFLINE

Event = tuple[str, dict[str, Any]]
EMBEDDINGS_FILE = "embeddings.jsonl"


@dataclass
class Steering:
    novelty: NoveltyScreen | None = None
    bandit: OperatorBandit | None = None
    insights: InsightMemory | None = None
    _warned: bool = False

    # -- choosing
    def choose(self, rng: random.Random, two_parent_ops: set[str]) -> tuple[str, str | None]:
        """(operator, model) from the bandit; `two_parent_ops` are excluded (no 2nd parent)."""
        assert self.bandit is not None
        model, op = self.bandit.choose(rng, exclude_operators=two_parent_ops)
        return op, model

    def ready(self) -> bool:
        """False while an insight summary is due or being written (new starts wait)."""
        return self.insights is None or self.insights.ready

    def insights_text(self) -> str:
        return self.insights.prompt_text() if self.insights is not None else ""

    # -- screening
    async def screen(self, island: int, program: str, digest: str,
                     archive: dict[str, tuple[str, str]], rng: random.Random
                     ) -> NoveltyVerdict | None:
        if self.novelty is None:
            return None
        return await self.novelty.check(island, program, digest, archive, rng)

    # -- learning
    def recorded(self, cand: Candidate, evaluations: int) -> list[Event]:
        events: list[Event] = []
        if self.novelty is not None:
            self.novelty.recorded(cand, float(cand.timings.get("eval", 0.0)))
            if self.novelty.fallback and not self._warned:
                self._warned = True
                events.append(("warning", {"message": f"novelty: {self.novelty.fallback}"}))
        if self.bandit is not None and self.bandit.observe(cand):
            events.append(("bandit", self.bandit.report()))
        if self.insights is not None:
            self.insights.observe(cand, evaluations)
        return events

    def restored(self, cand: Candidate, evaluations: int) -> None:
        if self.novelty is not None:
            self.novelty.restore(cand)
        if self.bandit is not None:
            self.bandit.observe(cand)
        if self.insights is not None:
            self.insights.observe(cand, evaluations)

    async def after_record(self, evaluations: int) -> list[Event]:
        if self.insights is None or not self.insights.due(evaluations):
            return []
        insight = await self.insights.summarise(evaluations)
        if insight is None:
            return []
        return [("insights", {"version": insight.version, "evaluations": insight.evaluations,
                              "source": insight.source, "chars": len(insight.text),
                              "text": insight.text})]

    def started(self) -> list[Event]:
        """Events at the start of a (resumed) run: the bandit's rebuilt state."""
        if self.bandit is not None and self.bandit.proposals:
            return [("bandit", self.bandit.report())]
        return []

    def summary(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.novelty is not None:
            out["novelty"] = self.novelty.summary()
        if self.bandit is not None:
            out["bandit"] = self.bandit.report()
        if self.insights is not None and self.insights.current is not None:
            out["insights_version"] = self.insights.current.version
        return out


def _on(setting: bool | str, auto: bool) -> bool:
    return auto if setting == "auto" else bool(setting)


def make_steering(config: RunConfig, mix: dict[str, float], client: LLMClient | None,
                  run_path: Path | None, lineage: LineageStore, task: str = ""
                  ) -> tuple[Steering, list[str]]:
    """The parts the config asks for, and one notice line per part that is on."""
    notices: list[str] = []
    llm = bool(config.llm.models) and client is not None
    models: list[str | None] = [m.name for m in config.llm.models] if llm else [None]
    steering = Steering()
    nov = config.novelty
    if _on(nov.enabled, llm):
        embedder: Embedder = OfflineEmbedder()
        if nov.embedding_model and config.llm.cache == "replay":
            embedder = StoredOnlyEmbedder(nov.embedding_model)
        elif nov.embedding_model:
            embedder = LiteLLMEmbedder(nov.embedding_model, nov.api_base, nov.api_key_env,
                                       timeout=config.llm.timeout)
        # a replay (llm.cache_dir: the recording's llm/) reads the recording's vectors too
        reads = (Path(config.llm.cache_dir).parent / EMBEDDINGS_FILE,) \
            if config.llm.cache_dir else ()
        store = EmbeddingStore(run_path / EMBEDDINGS_FILE if run_path else None, reads)
        judge = None
        if nov.judge and llm and client is not None:
            judge = NoveltyJudge(client, nov.judge_model)
        screen = NoveltyScreen(nov, embedder, store, judge)
        steering.novelty = screen
        how = f"{'an LLM judge decides' if judge else 'rejected'} at similarity >= " \
              f"{screen.threshold:g}"
        notices.append(f"novelty screening: on ({embedder.name} embedding; {how})")
        if nov.judge and judge is None:
            notices.append("novelty.judge needs llm.models: too-similar children are rejected")
    bc = config.bandit
    ops = [k for k, w in mix.items() if w > 0]
    if _on(bc.enabled, len(models) >= 2) and ops:
        steering.bandit = OperatorBandit(bc, models, ops, modelless=OFFLINE)
        notices.append(f"bandit: {bc.kind} over {len(steering.bandit.arms)} (model, operator) "
                       f"arms, cost weight {bc.cost_weight:g} (replaces the fixed weights)")
    ic = config.insights
    if _on(ic.enabled, llm):
        store_path = run_path / "lineage.git" if run_path is not None else None
        memory = InsightMemory(ic, lineage, InsightStore(store_path) if store_path else None,
                               client if llm else None,
                               ic.model or (config.llm.models[0].name if llm else None),
                               task, config.seed)
        steering.insights = memory
        how = f"summarised by {memory.model}" if memory.client else "deterministic digest"
        notices.append(f"insights: every {ic.interval} evaluations ({how}), in prompts as "
                       "$insights; `codeevo insights RUN` shows them")
    return steering, notices

