"""Zoo presets and the resolution of ``evaluator.config`` into the zoos of a split.

``evaluator.config`` keys (all optional):

- ``preset``: ``default`` (CPU, ~10 s a zoo), ``gpu-large`` (wider backbone, 12 tasks) or
  ``transformer`` (a small BERT-style encoder on synthetic sequence tasks, ``transformer_zoo.py``).
- ``split``: ``search`` (fitness) or ``heldout`` (reports).
- ``zoo``: overrides of the preset's shared settings (width, depth, augment, pretrain, probe,
  probe_shots, finetune, pool).
- ``search`` / ``heldout``: per split ``seeds``, ``tasks`` (list of task specs, or ints indexing
  the pool), ``k`` (first k tasks), ``finetune`` (recipe overrides).
- ``scales``: the λ grid; ``device``: auto | cpu | cuda[:N]; ``time_limit``: seconds for the
  candidate's merges (all zoos together).
- ``calibration``: ``{per_task: N}`` turns on the data-assisted track (``calibration.py``).
"""

from __future__ import annotations

from typing import Any

from calibration import per_task  # type: ignore[import-not-found]
from families import ZooSpecLike  # type: ignore[import-not-found]
from transformer_zoo import PRESET as TRANSFORMER  # type: ignore[import-not-found]
from transformer_zoo import ZOO_KEYS as TRANSFORMER_KEYS  # type: ignore[import-not-found]
from transformer_zoo import transformer_specs  # type: ignore[import-not-found]
from zoo import Recipe, ZooSpec  # type: ignore[import-not-found]

POOL = [
    "rot90:identity", "rot180:parity", "fliph:reverse", "invert:identity",
    "perm1:identity", "transpose:mod3", "blur:threshold", "perm2:parity",
    "rot270+invert:identity", "quadswap:identity", "noise20:mod4", "flipv:loops",
    "shiftE+contrast:shift3", "perm3:mod3", "rot90+fliph:threshold", "identity:mod4",
]

AUGMENT = [
    "rot90", "rot180", "rot270", "fliph", "flipv", "transpose",
    "shiftN", "shiftS", "shiftE", "shiftW", "blur", "noise10", "contrast",
]

PRESETS: dict[str, dict[str, Any]] = {
    "default": {
        "zoo": {
            "width": 256, "depth": 2, "augment": AUGMENT, "pool": POOL, "probe_shots": 2,
            "pretrain": {"optimizer": "adam", "steps": 1500, "lr": 2e-3, "batch": 128},
            "probe": {"optimizer": "adam", "steps": 300, "lr": 1e-2, "batch": 256},
            "finetune": {"optimizer": "sgd", "steps": 300, "lr": 0.02, "batch": 128},
        },
        "search": {"seeds": [0, 1, 2], "tasks": list(range(8))},
        "heldout": {"seeds": [100, 101], "tasks": [4, 5, 6, 7, 8, 9, 10, 11]},
    },
    "gpu-large": {
        "zoo": {
            "width": 1024, "depth": 3, "augment": AUGMENT, "pool": POOL, "probe_shots": 2,
            "pretrain": {"optimizer": "adam", "steps": 3000, "lr": 1e-3, "batch": 256},
            "probe": {"optimizer": "adam", "steps": 300, "lr": 1e-2, "batch": 256},
            "finetune": {"optimizer": "sgd", "steps": 500, "lr": 0.01, "batch": 128},
        },
        "search": {"seeds": [0, 1, 2, 3], "tasks": list(range(12))},
        "heldout": {"seeds": [100, 101, 102], "tasks": [4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]},
    },
    "transformer": TRANSFORMER,
}

SCALES = [0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 2.0]
_ZOO_KEYS = {"width", "depth", "augment", "pool", "probe_shots", "pretrain", "probe", "finetune"}
_SPLIT_KEYS = {"seeds", "tasks", "k", "finetune"}
TOP_KEYS = {"preset", "split", "zoo", "search", "heldout", "scales", "device", "time_limit",
            "user_zoo", "calibration"}


def check_config(config: dict[str, Any]) -> None:
    """Raise ValueError naming the first unknown or malformed key."""
    unknown = set(config) - TOP_KEYS
    if unknown:
        raise ValueError(f"evaluator.config: unknown keys {sorted(unknown)} "
                         f"(known: {sorted(TOP_KEYS)})")
    preset = config.get("preset", "default")
    if preset not in PRESETS:
        raise ValueError(f"evaluator.config.preset: unknown preset {preset!r} "
                         f"(known: {sorted(PRESETS)})")
    split = config.get("split", "search")
    if split not in ("search", "heldout"):
        raise ValueError(f"evaluator.config.split: must be search or heldout, got {split!r}")
    per_task(config)
    zoo_keys = TRANSFORMER_KEYS if PRESETS[preset].get("family") == "bert" else _ZOO_KEYS
    for key, allowed in (("zoo", zoo_keys), ("search", _SPLIT_KEYS), ("heldout", _SPLIT_KEYS)):
        bad = set(config.get(key) or {}) - allowed
        if bad:
            raise ValueError(f"evaluator.config.{key}: unknown keys {sorted(bad)}")


def zoo_specs(config: dict[str, Any]) -> list[ZooSpecLike]:
    """The zoos of the configured split, in order."""
    check_config(config)
    preset = PRESETS[config.get("preset", "default")]
    split = config.get("split", "search")
    shared = {**preset["zoo"], **(config.get("zoo") or {})}
    part = {**preset[split], **(config.get(split) or {})}
    pool = list(shared["pool"])
    tasks = [pool[t] if isinstance(t, int) else str(t) for t in part.get("tasks", pool)]
    if part.get("k"):
        tasks = tasks[: int(part["k"])]
    if not tasks:
        raise ValueError(f"evaluator.config.{split}.tasks: no tasks")
    ft = {**shared["finetune"], **(part.get("finetune") or {})}
    if preset.get("family") == "bert":
        return transformer_specs(shared, tasks, ft, [int(s) for s in part["seeds"]])
    base = Recipe()
    return [
        ZooSpec(
            seed=int(seed), tasks=tuple(tasks), width=int(shared["width"]),
            depth=int(shared["depth"]), augment=tuple(shared["augment"]),
            pretrain=Recipe.from_dict(shared["pretrain"], base),
            probe=Recipe.from_dict(shared["probe"], base),
            finetune=Recipe.from_dict(ft, base),
            probe_shots=int(shared["probe_shots"]),
        )
        for seed in part["seeds"]
    ]
