"""EVOLVE-BLOCK splitting, joining and the confinement check."""

from __future__ import annotations

import pytest

from codeevo.mutation.blocks import BlockError, edits_confined, replace_blocks, split

PROGRAM = """import numpy as np
# EVOLVE-BLOCK-START
a = 1
# EVOLVE-BLOCK-END
def g():
    # EVOLVE-BLOCK-START: tune this
    return 2
    # EVOLVE-BLOCK-END
"""


def test_split_and_join_round_trip() -> None:
    segs = split(PROGRAM)
    assert segs.blocks == ("a = 1\n", "    return 2\n")
    assert segs.fixed[0] == "import numpy as np\n# EVOLVE-BLOCK-START\n"
    assert segs.fixed[-1] == "    # EVOLVE-BLOCK-END\n"
    assert segs.join() == PROGRAM
    assert segs.join(["b = 2\n", "    return 3\n"]) == PROGRAM.replace("a = 1", "b = 2").replace(
        "return 2", "return 3"
    )
    with pytest.raises(BlockError, match="expected 2 blocks"):
        segs.join(["x\n"])


def test_empty_block_and_no_trailing_newline() -> None:
    text = "# EVOLVE-BLOCK-START\n# EVOLVE-BLOCK-END"
    segs = split(text)
    assert segs.blocks == ("",)
    assert segs.join() == text


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("x = 1\n", "no '# EVOLVE-BLOCK-START'"),
        ("# EVOLVE-BLOCK-START\nx\n", "never closed"),
        ("x\n# EVOLVE-BLOCK-END\n", "line 2: EVOLVE-BLOCK-END without"),
        ("# EVOLVE-BLOCK-START\n# EVOLVE-BLOCK-START\n# EVOLVE-BLOCK-END\n", "line 2"),
    ],
)
def test_bad_markers_name_the_problem(text: str, message: str) -> None:
    with pytest.raises(BlockError, match=message):
        split(text)


def test_edits_confined() -> None:
    inside = PROGRAM.replace("a = 1", "a = 1\nb = [a] * 3")
    assert edits_confined(PROGRAM, inside) is None
    outside = PROGRAM.replace("import numpy as np", "import os")
    assert edits_confined(PROGRAM, outside) == "fixed region 0 (outside EVOLVE-BLOCKs) was changed"
    marker_moved = PROGRAM.replace(
        "    # EVOLVE-BLOCK-END\n", "    # EVOLVE-BLOCK-END\n    x = 1\n"
    )
    assert "fixed region 2" in (edits_confined(PROGRAM, marker_moved) or "")
    dropped = "import numpy as np\n# EVOLVE-BLOCK-START\na = 1\n# EVOLVE-BLOCK-END\n"
    assert "child has 1 EVOLVE-BLOCKs, parent has 2" == edits_confined(PROGRAM, dropped)
    assert (edits_confined(PROGRAM, "x = 1\n") or "").startswith("child:")
    assert (edits_confined("x = 1\n", PROGRAM) or "").startswith("parent:")


def test_replace_blocks_restores_fixed_parts_and_adds_newlines() -> None:
    out = replace_blocks(PROGRAM, ["a = 5", "    return 5\n"])
    assert out == PROGRAM.replace("a = 1", "a = 5").replace("return 2", "return 5")
    assert edits_confined(PROGRAM, out) is None


def test_line_endings_and_trailing_whitespace_are_not_edits() -> None:
    assert edits_confined(PROGRAM, PROGRAM.replace("\n", "\r\n")) is None
    assert edits_confined(PROGRAM, PROGRAM.replace("as np\n", "as np   \n")) is None
    assert edits_confined(PROGRAM, PROGRAM.replace("as np\n", "as  np\n")) is not None
