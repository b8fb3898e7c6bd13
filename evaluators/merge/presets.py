"""Zoo presets and the resolution of ``evaluator.config`` into the zoos of a split.

``evaluator.config`` keys (all optional):

- ``preset``: ``default`` (CPU, ~10 s a zoo), ``gpu-large`` (wider backbone, 12 tasks) or
  ``transformer`` (a small BERT-style encoder on synthetic sequence tasks, ``transformer_zoo.py``;
  its held-out suite is ``heldout.SUITES["transformer"]``).
- ``split``: ``search`` (fitness) or ``heldout`` (reports: the preset's held-out suite of
  ``heldout.py``, disjoint from the search split in seeds and tasks).
- ``zoo``: overrides of the preset's shared settings (width, depth, augment, pretrain, probe,
  probe_shots, finetune, pool).
- ``search`` / ``heldout``: per split ``seeds``, ``tasks`` (list of task specs, or ints indexing
  the pool), ``k`` (first k tasks), ``finetune`` (recipe overrides). Without ``seeds`` or
  ``tasks`` a split is the preset's: for ``search`` its groups of zoos (several backbone shapes
  and recipes), for ``heldout`` its suite (``heldout.py``); ``k`` and ``finetune`` then apply to
  every group or entry, each keeping its own backbone and recipe. With ``seeds`` or ``tasks``,
  the split is that one group of zoos on the shared settings (tasks by default: the preset's
  search tasks for ``search``, the zoo family's mixed held-out family for ``heldout``).
- ``scales``: the λ grid; ``device``: auto | cpu | cuda[:N]; ``time_limit``: seconds for the
  candidate's merges (all zoos together).
- ``calibration``: ``{per_task: N}`` turns on the data-assisted track (``calibration.py``).
"""

from __future__ import annotations

from typing import Any

from calibration import per_task  # type: ignore[import-not-found]
from families import ZooSpecLike  # type: ignore[import-not-found]
from heldout import FAMILY_TASKS, SUITES, SuiteEntry, check_disjoint  # type: ignore[import-not-found]
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
        # The search zoos cover both backbone shapes and both fine-tuning recipes of the
        # held-out suite (a method tuned on one shape only overfits depth: docs/merge.md);
        # the held-out suite differs from them in seeds and tasks.
        "search": [
            {"seeds": [0, 1, 2], "tasks": list(range(8))},
            {"seeds": [3], "tasks": list(range(8)), "zoo": {"width": 384, "depth": 3}},
            {"seeds": [4], "tasks": list(range(8)),
             "finetune": {"optimizer": "adam", "steps": 300, "lr": 1e-3, "batch": 128}},
        ],
    },
    "gpu-large": {
        "zoo": {
            "width": 1024, "depth": 3, "augment": AUGMENT, "pool": POOL, "probe_shots": 2,
            "pretrain": {"optimizer": "adam", "steps": 3000, "lr": 1e-3, "batch": 256},
            "probe": {"optimizer": "adam", "steps": 300, "lr": 1e-2, "batch": 256},
            "finetune": {"optimizer": "sgd", "steps": 500, "lr": 0.01, "batch": 128},
        },
        "search": [
            {"seeds": [0, 1, 2, 3], "tasks": list(range(12))},
            {"seeds": [4], "tasks": list(range(12)), "zoo": {"width": 1536, "depth": 4}},
            {"seeds": [5], "tasks": list(range(12)),
             "finetune": {"optimizer": "adam", "steps": 500, "lr": 5e-4, "batch": 128}},
        ],
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
    return [spec for _, spec in split_zoos(config)]


def split_zoos(config: dict[str, Any]) -> list[tuple[str, ZooSpecLike]]:
    """(label, spec) of each zoo of the configured split, in order. A held-out split is
    checked disjoint (seeds and tasks) from the search split of the same config."""
    check_config(config)
    preset_name = config.get("preset", "default")
    preset = PRESETS[preset_name]
    split = config.get("split", "search")
    shared = {**preset["zoo"], **(config.get("zoo") or {})}
    user = config.get(split) or {}
    family = preset.get("family", "mlp")
    if {"seeds", "tasks"} & set(user):  # the user's own group replaces the preset's zoos
        # Without tasks: the search split keeps the preset's search tasks (from the pool), the
        # held-out split takes the mixed held-out family; so the two stay disjoint.
        default = (list(FAMILY_TASKS[family]["mixed"]) if split == "heldout"
                   else list(preset["search"][0]["tasks"]))
        part = {"tasks": default, **user}
        if split == "search" and len(preset["search"]) == 1:  # one group: its seeds by default
            part = {"seeds": preset["search"][0]["seeds"], **part}
        if "seeds" not in part:
            raise ValueError(f"evaluator.config.{split}.seeds: no seeds given")
        zoos = _group_zoos(split, part, shared, bert=family == "bert")
    elif split == "heldout":
        zoos = [z for entry in SUITES[preset_name] for z in _entry_zoos(entry, shared, user)]
    else:
        zoos = []
        for group in preset["search"]:
            ft = {**(group.get("finetune") or {}), **(user.get("finetune") or {})}
            part = {**group, **({"k": user["k"]} if user.get("k") else {}), "finetune": ft}
            zoos += _group_zoos(split, part, {**shared, **(group.get("zoo") or {})},
                                bert=family == "bert")
    if split == "heldout":
        search = split_zoos({**config, "split": "search"})
        check_disjoint([(s.seed, s.tasks) for _, s in search],
                       [(s.seed, s.tasks) for _, s in zoos])
    return zoos


def _group_zoos(split: str, part: dict[str, Any], shared: dict[str, Any],
                bert: bool = False) -> list[tuple[str, ZooSpecLike]]:
    pool = list(shared["pool"])
    tasks = [pool[t] if isinstance(t, int) else str(t) for t in part.get("tasks", pool)]
    if part.get("k"):
        tasks = tasks[: int(part["k"])]
    if not tasks:
        raise ValueError(f"evaluator.config.{split}.tasks: no tasks")
    ft = {**shared["finetune"], **(part.get("finetune") or {})}
    if bert:
        tspecs = transformer_specs(shared, tasks, ft, [int(seed) for seed in part["seeds"]])
        return [(f"{split}:bert{t.hidden}x{t.layers}/{t.finetune.optimizer}/s{t.seed}", t)
                for t in tspecs]
    specs = [_spec(int(seed), tasks, shared, ft) for seed in part["seeds"]]
    return [(f"{split}:{s.width}x{s.depth}/{s.finetune.optimizer}/s{s.seed}", s) for s in specs]


def _entry_zoos(entry: SuiteEntry, shared: dict[str, Any],
                user: dict[str, Any]) -> list[tuple[str, ZooSpecLike]]:
    tasks = list(entry.tasks)[: int(user["k"])] if user.get("k") else list(entry.tasks)
    ft = {**entry.recipe, **(user.get("finetune") or {})}
    own = {**shared, **entry.backbone}
    seeds = [int(seed) for seed in entry.seeds]
    if entry.family == "bert":
        return [(entry.label(s.seed), s) for s in transformer_specs(own, tasks, ft, seeds)]
    if entry.family != "mlp":
        raise ValueError(f"held-out suite: unknown zoo family {entry.family!r}")
    return [(entry.label(seed), _spec(seed, tasks, own, ft)) for seed in seeds]


def _spec(seed: int, tasks: list[str], shared: dict[str, Any], ft: dict[str, Any]) -> ZooSpec:
    base = Recipe()
    return ZooSpec(
        seed=seed, tasks=tuple(tasks), width=int(shared["width"]),
        depth=int(shared["depth"]), augment=tuple(shared["augment"]),
        pretrain=Recipe.from_dict(shared["pretrain"], base),
        probe=Recipe.from_dict(shared["probe"], base),
        finetune=Recipe.from_dict(ft, base),
        probe_shots=int(shared["probe_shots"]),
    )
