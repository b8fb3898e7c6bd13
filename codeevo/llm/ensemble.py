"""Weighted choice of a model with the run's seeded RNG, and giving up on failing models."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from codeevo.config import ModelConfig
from codeevo.llm.base import AllModelsFailedError


@dataclass
class ModelPool:
    """The ensemble's models, each with a count of consecutive failed requests.

    A model whose count reaches `failure_limit` is given up on (`dead`) and no longer chosen;
    a success resets the count. `choose` draws exactly one number from the RNG per call, so
    the run's random stream does not depend on which models are alive.
    """

    models: list[ModelConfig]
    failure_limit: int
    failures: dict[str, int] = field(default_factory=dict)
    dead: dict[str, str] = field(default_factory=dict)  # name → the last error

    def __post_init__(self) -> None:
        if not self.models:
            raise ValueError("an ensemble needs at least one model (llm.models is empty)")

    def alive(self) -> list[ModelConfig]:
        return [m for m in self.models if m.name not in self.dead]

    def choose(self, rng: random.Random, pinned: str | None = None) -> ModelConfig:
        """A live model, with probability proportional to its weight; or the model named by
        `pinned` while it is alive (else a weighted choice as usual)."""
        draw = rng.random()
        alive = self.alive()
        if not alive:
            raise AllModelsFailedError(self.dead_report())
        for m in alive:
            if m.name == pinned:
                return m
        total = sum(m.weight for m in alive)
        point = draw * total
        for m in alive:
            point -= m.weight
            if point < 0:
                return m
        return alive[-1]

    def succeeded(self, model: str) -> None:
        self.failures[model] = 0

    def failed(self, model: str, reason: str) -> bool:
        """Count a failed request; True when this failure made the model dead."""
        count = self.failures.get(model, 0) + 1
        self.failures[model] = count
        if count >= self.failure_limit and model not in self.dead:
            self.dead[model] = reason
            return True
        return False

    def dead_report(self) -> str:
        parts = [f"{name} (after {self.failures.get(name, 0)} consecutive failures; last: {why})"
                 for name, why in self.dead.items()]
        return "every LLM model was given up on: " + "; ".join(parts)
