"""Novelty screening with a litellm embedding model on the loopback server: vectors stored in
embeddings.jsonl, a resumed run asks only for new programs, a failing model hands over to the
offline embedding."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import numpy as np
import pytest
import yaml

from codeevo.cli import main
from codeevo.events import read_events
from codeevo.lineage.store import GitLineageStore
from codeevo.mutation.embedding import LiteLLMEmbedder
from codeevo.mutation.novelty import JUDGE_SYSTEM

from .server import LoggedRequest, Reply, ScriptedLLMServer, ok, server_error
from .toy import ToyModel, make_toy_problem

EMB = "openai/text-embedding-3-small"


def test_litellm_embedder_against_the_loopback_server(llm_server: ScriptedLLMServer) -> None:
    embedder = LiteLLMEmbedder(EMB, api_base=llm_server.base_url + "/v1")
    got = asyncio.run(embedder.embed(["X = 1.0", "Y = 2.0\nX = 1.0"]))
    assert len(got.vectors) == 2 and got.tokens > 0
    assert all(abs(float(np.linalg.norm(v)) - 1.0) < 1e-5 for v in got.vectors)
    (req,) = [r for r in llm_server.requests if r.path.endswith("embeddings")]
    assert req.body["input"] == ["X = 1.0", "Y = 2.0\nX = 1.0"]


def _config(server: ScriptedLLMServer, path: Path, evals: int) -> Path:
    path.write_text(yaml.safe_dump({
        "seed": 4, "population": {"num_islands": 1},
        "llm": {"models": [{"name": "openai/toy", "api_base": server.base_url + "/v1"}],
                "timeout": 10, "max_retries": 1},
        "novelty": {"embedding_model": EMB, "api_base": server.base_url + "/v1"},
        "insights": {"enabled": False},
        "engine": {"max_in_flight": 1}, "budget": {"max_evaluations": evals}}))
    return path


def _embedded(server: ScriptedLLMServer, start: int = 0) -> list[str]:
    return [t for r in server.requests[start:] if r.path.endswith("embeddings")
            for t in r.body["input"]]


@pytest.mark.slow
def test_run_stores_model_embeddings_and_resume_reuses_them(
        tmp_path: Path, llm_server: ScriptedLLMServer,
        capsys: pytest.CaptureFixture[str]) -> None:
    llm_server.responder = ToyModel()
    problem = make_toy_problem(tmp_path)
    run = tmp_path / "runs" / "toy"
    assert main(["run", str(problem), "--config", str(_config(llm_server, tmp_path / "c.yaml",
                                                                 8)),
                 "--out", str(run), "--sandbox", "local", "--quiet"]) == 0
    rows = [json.loads(x) for x in (run / "embeddings.jsonl").read_text().splitlines()]
    assert rows and {r["m"] for r in rows} == {EMB}
    first = len(_embedded(llm_server))
    assert first == len(rows)  # each program embedded once
    before = len(llm_server.requests)
    assert main(["resume", str(run), "--evals", "12", "--sandbox", "local", "--quiet"]) == 0
    capsys.readouterr()
    again = _embedded(llm_server, before)
    new_rows = len((run / "embeddings.jsonl").read_text().splitlines()) - len(rows)
    assert len(again) == new_rows  # only programs not seen before were sent
    assert new_rows <= 5  # the children of the resumed part, not the restored archive


@pytest.mark.slow
def test_a_failing_embedding_model_hands_over_to_the_offline_embedding(
        tmp_path: Path, llm_server: ScriptedLLMServer,
        capsys: pytest.CaptureFixture[str]) -> None:
    llm_server.responder = ToyModel()
    llm_server.script(*[server_error(401)] * 3, model="text-embedding-3-small")
    problem = make_toy_problem(tmp_path)
    run = tmp_path / "runs" / "toy"
    code = main(["run", str(problem), "--config", str(_config(llm_server, tmp_path / "c.yaml",
                                                                 6)),
                 "--out", str(run), "--sandbox", "local", "--json"])
    out = capsys.readouterr()
    assert code == 0
    summary = json.loads(out.out.strip().splitlines()[-1])
    assert summary["finished"] and summary["novelty"]["checked"] >= 5
    rows = [json.loads(x) for x in (run / "embeddings.jsonl").read_text().splitlines()]
    assert {r["m"] for r in rows} == {"offline-ngram-v1"}
    events = list(read_events(run / "events.jsonl"))
    stopped = [e for e in events if e["kind"] == "stopped"][-1]
    assert stopped["novelty"]["checked"] >= 5
    (warning,) = [e for e in events if e["kind"] == "warning"]
    assert "offline embedding used" in warning["message"] and "401" in warning["message"]


class _Judge:
    """The toy model, except that it judges: every other too-similar child is NOT NOVEL."""

    def __init__(self) -> None:
        self.toy = ToyModel()
        self.verdicts = 0

    def __call__(self, req: LoggedRequest) -> Reply:
        system = next((m.get("content", "") for m in req.body.get("messages", [])
                       if m.get("role") == "system"), "")
        if system != JUDGE_SYSTEM:
            return self.toy(req)
        self.verdicts += 1
        if self.verdicts % 2:
            return ok("NOT NOVEL: only X moved a little", tokens_in=300, tokens_out=8)
        return ok("NOVEL: worth a look", tokens_in=300, tokens_out=5)


@pytest.mark.slow
def test_the_llm_judge_decides_on_the_loopback_server(
        tmp_path: Path, llm_server: ScriptedLLMServer,
        capsys: pytest.CaptureFixture[str]) -> None:
    """With novelty.judge, a child above the threshold goes to the model: its NOT NOVEL
    rejects the child before the sandbox (rejected:novelty, the transcript in the commit), its
    NOVEL lets the child be evaluated; the judge's tokens are charged to the child."""
    judge = _Judge()
    llm_server.responder = judge
    problem = make_toy_problem(tmp_path)
    config = tmp_path / "c.yaml"
    config.write_text(yaml.safe_dump({
        "seed": 4, "population": {"num_islands": 1},
        "llm": {"models": [{"name": "openai/toy", "api_base": llm_server.base_url + "/v1"}],
                "timeout": 10, "max_retries": 1},
        "novelty": {"enabled": True, "threshold": 0.01, "judge": True},  # every child is judged
        "insights": {"enabled": False},
        "engine": {"max_in_flight": 1}, "budget": {"max_evaluations": 6}}))
    run = tmp_path / "runs" / "toy"
    code = main(["run", str(problem), "--config", str(config), "--out", str(run),
                 "--sandbox", "local", "--json"])
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert code == 0 and summary["finished"]
    assert judge.verdicts >= 6 and summary["novelty"]["judged"] == judge.verdicts
    with GitLineageStore.open(run / "lineage.git") as store:
        cands = [c for c in store.candidates() if c.operator != "seed"]
        rejected = [c for c in cands if c.stage == "novelty"]
        # a child nearest to a recent candidate (not an archive elite) is rejected unjudged
        judged = [c for c in rejected if "judged not novel" in (c.reason or "")]
        passed = [c for c in cands if c.stage != "novelty"]
        assert summary["novelty"]["rejected"] == len(rejected)
        assert len(judged) == (judge.verdicts + 1) // 2 and len(passed) == judge.verdicts // 2
        for c in judged:
            assert c.status.value == "rejected" and c.score is None
            assert "judged not novel by openai/toy" in (c.reason or "")
            files = store.files(c.id)
            assert "exchange/novelty-prompt.md" in files
            assert "exchange/novelty-response.md" in files
            # the proposal's tokens (toy: 700 rewrite, 800 diff, 900 crossover) and the judge's
            assert c.tokens["input"] in (700 + 300, 800 + 300, 900 + 300)
        assert all(c.status.value == "ok" for c in passed)  # judged NOVEL: evaluated
    screened = [e for e in read_events(run / "events.jsonl")
                if e["kind"] == "screened" and e.get("stage") == "novelty"]
    assert len(screened) == len(rejected)
