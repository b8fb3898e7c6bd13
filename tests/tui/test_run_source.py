"""RunSource: opening a recorded run (real git store) and following its event log."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from codeevo.tui import run_source
from codeevo.tui.run_source import RunSource


def test_load_reads_the_tail_and_poll_continues_after_a_torn_line(
    run_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(run_source, "TAIL_BYTES", 4000)
    events_path = run_dir / "events.jsonl"
    with events_path.open("a") as fh:
        fh.write('{"t": 1, "kind": "warning", "message": "half')  # a writer mid-line
    src = RunSource(run_dir)
    loaded = src.load()
    assert len(loaded.index) == 60 and loaded.problem == "toy"
    assert [f.name for f in loaded.features] == ["size", "speed"]
    assert 0 < len(loaded.events) < 60 and loaded.events[-1]["kind"] == "stopped"
    assert src.poll() == []
    with events_path.open("a") as fh:
        fh.write(' written"}\n' + json.dumps({"t": 2, "kind": "stopped"}) + "\n")
    polled = src.poll()
    assert [e["kind"] for e in polled] == ["warning", "stopped"]
    assert polled[0]["message"] == "half written"
    detail = src.detail("c000003")
    assert "def solve" in detail.program and set(detail.parent_programs) == {"c000000", "c000002"}
    assert detail.candidate.timings and detail.candidate.features  # the full record
    assert "artifacts/stdout.txt" in detail.files
    src.close()
