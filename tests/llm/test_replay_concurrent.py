"""`codeevo replay` of a run made with many candidates in flight (the default) reproduces its
lineage offline, following the recorded order of starts and records."""

from __future__ import annotations

import json
import random
import threading
from dataclasses import replace
from pathlib import Path

import pytest
import yaml

from codeevo.cli import main
from codeevo.lineage.store import GitLineageStore

from .server import LoggedRequest, Reply, ScriptedLLMServer
from .test_e2e import _lineage
from .toy import ToyModel, make_toy_problem

EVALS = 26


class JitteryToy:
    """The toy model with a random delay per reply: requests finish out of order."""

    def __init__(self, seed: int) -> None:
        self.toy = ToyModel()
        self.rng = random.Random(seed)
        self.lock = threading.Lock()

    def __call__(self, req: LoggedRequest) -> Reply:
        with self.lock:
            delay = self.rng.uniform(0.0, 0.08)
        return replace(self.toy(req), delay=delay)


def _config(server: ScriptedLLMServer, path: Path) -> Path:
    cfg = {
        "seed": 9,
        "population": {"num_islands": 2, "num_inspirations": 2, "num_top_programs": 1},
        "operators": {"mix": {"diff": 0.5, "rewrite": 0.3, "crossover": 0.2},
                      "repair_turns": 1},
        "llm": {"models": [
            {"name": "openai/gpt-4.1-mini", "weight": 2, "api_base": server.base_url + "/v1",
             "api_key_env": "CODEEVO_TEST_KEY", "max_tokens": 256},
            {"name": "openai/gpt-4.1-nano", "weight": 1, "api_base": server.base_url + "/v1",
             "api_key_env": "CODEEVO_TEST_KEY", "max_tokens": 256}],
            "timeout": 5.0, "max_retries": 1, "backoff_base": 0.01},
        "engine": {"proposal_slots": 6, "eval_slots": 2},  # max_in_flight: default (8)
        "budget": {"max_evaluations": EVALS},
    }
    path.write_text(yaml.safe_dump(cfg))
    return path


def test_replay_of_a_concurrent_run_reproduces_its_lineage(
    tmp_path: Path, llm_server: ScriptedLLMServer, fake_key: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    llm_server.responder = JitteryToy(seed=4)
    problem = make_toy_problem(tmp_path)
    run = tmp_path / "run"
    assert main(["run", str(problem), "--config", str(_config(llm_server, tmp_path / "c.yaml")),
                 "--out", str(run), "--sandbox", "local", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    with GitLineageStore.open(run / "lineage.git") as store:
        cands = list(store.candidates())
    stamps = [c.extra["sched"] for c in cands if c.operator != "seed"]
    # candidates really overlapped: many started before their predecessor was recorded, and
    # the recorded order differs from the start order
    assert sum(1 for c in cands if c.operator != "seed"
               and c.extra["sched"]["after"] < c.seq) >= EVALS // 2
    starts_in_record_order = [s["start"] for s in stamps]
    assert starts_in_record_order != sorted(starts_in_record_order)

    sent = len(llm_server.requests)
    llm_server.stop()
    pytest.MonkeyPatch().delenv("CODEEVO_TEST_KEY")
    again = tmp_path / "replay"
    code = main(["replay", str(run), "--out", str(again), "--json"])
    summary2 = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert code == 0, summary2
    assert summary2["reason"].startswith("replayed the recorded run")
    assert len(llm_server.requests) == sent  # nothing went to the network
    assert _lineage(again) == _lineage(run)
    assert summary2["tokens"] == summary["tokens"] and summary2["cost"] == summary["cost"]
