"""The held-out suite: zoos a search never sees, scored by `codeevo report --heldout`.

A declarative list of `SuiteEntry` (zoo family, backbone shape, fine-tuning recipe, seeds,
tasks); each seed of an entry is one zoo. New zoo families are appended to `SUITES` as further
entries. The suite is disjoint from every search split: its seeds are >= 100 and none of its
tasks is in the task pool the presets' search splits draw from (``check_disjoint`` enforces it
for the configured search split, tests pin it for the presets).

Task families (transforms of digits' 8x8 images, label maps from ``tasks.py``):

- geometric: rotations, flips, transposes, shifts, quadrant swaps;
- photometric: inversion, blur, Gaussian noise, contrast;
- permutation: fixed pixel permutations (never seen in pre-training's augmentation);
- mixed: a zoo holding tasks of all three kinds.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

TASK_FAMILIES: dict[str, tuple[str, ...]] = {
    "geometric": (
        "rot270:shift3", "flipv:mod3", "rot90+flipv:parity", "transpose+fliph:mod4",
        "rot180+shiftE:identity", "quadswap:reverse", "fliph+shiftN:threshold",
        "rot270+transpose:loops",
    ),
    "photometric": (
        "noise30:identity", "contrast:reverse", "invert+blur:parity", "noise15+contrast:mod3",
        "blur+contrast:shift3", "invert+noise10:mod4", "contrast+shiftW:loops",
        "invert+shiftS:threshold",
    ),
    "permutation": (
        "perm5:identity", "perm7:parity", "perm11:threshold", "perm13:reverse", "perm17:mod4",
        "perm19:loops", "perm23:shift3", "perm29:mod3",
    ),
    "mixed": (
        "rot90+invert:reverse", "perm31:identity", "blur+fliph:mod3",
        "noise25+rot180:threshold", "transpose+contrast:parity", "perm37+invert:mod4",
        "shiftN+flipv:identity", "quadswap+blur:loops",
    ),
}

SGD = {"optimizer": "sgd", "steps": 300, "lr": 0.02, "batch": 128}
ADAM = {"optimizer": "adam", "steps": 300, "lr": 1e-3, "batch": 128}


@dataclass(frozen=True)
class SuiteEntry:
    """Zoos of one kind: one zoo per seed, each with every task of `tasks`."""

    family: str  # the zoo family (model kind): "mlp" = the digits MLP of zoo.py
    backbone: Mapping[str, Any]  # the family's shape settings (mlp: width, depth)
    recipe: Mapping[str, Any]  # fine-tuning recipe (optimizer, steps, lr, batch)
    seeds: tuple[int, ...]
    tasks: tuple[str, ...]
    task_family: str = "mixed"
    extra: Mapping[str, Any] = field(default_factory=dict)  # family-specific settings

    def label(self, seed: int) -> str:
        shape = "x".join(str(v) for v in self.backbone.values())
        return f"{self.family}:{shape}/{self.recipe.get('optimizer', '?')}/{self.task_family}" \
               f"/s{seed}"


def _entry(shape: tuple[int, int], recipe: dict[str, Any], seed: int, family: str,
           k: int = 8) -> SuiteEntry:
    width, depth = shape
    return SuiteEntry("mlp", {"width": width, "depth": depth}, recipe, (seed,),
                      TASK_FAMILIES[family][:k], family)


SEARCH_SHAPE, DEEP_SHAPE = (256, 2), (384, 3)

# Ten zoos: four task families, two backbone shapes, SGD and Adam fine-tuning, seeds 100-109.
DEFAULT_SUITE: list[SuiteEntry] = [
    _entry(SEARCH_SHAPE, SGD, 100, "geometric"),
    _entry(SEARCH_SHAPE, SGD, 101, "photometric"),
    _entry(SEARCH_SHAPE, SGD, 102, "permutation"),
    _entry(SEARCH_SHAPE, ADAM, 103, "mixed"),
    _entry(SEARCH_SHAPE, ADAM, 104, "geometric"),
    _entry(DEEP_SHAPE, SGD, 105, "photometric"),
    _entry(DEEP_SHAPE, ADAM, 106, "permutation"),
    _entry(DEEP_SHAPE, SGD, 107, "mixed"),
    _entry(DEEP_SHAPE, ADAM, 108, "geometric"),
    _entry(SEARCH_SHAPE, SGD, 109, "mixed", k=6),
]


def _reshaped(entry: SuiteEntry, shapes: dict[tuple[int, int], tuple[int, int]]) -> SuiteEntry:
    width, depth = shapes[(entry.backbone["width"], entry.backbone["depth"])]
    return replace(entry, backbone={"width": width, "depth": depth})


# The gpu-large preset's suite: the same zoos on its wider, deeper backbones.
SUITES: dict[str, list[SuiteEntry]] = {
    "default": DEFAULT_SUITE,
    "gpu-large": [_reshaped(e, {SEARCH_SHAPE: (1024, 3), DEEP_SHAPE: (1536, 4)})
                  for e in DEFAULT_SUITE],
}


def check_disjoint(search: list[tuple[int, tuple[str, ...]]],
                   heldout: list[tuple[int, tuple[str, ...]]]) -> None:
    """Raise ValueError when a held-out zoo shares a seed or a task with a search zoo.

    Each argument lists (seed, tasks) per zoo."""
    seeds = {s for s, _ in search} & {s for s, _ in heldout}
    if seeds:
        raise ValueError(f"evaluator.config.heldout: seeds {sorted(seeds)} are also search "
                         "seeds; the held-out split must be disjoint from the search split")
    tasks = {t for _, ts in search for t in ts} & {t for _, ts in heldout for t in ts}
    if tasks:
        raise ValueError(f"evaluator.config.heldout: tasks {sorted(tasks)} are also search "
                         "tasks; the held-out split must be disjoint from the search split")
