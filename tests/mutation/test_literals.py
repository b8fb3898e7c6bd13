"""The tunable-literal vector: round trip, ints stay ints, guards and fixed literals untouched."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from codeevo.mutation.blocks import BlockError, edits_confined
from codeevo.mutation.literals import format_number, read_literals

ROOT = Path(__file__).resolve().parents[2]

PROGRAM = """import torch
LIMIT = 0.5  # outside the block: never read
# EVOLVE-BLOCK-START
A = -0.5
B: int = 3
C = 2  # tune: fixed
FROZEN = 0.25
def f(x, k=4, *, eps=1e-8):
    if x.dim() == 2 and x.mean() > 0.1:
        return x[0] * 0.7 + x.sum(0) ** 2 + x[1.5 if k else 0]
    return (x == 1.0) * k + (x != 0.3) * eps + torch.clamp(x, min=1) * (1.0 - x) + 0.0
# EVOLVE-BLOCK-END
"""


def test_reads_floats_named_ints_and_signs() -> None:
    vec = read_literals(PROGRAM, fixed_names=["FROZEN"])
    assert [(lit.name, lit.value) for lit in vec.literals] == [
        ("A", -0.5), ("B", 3), ("k", 4), ("eps", 1e-8), ("line 9", 0.1), ("line 10", 0.7)]
    assert [lit.is_int for lit in vec.literals] == [False, True, True, False, False, False]


def test_guards_indices_and_fixed_are_never_read() -> None:
    vec = read_literals(PROGRAM, fixed_names=["FROZEN"])
    texts = {PROGRAM[lit.start:lit.end] for lit in vec.literals}
    # dim() == 2, x[0], x.sum(0), ** 2, == 1.0, != 0.3, min=1, the subscript's 1.5, the
    # identity constants of `1.0 - x` and `+ 0.0`, C (marked), FROZEN (named fixed) and LIMIT
    # (outside the block) are all left alone.
    for kept in ("2", "0", "1.0", "0.0", "0.3", "1", "1.5", "0.25"):
        assert kept not in texts
    assert len(read_literals(PROGRAM).literals) == 7  # FROZEN is read when not named fixed


def test_round_trip_and_new_values_stay_in_blocks() -> None:
    vec = read_literals(PROGRAM)
    assert vec.with_values(list(vec.values)) == PROGRAM
    child = vec.with_values([-1.25, 5.4, 0.123456789, 6.0, 2e-9, 0.2, 0.75])
    assert edits_confined(PROGRAM, child) is None
    again = read_literals(child)
    assert again.values == (-1.25, 5, 0.123457, 6, 2e-9, 0.2, 0.75)
    assert isinstance(again.values[1], int) and isinstance(again.values[2], float)
    assert again.skeleton == vec.skeleton  # one search space for every point
    ast.parse(child)
    assert "B: int = 5\n" in child and "def f(x, k=6, *, eps=2e-09)" in child


def test_skeleton_changes_with_structure() -> None:
    vec = read_literals(PROGRAM)
    other = read_literals(PROGRAM.replace("x.mean() > 0.1", "x.mean() < 0.1"))
    assert other.skeleton != vec.skeleton
    # A fixed literal is part of the skeleton: changing it is a new space.
    assert read_literals(PROGRAM.replace("C = 2", "C = 3")).skeleton != vec.skeleton


def test_float_format_keeps_float_type() -> None:
    assert format_number(2.0, False) == "2.0"
    assert format_number(1e-12, False) == "1e-12"
    assert format_number(2.6, True) == "3"
    with pytest.raises(ValueError):
        format_number(float("nan"), False)


def test_wrong_length_and_broken_markers_are_errors() -> None:
    with pytest.raises(ValueError, match="expected 7 values"):
        read_literals(PROGRAM).with_values([1.0])
    with pytest.raises(BlockError):
        read_literals("# EVOLVE-BLOCK-START\nA = 1.0\n")


def test_merge_seed_exposes_its_knobs_and_no_guard() -> None:
    seed = (ROOT / "problems" / "merge" / "initial.py").read_text()
    vec = read_literals(seed)
    assert [lit.name for lit in vec.literals] == [
        "SCALE", "SPECTRUM_POWER", "SPECTRUM_ROOTS", "ISO_BLEND", "SIGN_ELECT", "LAYER_GROWTH",
        "BIAS_SCALE"]
    assert [lit.is_int for lit in vec.literals].count(True) == 1  # SPECTRUM_ROOTS
