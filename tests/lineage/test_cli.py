"""`codeevo lineage` in-process through codeevo.cli.main, and once as a real subprocess."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import networkx as nx
import pytest

from codeevo.cli import main

ROOT = Path(__file__).resolve().parents[2]


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["lineage", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_default_listing(hand_built: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, str(hand_built), "--limit", "3")
    assert code == 0
    assert "8 candidates, showing the last 3; best: c000005" in out
    assert "c000006" in out and "rejected@parse" in out and "c000005" not in out.split("\n", 1)[1]


def test_ancestry_best_table_and_json(hand_built: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, str(hand_built), "--ancestry", "best")
    assert code == 0
    assert out.index("c000001") < out.index("c000002") < out.rindex("c000005")
    assert "+1.0000" in out
    code, out, _ = run(capsys, str(hand_built / "lineage.git"), "--ancestry", "c000007", "--json")
    data = json.loads(out)
    assert [r["id"] for r in data["primary_line"]] == ["c000001", "c000002", "c000005", "c000007"]
    assert data["ancestors"] == ["c000001", "c000002", "c000004", "c000005"]


def test_descendants_and_stats(hand_built: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, str(hand_built), "--descendants", "c000004", "--json")
    assert [r["id"] for r in json.loads(out)["descendants"]] == [
        "c000005",
        "c000006",
        "c000007",
        "c000008",
    ]
    code, out, _ = run(capsys, str(hand_built), "--stats", "--json")
    stats = json.loads(out)
    assert stats["diff"]["failed_by_stage"] == {"parse": 1, "stage1": 1}
    code, out, _ = run(capsys, str(hand_built), "--stats")
    assert code == 0 and "crossover" in out and "25.0%" in out


def test_exports_print_to_stdout(hand_built: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = run(capsys, str(hand_built), "--export", "graphml")
    assert nx.read_graphml(io.StringIO(out)).number_of_nodes() == 8
    _, out, _ = run(capsys, str(hand_built), "--export", "json")
    assert len(json.loads(out)["edges"]) == 8
    _, out, _ = run(capsys, str(hand_built), "--export", "dot")
    assert out.count(" -> ") == 8


def test_errors_exit_2(
    hand_built: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, str(tmp_path / "missing"))
    assert code == 2 and "missing" in err
    (tmp_path / "not_a_run").mkdir()
    code, _, err = run(capsys, str(tmp_path / "not_a_run"))
    assert code == 2 and "no lineage.git" in err
    code, _, err = run(capsys, str(hand_built), "--ancestry", "c000042")
    assert code == 2 and "c000042" in err


def test_as_a_subprocess(hand_built: Path) -> None:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "codeevo",
            "lineage",
            str(hand_built),
            "--ancestry",
            "best",
            "--json",
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["id"] == "c000005"
