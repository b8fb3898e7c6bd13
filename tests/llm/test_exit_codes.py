"""When every model of the ensemble is given up on, the run stops with exit code 3 (as
docs/llm.md says), its reason naming the models."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from codeevo.cli import main

from .server import LoggedRequest, Reply, ScriptedLLMServer, server_error
from .toy import make_toy_problem


def test_every_model_given_up_exits_3(tmp_path: Path, llm_server: ScriptedLLMServer,
                                      fake_key: str, capsys: pytest.CaptureFixture[str]) -> None:
    def always_down(req: LoggedRequest) -> Reply:
        return server_error(503)

    llm_server.responder = always_down
    cfg = tmp_path / "c.yaml"
    cfg.write_text(yaml.safe_dump({
        "llm": {"models": [{"name": "openai/gpt-4.1-mini", "api_base": llm_server.base_url
                            + "/v1", "api_key_env": "CODEEVO_TEST_KEY"}],
                "max_retries": 0, "provider_failure_limit": 2, "timeout": 5.0},
        "budget": {"max_evaluations": 20}}))
    code = main(["run", str(make_toy_problem(tmp_path)), "--config", str(cfg),
                 "--out", str(tmp_path / "run"), "--sandbox", "local"])
    out = capsys.readouterr().out
    assert code == 3, out
    assert "LLM providers failing" in out and "gpt-4.1-mini" in out
