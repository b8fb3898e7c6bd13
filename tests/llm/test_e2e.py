"""End to end: `codeevo run` with a weighted two-model ensemble against the loopback server
(real HTTP through litellm, real local sandbox, real git lineage), faults included; then
`codeevo replay` reproduces the lineage with the server gone."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import yaml

from codeevo.cli import main
from codeevo.events import read_events
from codeevo.lineage.store import GitLineageStore

from .conftest import FAKE_KEY
from .server import (
    ScriptedLLMServer,
    hang,
    malformed,
    ok,
    rate_limited,
    respond,
    server_error,
)
from .toy import ToyModel, make_toy_problem

EVALS = 18


def _config(server: ScriptedLLMServer, path: Path) -> Path:
    cfg = {
        "seed": 5,
        "population": {"num_islands": 1, "num_inspirations": 1, "num_top_programs": 1},
        "operators": {"mix": {"diff": 0.4, "rewrite": 0.3, "crossover": 0.3},
                      "repair_turns": 1},
        "llm": {
            "models": [
                {"name": "openai/gpt-4.1-mini", "weight": 3, "api_base": server.base_url + "/v1",
                 "api_key_env": "CODEEVO_TEST_KEY", "max_tokens": 512},
                {"name": "anthropic/claude-haiku-4-5", "weight": 1, "api_base": server.base_url,
                 "api_key_env": "CODEEVO_TEST_KEY", "temperature": 0.5, "max_tokens": 512},
            ],
            "timeout": 1.0, "max_retries": 2, "backoff_base": 0.01, "backoff_max": 0.5,
        },
        "engine": {"max_in_flight": 1},
        "budget": {"max_evaluations": EVALS},
        "bandit": {"enabled": False},  # this test pins the fixed 3:1 weights of the ensemble
    }
    path.write_text(yaml.safe_dump(cfg))
    return path


def _lineage(run: Path) -> list[tuple[object, ...]]:
    with GitLineageStore.open(run / "lineage.git") as store:
        return [(c.id, tuple(c.parents), c.operator, c.model, c.status.value, c.stage,
                 c.score, c.program_hash, c.tokens.get("input"), round(c.cost, 9),
                 tuple(sorted(store.files(c.id).items())))
                for c in store.candidates()]


@pytest.mark.slow
def test_run_with_ensemble_faults_and_replay(
    tmp_path: Path, llm_server: ScriptedLLMServer, fake_key: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    problem = make_toy_problem(tmp_path)
    llm_server.responder = ToyModel()
    # faults on the first requests: each is retried and counted
    llm_server.script(rate_limited(0.05), server_error(503), respond(), malformed(), hang(30),
                      respond(), ok("I would rather explain than edit."))  # → a repair turn
    # the Anthropic model fails a whole request once (3 attempts): a candidate fails at "llm"
    llm_server.script(server_error(500), server_error(500), server_error(529),
                      model="claude-haiku-4-5")
    config = _config(llm_server, tmp_path / "ensemble.yaml")
    run = tmp_path / "runs" / "toy"
    code = main(["run", str(problem), "--config", str(config), "--out", str(run),
                 "--sandbox", "local", "--json"])
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert code == 0, summary
    assert summary["finished"] and summary["evaluations"] == EVALS

    with GitLineageStore.open(run / "lineage.git") as store:
        cands = list(store.candidates())
        ops = {c.operator for c in cands}
        assert {"seed", "diff", "rewrite", "crossover"} <= ops
        models = {c.model for c in cands if c.model}
        assert models == {"openai/gpt-4.1-mini", "anthropic/claude-haiku-4-5"}
        ok_llm = [c for c in cands if c.model and c.status.value == "ok"]
        assert len(ok_llm) >= EVALS // 2
        assert max(c.score or 0 for c in cands) > cands[0].score  # evolution made progress
        # the key never reached the sandbox
        assert all(c.metrics.get("key_visible", 0.0) == 0.0 for c in ok_llm)
        # costs from litellm's price map, per candidate
        assert all(c.cost > 0 and c.tokens["input"] > 0 for c in ok_llm)
        # exchanges in the commits
        for c in ok_llm:
            files = store.files(c.id)
            assert "exchange/prompt.md" in files and "exchange/response.md" in files
        assert any("exchange/repair-1-prompt.md" in store.files(c.id) for c in cands)
        # faults survived and counted
        assert sum(int(c.extra.get("retries", 0)) for c in cands) >= 4
        failed = [c for c in cands if c.stage == "llm"]
        assert len(failed) == 1 and failed[0].model == "anthropic/claude-haiku-4-5"
        assert "529" in (failed[0].reason or "")
        # crossover children have two parent commits
        cross = next(c for c in cands if c.operator == "crossover" and c.status.value == "ok")
        assert len(cross.parents) == 2
        sha = store.commit_of(cross.id)
        line = subprocess.run(["git", "-C", str(run / "lineage.git"), "rev-list", "--parents",
                               "-n1", sha], capture_output=True, text=True, check=True).stdout
        assert len(line.split()) == 3
    # the ensemble choice follows the weights (3:1), and every request carried its model
    chosen = [r.model for r in llm_server.requests]
    assert chosen.count("gpt-4.1-mini") > chosen.count("claude-haiku-4-5") > 0
    # totals per model and operator in the event log and the summary
    progress = [e for e in read_events(run / "events.jsonl") if e["kind"] == "progress"][-1]
    assert progress["cost"] > 0 and progress["tokens"] > 0
    assert set(summary["by_model"]) == models
    assert {"diff", "rewrite", "crossover"} <= set(summary["by_operator"])
    # the key is in no file of the run (git objects are compressed: check through git)
    for path in run.rglob("*"):
        if path.is_file() and "lineage.git" not in path.parts:
            assert FAKE_KEY.encode() not in path.read_bytes(), path
    grep = subprocess.run(["git", "-C", str(run / "lineage.git"), "log", "--all", "-p"],
                          capture_output=True, text=True, check=True).stdout
    assert FAKE_KEY not in grep and "exchange/prompt.md" in grep
    assert FAKE_KEY not in json.dumps([r.body for r in llm_server.requests])

    # ---- replay: the server is gone, no key in the environment
    sent = len(llm_server.requests)
    llm_server.stop()
    pytest.MonkeyPatch().delenv("CODEEVO_TEST_KEY")
    again = tmp_path / "runs" / "toy-replay"
    code = main(["replay", str(run), "--out", str(again), "--json"])
    summary2 = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert code == 0, summary2
    assert len(llm_server.requests) == sent
    assert _lineage(again) == _lineage(run)
    assert summary2["cost"] == summary["cost"] and summary2["tokens"] == summary["tokens"]


def test_replay_past_the_recording_stops_with_the_missing_key(
    tmp_path: Path, llm_server: ScriptedLLMServer, fake_key: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    problem = make_toy_problem(tmp_path)
    llm_server.responder = ToyModel()
    config = _config(llm_server, tmp_path / "ensemble.yaml")
    run = tmp_path / "short"
    assert main(["run", str(problem), "--config", str(config), "--out", str(run),
                 "--sandbox", "local", "--evals", "4", "--quiet"]) == 0
    llm_server.stop()
    code = main(["replay", str(run), "--out", str(tmp_path / "long"), "--evals", "8",
                 "--json"])
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert code != 0 and not summary["finished"]
    assert "no recorded reply for request" in summary["reason"]
    assert summary["evaluations"] == 4


def test_replay_refuses_a_run_without_exchanges(tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    problem = make_toy_problem(tmp_path)
    run = tmp_path / "offline"
    assert main(["run", str(problem), "--out", str(run), "--sandbox", "local", "--evals", "2",
                 "--quiet"]) == 0
    assert main(["replay", str(run), "--out", str(tmp_path / "again")]) == 2
    assert "no recorded LLM exchanges" in capsys.readouterr().err
