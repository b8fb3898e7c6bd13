"""Cheap-first screening: parse, blocks, duplicate — in that order."""

from __future__ import annotations

import hashlib

from codeevo.mutation.screen import normalize, program_hash, screen, syntax_problem

PARENT = """import math

# EVOLVE-BLOCK-START
def f(x):
    return x * 0.5
# EVOLVE-BLOCK-END

print(f(2))
"""


def test_accepts_a_new_valid_child() -> None:
    child = PARENT.replace("0.5", "0.75")
    verdict = screen(PARENT, child, {program_hash(PARENT)})
    assert verdict.ok and verdict.stage is None and verdict.reason is None
    assert verdict.program_hash == program_hash(child)


def test_syntax_error_is_rejected_at_parse_with_its_line() -> None:
    child = PARENT.replace("return x * 0.5", "return x * (0.5")
    verdict = screen(PARENT, child, set())
    assert not verdict.ok and verdict.stage == "parse"
    assert verdict.reason is not None and "line 5" in verdict.reason


def test_compile_errors_count_as_parse_failures() -> None:
    # parses, but the compiler rejects it
    child = PARENT.replace("    return x * 0.5", "    return x * 0.5\nbreak")
    verdict = screen(PARENT, child, set())
    assert verdict.stage == "parse" and "line 6" in (verdict.reason or "")
    assert "null bytes" in (syntax_problem("x = 1\0") or "")
    assert syntax_problem("(" * 500 + ")" * 500) is not None  # too deeply nested


def test_edit_outside_the_blocks_is_rejected() -> None:
    child = PARENT.replace("print(f(2))", "print(f(3))")
    verdict = screen(PARENT, child, set())
    assert not verdict.ok and verdict.stage == "blocks"
    assert "fixed region 1" in (verdict.reason or "")
    no_markers = "def f(x):\n    return x\n"
    assert screen(PARENT, no_markers, set()).stage == "blocks"


def test_duplicate_is_rejected_even_with_trailing_whitespace_changes() -> None:
    seen = {program_hash(PARENT)}
    verdict = screen(PARENT, PARENT, seen)
    assert not verdict.ok and verdict.stage == "duplicate"
    padded = PARENT.replace("0.5\n", "0.5   \n").replace("\n", "\r\n") + "\n\n"
    assert screen(PARENT, padded, seen).stage == "duplicate"
    assert seen == {program_hash(PARENT)}  # screening never adds to the set


def test_parse_is_checked_before_blocks_and_duplicate() -> None:
    broken = "def (:\n"
    assert screen(PARENT, broken, {program_hash(broken)}).stage == "parse"


def test_program_hash_is_sha256_of_the_normalized_text() -> None:
    text = "a = 1  \n\n"
    assert normalize(text) == "a = 1\n"
    assert program_hash(text) == hashlib.sha256(b"a = 1\n").hexdigest()
    assert program_hash("a = 1") != program_hash("a = 2")
    assert program_hash(" a = 1") != program_hash("a = 1")  # leading whitespace matters
