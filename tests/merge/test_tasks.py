"""Task specs (transform × label map) and split resolution from evaluator.config."""

from __future__ import annotations

import numpy as np
import pytest
from presets import POOL, PRESETS, zoo_specs  # type: ignore[import-not-found]
from tasks import LABEL_MAPS, parse_task  # type: ignore[import-not-found]


def test_pool_has_twelve_distinct_valid_tasks() -> None:
    assert len(set(POOL)) >= 12
    for spec in POOL:
        parse_task(spec)


def test_transforms_compose_and_label_maps_apply() -> None:
    imgs = np.random.default_rng(0).random((5, 8, 8)).astype(np.float32)
    digits = np.arange(5)
    t = parse_task("rot90+invert:parity")
    x, y = t.apply(imgs, digits, np.arange(5))
    np.testing.assert_allclose(x.reshape(5, 8, 8), 1 - np.rot90(imgs, 1, axes=(1, 2)))
    assert y.tolist() == [0, 1, 0, 1, 0] and t.num_classes == 2
    x1, _ = parse_task("perm3:identity").apply(imgs, digits, np.arange(5))
    x2, _ = parse_task("perm3:identity").apply(imgs, digits, np.arange(5))
    np.testing.assert_array_equal(x1, x2)  # a permutation is fixed by its seed
    assert set(LABEL_MAPS) >= {"identity", "parity", "threshold", "mod3"}


@pytest.mark.parametrize("bad", ["rot45:identity", "rot90:colour", "rot90", 3])
def test_bad_task_specs_name_the_problem(bad: object) -> None:
    with pytest.raises(ValueError, match="task"):
        parse_task(bad)  # type: ignore[arg-type]


def test_search_and_heldout_differ_in_seeds_and_tasks() -> None:
    search = zoo_specs({})
    held = zoo_specs({"split": "heldout"})
    assert {s.seed for s in search}.isdisjoint({s.seed for s in held})
    assert search[0].tasks != held[0].tasks
    custom = zoo_specs({"split": "heldout", "heldout": {"seeds": [5], "k": 3,
                                                        "finetune": {"optimizer": "adam"}}})
    assert len(custom) == 1 and len(custom[0].tasks) == 3
    assert custom[0].finetune.optimizer == "adam"
    assert zoo_specs({"preset": "gpu-large"})[0].width > search[0].width
    assert set(PRESETS) == {"default", "gpu-large", "transformer"}


def test_unknown_config_keys_are_errors() -> None:
    with pytest.raises(ValueError, match="unknown keys"):
        zoo_specs({"splitt": "search"})
    with pytest.raises(ValueError, match="preset"):
        zoo_specs({"preset": "huge"})
