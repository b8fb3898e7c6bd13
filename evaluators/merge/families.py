"""What every zoo spec offers, whatever its model family (host side).

A zoo spec is a frozen value that fully determines one zoo: the digits MLP zoos
(``zoo.ZooSpec``, family ``mlp``) and the transformer zoos (``transformer_zoo.TransformerZooSpec``,
family ``bert``). Suites of zoos (the search split, the held-out suite) may list specs of any
family; ``prepare.cached_zoo`` builds and caches each by its ``key()``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar, Protocol

import numpy as np


class ZooSpecLike(Protocol):
    family: ClassVar[str]
    seed: int
    tasks: tuple[str, ...]

    def key(self) -> dict[str, Any]:
        """JSON-able content that determines the zoo (its cache address hashes it)."""
        ...

    def model(self) -> dict[str, Any]:
        """The forward pass its weights need, for ``models.features``."""
        ...

    def build(self, out: Path) -> dict[str, Any]:
        """Train the zoo into folder `out` (zoo.npz + meta.json); return the meta."""
        ...

    def train_inputs(self, task: int) -> tuple[np.ndarray, np.ndarray]:
        """(inputs, sample ids) of task `task`'s training split: the only calibration source."""
        ...
