"""Calibration gates on the default zoo (mean over its seeds), scored with the fair protocol.

These pin the ranking that makes the zoo worth evolving on (it mirrors published CLIP ViT-B/32
merging results): pre-trained < simple average < TIES < TSV-M < experts.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from conftest import PROBLEM, load_program
from presets import SCALES  # type: ignore[import-not-found]
from scoring import score_merged  # type: ignore[import-not-found]

pytestmark = pytest.mark.slow


def normalized(zoos: list[Any], program: str) -> float:
    mod = load_program(PROBLEM / program)
    scores = []
    for zoo, experts in zoos:
        merged = {n: mod.merge_tensor(zoo.base[n], [e[n] for e in zoo.experts], n)
                  for n in zoo.names}
        scores.append(score_merged(zoo, merged, tuple(SCALES), experts).normalized)
    return float(np.mean(scores))


@pytest.fixture(scope="module")
def table(default_zoos: list[Any]) -> dict[str, float]:
    out = {name: normalized(default_zoos, f"baselines/{name}.py")
           for name in ("simple_average", "ties", "tsv_m")}
    out["seed"] = normalized(default_zoos, "initial.py")
    out["pretrained"] = float(np.mean([
        score_merged(z, z.base, (1.0,), e).pretrained for z, e in default_zoos]))
    return out


def test_experts_reach_ninety_percent(default_zoos: list[Any]) -> None:
    for _, experts in default_zoos:
        assert min(experts["test"]) >= 0.90


def test_pretrained_normalized_in_band(table: dict[str, float]) -> None:
    assert 0.55 <= table["pretrained"] <= 0.75, table


def test_ranking_average_ties_tsvm(table: dict[str, float]) -> None:
    assert table["simple_average"] < table["ties"] < table["tsv_m"], table


def test_tsvm_in_band(table: dict[str, float]) -> None:
    assert 0.84 <= table["tsv_m"] <= 0.93, table


def test_seed_leaves_room_to_improve(table: dict[str, float]) -> None:
    # The seed (task arithmetic) must sit well below TSV-M: evolution has room.
    assert table["seed"] + 0.05 < table["tsv_m"], table


def test_seed_knobs_are_improvable(default_zoos: list[Any], table: dict[str, float]) -> None:
    # What an offline AST mutator can reach by perturbing the seed's numeric knobs.
    mod = load_program(PROBLEM / "initial.py")
    mod.LAYER_SCALES = [0.7, 1.3, 1.0, 1.0]
    mod.BIAS_SCALE = 0.0
    scores = []
    for zoo, experts in default_zoos:
        merged = {n: mod.merge_tensor(zoo.base[n], [e[n] for e in zoo.experts], n)
                  for n in zoo.names}
        scores.append(score_merged(zoo, merged, tuple(SCALES), experts).normalized)
    assert float(np.mean(scores)) > table["seed"] + 0.003, (np.mean(scores), table["seed"])
