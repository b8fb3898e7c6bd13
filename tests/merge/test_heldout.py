"""The held-out suite: its coverage, its disjointness from the search split, and its cache."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from heldout import SUITES, TASK_FAMILIES, SuiteEntry  # type: ignore[import-not-found]
from presets import POOL, PRESETS, split_zoos, zoo_specs  # type: ignore[import-not-found]
from tasks import parse_task  # type: ignore[import-not-found]


@pytest.mark.parametrize("preset", sorted(SUITES))
def test_suite_covers_families_shapes_and_recipes(preset: str) -> None:
    zoos = split_zoos({"preset": preset, "split": "heldout"})
    specs = [s for _, s in zoos]
    assert len(specs) >= 8
    families = {e.task_family for e in SUITES[preset]}
    assert len(families) >= 3
    assert len({(s.width, s.depth) for s in specs}) >= 2
    assert {s.finetune.optimizer for s in specs} == {"sgd", "adam"}
    assert len({label for label, _ in zoos}) == len(zoos)  # every zoo has its own label
    for spec in specs:
        for task in spec.tasks:
            parse_task(task)


@pytest.mark.parametrize("preset", sorted(SUITES))
def test_suite_is_disjoint_from_search_in_seeds_and_tasks(preset: str) -> None:
    search = zoo_specs({"preset": preset})
    held = zoo_specs({"preset": preset, "split": "heldout"})
    assert {s.seed for s in search}.isdisjoint({s.seed for s in held})
    held_tasks = {t for s in held for t in s.tasks}
    assert {t for s in search for t in s.tasks}.isdisjoint(held_tasks)
    assert held_tasks.isdisjoint(POOL)  # no preset's search pool holds a held-out task


@pytest.mark.parametrize("preset", sorted(SUITES))
def test_own_seeds_without_tasks_keep_the_splits_disjoint(preset: str) -> None:
    # Giving only seeds replaces a split's zoos; the search split then keeps the preset's
    # search tasks (from the pool) and the held-out split its own family, never the same tasks.
    cfg = {"preset": preset, "search": {"seeds": [7], "k": 2}, "heldout": {"seeds": [8, 9]}}
    search = zoo_specs(cfg)
    held = zoo_specs({**cfg, "split": "heldout"})
    pool = PRESETS[preset]["zoo"]["pool"]
    assert [s.tasks for s in search] == [tuple(pool[:2])]
    assert {t for s in held for t in s.tasks} == set(TASK_FAMILIES["mixed"])


def test_every_preset_has_a_held_out_suite_or_its_own_held_out_group() -> None:
    # The digit-MLP presets share the suite above; the transformer preset keeps one group of
    # zoos per split (tests/merge/test_transformer_zoo.py checks that those are disjoint).
    for name, preset in PRESETS.items():
        assert name in SUITES or (preset.get("family") == "bert" and "heldout" in preset), name


def test_overlapping_config_is_an_error_naming_the_key() -> None:
    with pytest.raises(ValueError, match=r"heldout: seeds \[1\]"):
        split_zoos({"split": "heldout", "heldout": {"seeds": [1, 50]}})
    with pytest.raises(ValueError, match=r"heldout: tasks \['rot90:identity'\]"):
        split_zoos({"split": "heldout", "heldout": {"seeds": [50], "tasks": [0]}})
    # Moving the search split instead is checked too.
    with pytest.raises(ValueError, match="seeds"):
        split_zoos({"split": "heldout", "search": {"seeds": [100]}})


def test_families_are_distinct_task_sets() -> None:
    all_tasks = [t for tasks in TASK_FAMILIES.values() for t in tasks]
    assert len(all_tasks) == len(set(all_tasks))
    assert all(len(tasks) >= 6 for tasks in TASK_FAMILIES.values())


def test_suite_is_an_appendable_list_of_entries(monkeypatch: pytest.MonkeyPatch) -> None:
    extra = SuiteEntry("mlp", {"width": 64, "depth": 2}, {"optimizer": "adam"}, (200, 201),
                       ("rot90+blur:mod4",), "extra")
    monkeypatch.setitem(SUITES, "default", [*SUITES["default"], extra])
    zoos = split_zoos({"split": "heldout"})
    assert [label for label, _ in zoos[-2:]] == ["mlp:64x2/adam/extra/s200",
                                                 "mlp:64x2/adam/extra/s201"]
    unknown = SuiteEntry("rnn", {}, {}, (300,), ("rot90:mod3",))
    monkeypatch.setitem(SUITES, "default", [unknown])
    with pytest.raises(ValueError, match="unknown zoo family 'rnn'"):
        split_zoos({"split": "heldout"})


@pytest.mark.slow
def test_suite_is_built_and_cached_like_the_search_zoos(tmp_path: Path) -> None:
    import prepare  # type: ignore[import-not-found]

    # Tiny recipes keep the ten builds quick; each entry keeps its backbone and optimizer.
    cfg = {"split": "heldout", "zoo": {"pretrain": {"steps": 5}, "probe": {"steps": 5}},
           "heldout": {"k": 2, "finetune": {"steps": 5}}}
    first = Path(prepare.prepare(cfg, tmp_path))
    manifest = json.loads((first / "manifest.json").read_text())
    assert len(manifest["zoos"]) == len(split_zoos(cfg))
    assert manifest["zoos"][0]["label"] == "mlp:256x2/sgd/geometric/s100"
    zoo_dirs = sorted((tmp_path / "merge-zoo").iterdir())
    assert len(zoo_dirs) == len(manifest["zoos"])
    stamps = [(d / "meta.json").stat().st_mtime_ns for d in zoo_dirs]
    assert Path(prepare.prepare(cfg, tmp_path)) == first  # a second call hits the cache
    assert [(d / "meta.json").stat().st_mtime_ns for d in zoo_dirs] == stamps
    assert (tmp_path / "merge-zoo").stat().st_mode & 0o077 == 0  # secret data: owner only
