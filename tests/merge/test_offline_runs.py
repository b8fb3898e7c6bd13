"""An offline run evolves on each merge track (data-free transformer zoo, data-assisted digits and
transformer zoos), through the real CLI, the local sandbox and the git lineage; the run keeps its
`--set evaluator.config...` overrides, and `codeevo report` ranks the tracks apart."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from codeevo.events import read_events

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
PROBLEMS = ROOT / "problems"

# Tiny zoos (one seed, two tasks, a few training steps): a run of six evaluations in seconds.
TINY_BERT = ["evaluator.config.preset=transformer",
             "evaluator.config.zoo={hidden: 16, heads: 2, intermediate: 32, "
             "pretrain: {steps: 40}, finetune: {steps: 20}}",
             "evaluator.config.search={seeds: [7], k: 2}"]
TINY_DIGITS = ["evaluator.config.zoo={width: 32, pretrain: {steps: 150}, finetune: {steps: 60}}",
               "evaluator.config.search={seeds: [7], k: 2}"]
CALIB = ["evaluator.config.calibration={per_task: 12}"]

CASES = {
    "transformer data-free": ("merge_transformer", TINY_BERT, False),
    "transformer data-assisted": ("merge_calib", TINY_BERT + CALIB, True),
    "digits data-assisted": ("merge_calib", TINY_DIGITS + CALIB, True),
}


def codeevo(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "codeevo", *args], capture_output=True,
                          text=True, timeout=900, cwd=ROOT, env=env)


def _sets(items: list[str]) -> list[str]:
    return [arg for item in items for arg in ("--set", item)]


@pytest.mark.parametrize("case", sorted(CASES))
def test_offline_run_evolves_and_report_ranks_tracks_apart(tmp_path: Path, case: str) -> None:
    problem, sets, assisted = CASES[case]
    out = tmp_path / "run"
    r = codeevo("run", str(PROBLEMS / problem), "--evals", "6", "--seed", "1", "--sandbox",
                "local", "--out", str(out), *_sets(sets))
    assert r.returncode == 0, r.stderr
    assert "evaluation budget reached (6)" in r.stdout
    # The overrides are part of the run: resume and report see the same zoos.
    saved = yaml.safe_load((out / "config.yaml").read_text())["evaluator"]["config"]
    assert saved["search"] == {"seeds": [7], "k": 2}
    evaluated = [e for e in read_events(out / "events.jsonl") if e["kind"] == "evaluated"]
    assert len(evaluated) == 6
    seed, children = evaluated[0], evaluated[1:]
    assert seed["operator"] == "seed" and seed["status"] == "ok"
    ok = [e for e in children if e["status"] == "ok"]
    assert ok and all(e["parents"] for e in children)
    # Evolution: mutations change what the merge does, not only the text.
    assert {round(e["score"], 9) for e in ok} - {round(seed["score"], 9)}
    best = json.loads(codeevo("best", str(out), "--json").stdout)
    assert best["metrics"].get("data_assisted", 0.0) == (1.0 if assisted else 0.0)

    rep = codeevo("report", str(out), "--sandbox", "local", "--json")
    assert rep.returncode == 0, rep.stderr
    rows: list[dict[str, Any]] = json.loads(rep.stdout)["rows"]
    tracks = {row["method"]: row["track"] for row in rows}
    assert tracks[f"run best ({best['id']})"] == ("data-assisted" if assisted else "data-free")
    assert tracks["tsv_m"] == "data-free"
    if assisted:
        assert {tracks[m] for m in ("fisher", "regmean", "obm_saliency")} == {"data-assisted"}
    for row in rows:  # one tiny zoo each, every method scored
        assert not row["errors"] and len(row["per_zoo"]["search"]) == 1, row
    for diff in json.loads(rep.stdout)["differences"]:  # compared only within a track
        assert tracks[diff["method"]] == tracks[diff["baseline"]]


def test_bad_evaluator_override_is_a_clear_error_and_writes_nothing(tmp_path: Path) -> None:
    out = tmp_path / "never"
    r = codeevo("run", str(PROBLEMS / "merge_calib"), "--evals", "2", "--sandbox", "local",
                "--out", str(out), "--set", "evaluator.config.preset=nope")
    assert r.returncode == 2
    assert "evaluator.config.preset: unknown preset 'nope'" in r.stderr
    assert "Traceback" not in r.stderr
    assert not out.exists()
