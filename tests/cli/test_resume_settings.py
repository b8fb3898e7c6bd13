"""Resuming with changed settings: fewer or more islands work (candidates are re-homed), and a
resume that is refused leaves config.yaml exactly as it was."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from codeevo.cli import main
from codeevo.lineage.store import GitLineageStore

ROOT = Path(__file__).resolve().parents[2]
CP = ROOT / "problems" / "circle_packing"


def _summary(capsys: pytest.CaptureFixture[str]) -> dict[str, object]:
    return dict(json.loads(capsys.readouterr().out.strip().splitlines()[-1]))


def test_resume_with_fewer_then_more_islands(tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    run = tmp_path / "cp"
    assert main(["run", str(CP), "--islands", "4", "--evals", "14", "--seed", "3",
                 "--sandbox", "local", "--out", str(run), "--json"]) == 0
    capsys.readouterr()
    with GitLineageStore.open(run / "lineage.git") as store:
        assert max(c.island for c in store.candidates()) == 3

    assert main(["resume", str(run), "--islands", "2", "--evals", "20", "--json"]) == 0
    assert _summary(capsys)["evaluations"] == 20
    assert "num_islands: 2" in (run / "config.yaml").read_text()
    events = (run / "events.jsonl").read_text()
    assert "re-homed (island mod 2)" in events

    assert main(["resume", str(run), "--evals", "24", "--json"]) == 0  # plain resume works
    assert _summary(capsys)["evaluations"] == 24
    assert main(["resume", str(run), "--islands", "6", "--evals", "28", "--json"]) == 0
    assert _summary(capsys)["evaluations"] == 28
    with GitLineageStore.open(run / "lineage.git") as store:
        late = [c for c in store.candidates() if c.seq >= 24]
    assert {c.island for c in late} <= set(range(6))


def test_refused_resume_leaves_the_config_untouched(tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    run = tmp_path / "cp"
    assert main(["run", str(CP), "--evals", "4", "--sandbox", "local", "--out", str(run),
                 "--quiet"]) == 0
    before = (run / "config.yaml").read_text()
    # the pre-flight check refuses the model before anything is written
    assert main(["resume", str(run), "--islands", "2", "--model", "foobar/x",
                 "--quiet"]) == 2
    assert "no provider 'foobar'" in capsys.readouterr().err
    assert (run / "config.yaml").read_text() == before
    assert main(["resume", str(run), "--evals", "6", "--quiet"]) == 0
