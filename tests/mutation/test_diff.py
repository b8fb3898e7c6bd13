"""SEARCH/REPLACE parsing and application inside EVOLVE-BLOCKs."""

from __future__ import annotations

import pytest

from codeevo.mutation.diff import DiffError, SearchReplace, apply_diff, parse_diff

PROGRAM = """import math

# EVOLVE-BLOCK-START
def solve(n):
    total = 0
    for i in range(n):
        total += i
    return total
# EVOLVE-BLOCK-END

def fixed():
    return 1

# EVOLVE-BLOCK-START
K = 3
# EVOLVE-BLOCK-END
"""


def test_parse_several_blocks_inside_fences_and_prose() -> None:
    reply = """I'll make two changes.

```python
<<<<<<< SEARCH
        total += i
=======
        total += i * i
>>>>>>> REPLACE
```

and

```
<<<<<<< SEARCH
K = 3
=======
K = 4
>>>>>>> REPLACE
```
"""
    edits = parse_diff(reply)
    assert edits == [
        SearchReplace("        total += i\n", "        total += i * i\n"),
        SearchReplace("K = 3\n", "K = 4\n"),
    ]
    child = apply_diff(PROGRAM, edits)
    assert "total += i * i\n" in child and "K = 4\n" in child
    assert child.replace("i * i", "i").replace("K = 4", "K = 3") == PROGRAM


def test_parse_errors_name_the_block() -> None:
    with pytest.raises(DiffError, match="no SEARCH/REPLACE blocks") as info:
        parse_diff("Here is the whole program: ...")
    assert info.value.stage == "parse"
    ok = "<<<<<<< SEARCH\na\n=======\nb\n>>>>>>> REPLACE\n"
    with pytest.raises(DiffError, match=r"block 2 \(line 6\).*never closed"):
        parse_diff(ok + "<<<<<<< SEARCH\nx\n=======\ny\n")
    with pytest.raises(DiffError, match="block 1.*no '=======' divider"):
        parse_diff("<<<<<<< SEARCH\nx\n>>>>>>> REPLACE\n")


def test_empty_replace_deletes_lines() -> None:
    edits = parse_diff("<<<<<<< SEARCH\n    for i in range(n):\n        total += i\n=======\n"
                       ">>>>>>> REPLACE")
    assert edits[0].replace == ""
    child = apply_diff(PROGRAM, edits)
    assert "for i" not in child and "    total = 0\n    return total\n" in child


def test_indentation_drift_is_reindented() -> None:
    # the model dropped the function's 4-space indentation in SEARCH and REPLACE alike
    edits = parse_diff("<<<<<<< SEARCH\nfor i in range(n):\n    total += i\n=======\n"
                       "for i in range(1, n):\n    total += 2 * i\n>>>>>>> REPLACE\n")
    child = apply_diff(PROGRAM, edits)
    assert "    for i in range(1, n):\n        total += 2 * i\n    return total\n" in child


def test_indentation_drift_deeper_than_program() -> None:
    edits = [SearchReplace("        K = 3\n", "        K = 5\n        J = 1\n")]
    child = apply_diff(PROGRAM, edits)
    assert "# EVOLVE-BLOCK-START\nK = 5\nJ = 1\n# EVOLVE-BLOCK-END" in child


def test_trailing_whitespace_drift() -> None:
    edits = [SearchReplace("    total = 0   \n    for i in range(n):\t\n",
                           "    total = 10\n    for i in range(n):\n")]
    assert "    total = 10\n" in apply_diff(PROGRAM, edits)


def test_inconsistent_indentation_does_not_match() -> None:
    edits = [SearchReplace("for i in range(n):\n total += i\n", "pass\n")]
    with pytest.raises(DiffError, match="block 1: .*does not match the program exactly"):
        apply_diff(PROGRAM, edits)


def test_search_in_fixed_part_is_refused() -> None:
    edits = [SearchReplace("K = 3\n", "K = 9\n"),
             SearchReplace("def fixed():\n    return 1\n", "def fixed():\n    return 2\n")]
    with pytest.raises(DiffError, match="block 2: .*outside the EVOLVE-BLOCKs") as info:
        apply_diff(PROGRAM, edits)
    assert info.value.stage == "apply"


def test_unknown_search_text() -> None:
    with pytest.raises(DiffError, match="block 1: the SEARCH text was not found.*'y = 2'"):
        apply_diff(PROGRAM, [SearchReplace("y = 2\n", "y = 3\n")])


def test_empty_search_is_refused() -> None:
    with pytest.raises(DiffError, match="block 1: the SEARCH section is empty"):
        apply_diff(PROGRAM, parse_diff("<<<<<<< SEARCH\n=======\nx = 1\n>>>>>>> REPLACE\n"))


def test_replacement_with_markers_is_refused() -> None:
    edits = [SearchReplace("K = 3\n", "K = 3\n# EVOLVE-BLOCK-END\nZ = 1\n# EVOLVE-BLOCK-START\n")]
    with pytest.raises(DiffError, match="outside its EVOLVE-BLOCKs"):
        apply_diff(PROGRAM, edits)


def test_edits_apply_in_order_on_the_edited_text() -> None:
    edits = [SearchReplace("K = 3\n", "K = 4\n"), SearchReplace("K = 4\n", "K = 5\n")]
    assert "K = 5\n" in apply_diff(PROGRAM, edits)
