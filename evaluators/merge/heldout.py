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

The transformer zoos (family ``bert``, ``transformer_zoo.py``) have their own task families
(``SEQ_TASK_FAMILIES``: transforms of ``seq_tasks.py``'s sequences) and their own suite
(``SUITES["transformer"]``): positional (reversals, rolls, half swaps, interleaving), lexical
(token permutations, shifts, mirroring), noisy (token noise, alone or composed) and mixed; two
backbone shapes and SGD and Adam fine-tuning, as the digits suite.
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

# Sequence tasks (seq_tasks.py specs); none is in transformer_zoo.POOL, the search tasks' pool.
SEQ_TASK_FAMILIES: dict[str, tuple[str, ...]] = {
    "positional": (
        "roll3:mod4", "reverse:parity", "swap:threshold", "interleave:mod3",
        "roll5+reverse:identity", "swap+roll2:loops", "interleave+roll1:shift3", "roll9:reverse",
    ),
    "lexical": (
        "perm3:mod3", "perm4:threshold", "shift5:loops", "mirror+shift2:identity",
        "perm5+mirror:parity", "shift11:reverse", "perm6:mod4", "shift1+perm7:shift3",
    ),
    "noisy": (
        "noise15:identity", "noise25:threshold", "noise10+swap:mod4", "noise20+perm8:parity",
        "noise15+reverse:mod3", "noise25+roll4:loops", "noise10+shift6:reverse",
        "noise20+mirror:shift3",
    ),
    "mixed": (
        "reverse+perm9:mod4", "noise15+shift4:parity", "swap+mirror:mod3",
        "roll7+noise10:threshold", "interleave+perm10:identity", "shift9+roll3:reverse",
        "mirror+reverse:loops", "noise20+swap+shift2:shift3",
    ),
}

# The task families of each zoo family.
FAMILY_TASKS: dict[str, dict[str, tuple[str, ...]]] = {
    "mlp": TASK_FAMILIES, "bert": SEQ_TASK_FAMILIES,
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


SEQ_SHAPE = {"hidden": 128, "layers": 2, "intermediate": 256}  # the transformer search shape
SEQ_DEEP = {"hidden": 96, "layers": 3, "intermediate": 192}
SEQ_SGD = {"optimizer": "sgd", "steps": 400, "lr": 0.003, "batch": 32}  # the search recipe
SEQ_ADAM = {"optimizer": "adam", "steps": 400, "lr": 1e-3, "batch": 32}


def _seq(shape: dict[str, int], recipe: dict[str, Any], seed: int, family: str) -> SuiteEntry:
    return SuiteEntry("bert", shape, recipe, (seed,), SEQ_TASK_FAMILIES[family], family)


# Eight transformer zoos: four task families, two backbone shapes, SGD and Adam, seeds 100-107.
TRANSFORMER_SUITE: list[SuiteEntry] = [
    _seq(SEQ_SHAPE, SEQ_SGD, 100, "positional"),
    _seq(SEQ_SHAPE, SEQ_SGD, 101, "lexical"),
    _seq(SEQ_SHAPE, SEQ_ADAM, 102, "noisy"),
    _seq(SEQ_SHAPE, SEQ_ADAM, 103, "mixed"),
    _seq(SEQ_DEEP, SEQ_SGD, 104, "noisy"),
    _seq(SEQ_DEEP, SEQ_ADAM, 105, "positional"),
    _seq(SEQ_DEEP, SEQ_SGD, 106, "mixed"),
    _seq(SEQ_DEEP, SEQ_ADAM, 107, "lexical"),
]


def _reshaped(entry: SuiteEntry, shapes: dict[tuple[int, int], tuple[int, int]]) -> SuiteEntry:
    width, depth = shapes[(entry.backbone["width"], entry.backbone["depth"])]
    return replace(entry, backbone={"width": width, "depth": depth})


# The gpu-large preset's suite: the same zoos on its wider, deeper backbones.
SUITES: dict[str, list[SuiteEntry]] = {
    "default": DEFAULT_SUITE,
    "gpu-large": [_reshaped(e, {SEARCH_SHAPE: (1024, 3), DEEP_SHAPE: (1536, 4)})
                  for e in DEFAULT_SUITE],
    "transformer": TRANSFORMER_SUITE,
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
