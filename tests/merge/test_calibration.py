"""Calibration gates on the default zoo (mean over its seeds), scored with the fair protocol.

These pin the ranking that makes the zoo worth evolving on (it mirrors published CLIP ViT-B/32
merging results): pre-trained < simple average < TIES < TSV-M < experts.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch
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
    # 0.80, not 0.84: the search zoos include a deeper backbone and Adam-tuned experts, where
    # every method scores lower (TSV-M 86-91 on the 256x2 SGD zoos, 77-79 on the others).
    assert 0.80 <= table["tsv_m"] <= 0.93, table


def test_seed_leaves_room_to_improve(table: dict[str, float]) -> None:
    # The seed (task arithmetic) must sit well below TSV-M: evolution has room.
    assert table["seed"] + 0.05 < table["tsv_m"], table


def merged_score(zoos: list[Any], mod: Any) -> float:
    scores = []
    for zoo, experts in zoos:
        merged = {n: mod.merge_tensor(zoo.base[n], [e[n] for e in zoo.experts], n)
                  for n in zoo.names}
        scores.append(score_merged(zoo, merged, tuple(SCALES), experts).normalized)
    return float(np.mean(scores))


def test_seed_is_task_arithmetic(default_zoos: list[Any], table: dict[str, float]) -> None:
    # The seed is task arithmetic written as a parameterised family: at its identity knobs it
    # returns task arithmetic's tensors (up to SVD round-off) and the same score.
    seed = load_program(PROBLEM / "initial.py")
    ta = load_program(PROBLEM / "baselines" / "task_arithmetic.py")
    zoo = default_zoos[0][0]
    for n in zoo.names:
        experts = [e[n] for e in zoo.experts]
        a, b = seed.merge_tensor(zoo.base[n], experts, n), ta.merge_tensor(zoo.base[n], experts, n)
        assert a.shape == b.shape and a.dtype == b.dtype, n
        assert torch.allclose(a, b, rtol=0, atol=1e-5), (n, float((a - b).abs().max()))
    assert abs(table["seed"] - merged_score(default_zoos, ta)) < 1e-3, table


@pytest.mark.parametrize("knob,value", [("SPECTRUM_POWER", 0.5), ("SPECTRUM_ROOTS", 1),
                                        ("ISO_BLEND", 0.3), ("SIGN_ELECT", 0.3)])
def test_seed_knobs_lead_to_better_merges(
    default_zoos: list[Any], table: dict[str, float], knob: str, value: float
) -> None:
    # What the offline AST mutator reaches by nudging one knob of the seed must score higher
    # than task arithmetic: that is what lets `codeevo run problems/merge` improve offline.
    mod = load_program(PROBLEM / "initial.py")
    setattr(mod, knob, value)
    gain = {"SPECTRUM_POWER": 0.02, "SPECTRUM_ROOTS": 0.02, "ISO_BLEND": 0.02, "SIGN_ELECT": 0.003}
    assert merged_score(default_zoos, mod) > table["seed"] + gain[knob], (knob, table["seed"])


def test_seed_knobs_stay_finite(default_zoos: list[Any]) -> None:
    # Knob values a mutator may produce (0, large, flat spectra of rank-deficient matrices).
    zoo = default_zoos[0][0]
    for knobs in ({"SPECTRUM_POWER": 0.0}, {"SPECTRUM_POWER": 40.0}, {"SPECTRUM_ROOTS": 60},
                  {"ISO_BLEND": 3.0, "SIGN_ELECT": 2.0}, {"LAYER_GROWTH": 0.0}):
        mod = load_program(PROBLEM / "initial.py")
        for k, v in knobs.items():
            setattr(mod, k, v)
        for n in zoo.names:
            out = mod.merge_tensor(zoo.base[n], [e[n] for e in zoo.experts], n)
            assert bool(torch.isfinite(out).all()), (knobs, n)
            # Experts equal to the base: an all-zero task matrix (no spectrum to normalise by).
            same = mod.merge_tensor(zoo.base[n], [zoo.base[n]] * len(zoo.experts), n)
            assert torch.equal(same, zoo.base[n]), (knobs, n)
