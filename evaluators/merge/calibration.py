"""The data-assisted track's calibration sets (host side, numpy only).

``evaluator.config.calibration: {per_task: N}`` (1 ≤ N ≤ 64) gives a data-assisted merge N
unlabeled inputs per task. They are drawn, by a fixed seed, from the task's TRAINING split only
(``spec.train_inputs``: the very inputs its expert was fine-tuned on), never from validation or
test data, and carry no labels. ``calib_<i>.npz`` holds, per task k, ``x<k>`` (the inputs) and
``head<k>/W|b`` (the task's frozen head, a part of every expert checkpoint, as FusionBench
ships CLIP's classification heads); it is the only file of the track a candidate receives. The
sample ids picked go to the (secret) manifest, so anyone can audit where the inputs came from.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from families import ZooSpecLike  # type: ignore[import-not-found]

MAX_PER_TASK = 64


def per_task(config: dict[str, Any]) -> int | None:
    """N from ``evaluator.config.calibration`` (None when the track is off); ValueError names
    the bad field."""
    cal = config.get("calibration")
    if cal is None or cal is False:
        return None
    if not isinstance(cal, dict):
        raise ValueError("evaluator.config.calibration: expected a mapping such as "
                         f"{{per_task: 32}}, got {cal!r}")
    unknown = set(cal) - {"per_task"}
    if unknown:
        raise ValueError(f"evaluator.config.calibration: unknown keys {sorted(unknown)} "
                         "(known: ['per_task'])")
    n = cal.get("per_task")
    if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= MAX_PER_TASK:
        raise ValueError("evaluator.config.calibration.per_task: an integer from 1 to "
                         f"{MAX_PER_TASK} (unlabeled training inputs per task), got {n!r}")
    return n


def pick(spec: ZooSpecLike, task: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    """(inputs, sample ids): n of task `task`'s training inputs, chosen by a fixed seed."""
    x, ids = spec.train_inputs(task)
    rng = np.random.default_rng([int(spec.seed), task, 4099])
    idx = np.sort(rng.choice(len(x), size=min(n, len(x)), replace=False))
    return x[idx], ids[idx]


def calibration_set(spec: ZooSpecLike, n: int,
                    heads: dict[str, np.ndarray]) -> tuple[dict[str, np.ndarray], list[list[int]]]:
    """(arrays of ``calib_<i>.npz``, per task the sample ids picked) for one zoo."""
    arrays: dict[str, np.ndarray] = {}
    picked = []
    for k in range(len(spec.tasks)):
        x, ids = pick(spec, k, n)
        arrays[f"x{k}"] = x
        arrays[f"head{k}/W"] = heads[f"head{k}/W"]
        arrays[f"head{k}/b"] = heads[f"head{k}/b"]
        picked.append([int(i) for i in ids])
    return arrays, picked
