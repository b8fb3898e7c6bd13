"""The bandit against the loopback server, through litellm, the local sandbox and the lineage:
one model's replies improve the score and the other's don't; of two equally good models the
cheaper one gets the proposals. Then a resumed run rebuilds the bandit from the lineage."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from codeevo.cli import main
from codeevo.events import read_events
from codeevo.lineage.store import GitLineageStore

from .server import LoggedRequest, Reply, ScriptedLLMServer, ok

SEED = "# score = X\n# EVOLVE-BLOCK-START\nX = 0.0\n# EVOLVE-BLOCK-END\n\n\ndef value():\n" \
       "    return X\n"
EVALUATOR = """def full(ctx):
    run = ctx.run_candidate("value")
    if run.status != "ok":
        return {"score": 0.0, "status": "failed", "reason": str(run.error)}
    return {"score": float(run.value)}
"""
_X = re.compile(r"^X = (\S+)$", re.MULTILINE)


def _problem(root: Path) -> Path:
    prob, ev = root / "problems" / "line", root / "evaluators" / "line"
    prob.mkdir(parents=True)
    ev.mkdir(parents=True)
    (ev / "evaluator.py").write_text(EVALUATOR)
    (prob / "initial.py").write_text(SEED)
    (prob / "prompt.md").write_text("Make value() as large as you can.\n")
    (prob / "problem.yaml").write_text(
        "name: line\nstages:\n  - {name: full, function: full, timeout: 20}\n")
    return prob


def responder(steps: dict[str, float]):  # type: ignore[no-untyped-def]
    """Each model moves X by its step (a SEARCH/REPLACE of the current program's line)."""
    def answer(req: LoggedRequest) -> Reply:
        user = next(m["content"] for m in req.body["messages"] if m["role"] == "user")
        if "```python\n" not in user:  # the insight summariser asks too
            return ok("- raising X raises the score", tokens_in=500, tokens_out=20)
        current = user.split("```python\n", 1)[1]
        x = float(_X.search(current).group(1))  # type: ignore[union-attr]
        new = round(x + steps[req.model], 6)
        return ok(f"<<<<<<< SEARCH\nX = {_X.search(current).group(1)}\n=======\n"  # type: ignore[union-attr]
                  f"X = {new}\n>>>>>>> REPLACE\n", tokens_in=1000, tokens_out=100)
    return answer


def _config(server: ScriptedLLMServer, path: Path, prices: dict[str, float],
            evals: int) -> Path:
    models = [{"name": f"openai/{name}", "api_base": server.base_url + "/v1",
               "input_price_per_mtok": price, "output_price_per_mtok": price}
              for name, price in prices.items()]
    path.write_text(yaml.safe_dump({
        "seed": 11, "llm": {"models": models, "timeout": 10, "max_retries": 1},
        "operators": {"mix": {"diff": 1.0}},
        "population": {"num_islands": 1},
        "engine": {"max_in_flight": 1},
        "budget": {"max_evaluations": evals},
    }))
    return path


def _by_model(run: Path, n: int = 100) -> dict[str, int]:
    with GitLineageStore.open(run / "lineage.git") as store:
        cands = [c for c in store.candidates() if c.operator != "seed"][:n]
    assert len(cands) == n
    out: dict[str, int] = {}
    for c in cands:
        out[str(c.model)] = out.get(str(c.model), 0) + 1
    return out


@pytest.mark.slow
def test_bandit_sends_most_proposals_to_the_improving_model(
        tmp_path: Path, llm_server: ScriptedLLMServer,
        capsys: pytest.CaptureFixture[str]) -> None:
    llm_server.responder = responder({"good-model": 1.0, "bad-model": -1.0})
    cfg = _config(llm_server, tmp_path / "c.yaml", {"good-model": 1.0, "bad-model": 1.0},
                  evals=101)
    run = tmp_path / "run"
    code = main(["run", str(_problem(tmp_path)), "--config", str(cfg), "--out", str(run),
                 "--sandbox", "local", "--json"])
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert code == 0 and summary["finished"], summary
    counts = _by_model(run)
    assert counts.get("openai/good-model", 0) >= 75, counts
    # the allocation over time is in the events (one every 10 proposals)
    reports = [e for e in read_events(run / "events.jsonl") if e["kind"] == "bandit"]
    assert len(reports) >= 10
    good = [a for a in reports[-1]["arms"] if a["model"] == "openai/good-model"][0]
    assert good["share"] >= 0.7 and good["improved"] >= 70
    assert summary["bandit"]["policy"] == "thompson"

    # resume: the bandit is rebuilt from the lineage, not started over
    code = main(["resume", str(run), "--evals", "111", "--sandbox", "local", "--json"])
    capsys.readouterr()
    assert code == 0
    events = list(read_events(run / "events.jsonl"))
    restart = max(i for i, e in enumerate(events) if e["kind"] == "started")
    rebuilt = next(e for e in events[restart:] if e["kind"] == "bandit")
    assert rebuilt["proposals"] >= 100  # the first report after resume counts the old ones
    after = [e for e in events[restart:] if e["kind"] == "evaluated"]
    assert sum(e["model"] == "openai/good-model" for e in after) >= 0.75 * len(after)


@pytest.mark.slow
def test_of_two_equally_good_models_the_cheaper_gets_the_proposals(
        tmp_path: Path, llm_server: ScriptedLLMServer,
        capsys: pytest.CaptureFixture[str]) -> None:
    llm_server.responder = responder({"cheap-model": 1.0, "dear-model": 1.0})
    cfg = _config(llm_server, tmp_path / "c.yaml", {"cheap-model": 0.5, "dear-model": 5.0},
                  evals=101)
    run = tmp_path / "run"
    code = main(["run", str(_problem(tmp_path)), "--config", str(cfg), "--out", str(run),
                 "--sandbox", "local", "--json"])
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert code == 0 and summary["finished"], summary
    counts = _by_model(run)
    assert counts.get("openai/cheap-model", 0) >= 75, counts
    assert summary["by_model"]["openai/cheap-model"]["cost"] < summary["by_model"][
        "openai/dear-model"]["cost"] * 10
