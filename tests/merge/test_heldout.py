"""The held-out suite: its coverage, its disjointness from the search split, and its cache."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from heldout import (  # type: ignore[import-not-found]
    FAMILY_TASKS,
    SEQ_TASK_FAMILIES,
    SUITES,
    TASK_FAMILIES,
    SuiteEntry,
)
from presets import PRESETS, split_zoos, zoo_specs  # type: ignore[import-not-found]
from seq_tasks import parse_seq_task  # type: ignore[import-not-found]
from tasks import parse_task  # type: ignore[import-not-found]

PARSE = {"mlp": parse_task, "bert": parse_seq_task}


def _shape(spec: Any) -> tuple[int, int]:
    return (spec.width, spec.depth) if spec.family == "mlp" else (spec.hidden, spec.layers)


@pytest.mark.parametrize("preset", sorted(SUITES))
def test_suite_covers_families_shapes_and_recipes(preset: str) -> None:
    zoos = split_zoos({"preset": preset, "split": "heldout"})
    specs = [s for _, s in zoos]
    assert len(specs) >= 8
    families = {e.task_family for e in SUITES[preset]}
    assert len(families) >= 3
    assert len({_shape(s) for s in specs}) >= 2
    assert {s.finetune.optimizer for s in specs} == {"sgd", "adam"}
    assert len({label for label, _ in zoos}) == len(zoos)  # every zoo has its own label
    assert len({s.seed for s in specs}) == len(specs)
    for spec in specs:
        assert spec.family == PRESETS[preset].get("family", "mlp")
        for task in spec.tasks:
            PARSE[spec.family](task)


@pytest.mark.parametrize("preset", sorted(SUITES))
def test_suite_is_disjoint_from_search_in_seeds_and_tasks(preset: str) -> None:
    search = zoo_specs({"preset": preset})
    held = zoo_specs({"preset": preset, "split": "heldout"})
    assert {s.seed for s in search}.isdisjoint({s.seed for s in held})
    held_tasks = {t for s in held for t in s.tasks}
    assert {t for s in search for t in s.tasks}.isdisjoint(held_tasks)
    # no preset's search pool holds a held-out task
    assert held_tasks.isdisjoint(PRESETS[preset]["zoo"]["pool"])


@pytest.mark.parametrize("preset", sorted(SUITES))
def test_own_seeds_without_tasks_keep_the_splits_disjoint(preset: str) -> None:
    # Giving only seeds replaces a split's zoos; the search split then keeps the preset's
    # search tasks (from the pool) and the held-out split its own family, never the same tasks.
    cfg = {"preset": preset, "search": {"seeds": [7], "k": 2}, "heldout": {"seeds": [8, 9]}}
    search = zoo_specs(cfg)
    held = zoo_specs({**cfg, "split": "heldout"})
    pool = PRESETS[preset]["zoo"]["pool"]
    assert [s.tasks for s in search] == [tuple(pool[:2])]
    family = PRESETS[preset].get("family", "mlp")
    assert {t for s in held for t in s.tasks} == set(FAMILY_TASKS[family]["mixed"])


def test_every_preset_has_a_held_out_suite_of_its_own_zoo_family() -> None:
    assert set(PRESETS) <= set(SUITES)
    for name, preset in PRESETS.items():
        assert {e.family for e in SUITES[name]} == {preset.get("family", "mlp")}, name


def test_overlapping_config_is_an_error_naming_the_key() -> None:
    with pytest.raises(ValueError, match=r"heldout: seeds \[1\]"):
        split_zoos({"split": "heldout", "heldout": {"seeds": [1, 50]}})
    with pytest.raises(ValueError, match=r"heldout: tasks \['rot90:identity'\]"):
        split_zoos({"split": "heldout", "heldout": {"seeds": [50], "tasks": [0]}})
    # Moving the search split instead is checked too.
    with pytest.raises(ValueError, match="seeds"):
        split_zoos({"split": "heldout", "search": {"seeds": [100]}})


@pytest.mark.parametrize("families", [TASK_FAMILIES, SEQ_TASK_FAMILIES])
def test_families_are_distinct_task_sets(families: dict[str, tuple[str, ...]]) -> None:
    all_tasks = [t for tasks in families.values() for t in tasks]
    assert len(all_tasks) == len(set(all_tasks))
    assert all(len(tasks) >= 6 for tasks in families.values())


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
@pytest.mark.parametrize(("preset", "first_label"), [
    ("default", "mlp:256x2/sgd/geometric/s100"),
    ("transformer", "bert:128x2x256/sgd/positional/s100"),
])
def test_suite_is_built_and_cached_like_the_search_zoos(tmp_path: Path, preset: str,
                                                        first_label: str) -> None:
    import prepare  # type: ignore[import-not-found]

    # Tiny recipes keep the builds quick; each entry keeps its backbone and optimizer.
    cfg = {"preset": preset, "split": "heldout",
           "zoo": {"pretrain": {"steps": 5}, "probe": {"steps": 5}},
           "heldout": {"k": 2, "finetune": {"steps": 5}}}
    first = Path(prepare.prepare(cfg, tmp_path))
    manifest = json.loads((first / "manifest.json").read_text())
    assert len(manifest["zoos"]) == len(split_zoos(cfg))
    assert manifest["zoos"][0]["label"] == first_label
    # As much merge and stage time per zoo as the search split (10 vs 5 zoos, 8 vs 3).
    search = split_zoos({**cfg, "split": "search"})
    assert manifest["time_scale"] == pytest.approx(len(manifest["zoos"]) / len(search))
    assert manifest["time_scale"] > 1
    families = {e.family for e in SUITES[preset]}
    assert {z.get("model", {}).get("family", "mlp") for z in manifest["zoos"]} == families
    zoo_dirs = sorted((tmp_path / "merge-zoo").iterdir())
    assert len(zoo_dirs) == len(manifest["zoos"])
    stamps = [(d / "meta.json").stat().st_mtime_ns for d in zoo_dirs]
    assert Path(prepare.prepare(cfg, tmp_path)) == first  # a second call hits the cache
    assert [(d / "meta.json").stat().st_mtime_ns for d in zoo_dirs] == stamps
    assert (tmp_path / "merge-zoo").stat().st_mode & 0o077 == 0  # secret data: owner only
