"""The tuner next to LLM operators: models change structure, CMA-ES the constants — one run,
real HTTP to the loopback server, real local sandbox, real git lineage."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from codeevo.cli import main
from codeevo.lineage.store import GitLineageStore
from codeevo.mutation.literals import read_literals

from .server import ScriptedLLMServer
from .toy import ToyModel, make_toy_problem

EVALS = 16


@pytest.mark.slow
def test_llm_diffs_and_tune_share_a_run(tmp_path: Path, llm_server: ScriptedLLMServer,
                                        fake_key: str,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    problem = make_toy_problem(tmp_path)
    llm_server.responder = ToyModel()
    cfg = {
        "seed": 3,
        "population": {"num_islands": 1, "num_inspirations": 1, "num_top_programs": 1},
        "operators": {"mix": {"diff": 0.5, "tune": 0.5}, "tune_population": 4},
        "llm": {"models": [{"name": "openai/gpt-4.1-mini", "api_base": llm_server.base_url
                            + "/v1", "api_key_env": "CODEEVO_TEST_KEY", "max_tokens": 256}],
                "timeout": 5.0, "max_retries": 2, "backoff_base": 0.01},
        "engine": {"max_in_flight": 1},
        "budget": {"max_evaluations": EVALS},
    }
    config = tmp_path / "mix.yaml"
    config.write_text(yaml.safe_dump(cfg))
    run = tmp_path / "runs" / "toy"
    code = main(["run", str(problem), "--config", str(config), "--out", str(run),
                 "--sandbox", "local", "--json"])
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert code == 0, summary

    with GitLineageStore.open(run / "lineage.git") as store:
        cands = list(store.candidates())
        by_op = {op: [c for c in cands if c.operator == op] for op in ("diff", "tune")}
        assert by_op["diff"] and by_op["tune"], [c.operator for c in cands]
        # LLM children cost tokens; the tuner's never call a model
        assert all(c.model == "openai/gpt-4.1-mini" for c in by_op["diff"])
        assert all(c.model is None and c.cost == 0 for c in by_op["tune"])
        for c in by_op["tune"]:
            assert len(c.parents) == 1  # one suggestion = one child of the elite
            files = store.files(c.id)
            assert "exchange/tune.json" in files
            child, parent = store.program(c.id), store.program(c.parents[0])
            # same structure as its parent, other constants
            assert read_literals(child).skeleton == read_literals(parent).skeleton
            assert child != parent
        # each works on the other's children: the tuner on programs an LLM diff made (a new
        # skeleton: the diff's comment), the model on programs the tuner made
        diff_ids, tune_ids = {c.id for c in by_op["diff"]}, {c.id for c in by_op["tune"]}
        assert any(c.parents[0] in diff_ids for c in by_op["tune"])
        assert any(c.parents[0] in tune_ids for c in by_op["diff"])
    # only the diff proposals reached the server
    assert len(llm_server.requests) == len(by_op["diff"])
