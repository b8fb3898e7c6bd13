"""The example folders (problems/openevolve_knapsack, problems/shinka_spread) run end to end,
unchanged: offline with the AST operator, and with a model on the loopback server."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from codeevo.cli import main
from codeevo.events import read_events
from codeevo.lineage.store import GitLineageStore
from tests.llm.server import LoggedRequest, Reply, ScriptedLLMServer, ok

from .conftest import OE_EXAMPLE, SHINKA_EXAMPLE, codeevo

_ASSIGN = re.compile(r"^(?P<indent>[ \t]*)(?P<name>[A-Za-z_]\w*) = (?P<value>\d+\.\d+)\s*(#.*)?$",
                     re.MULTILINE)


@pytest.mark.parametrize("folder", [OE_EXAMPLE, SHINKA_EXAMPLE], ids=["openevolve", "shinka"])
def test_example_folder_runs_offline(folder: Path, tmp_path: Path) -> None:
    before = {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()}
    out = tmp_path / "run"
    r = codeevo("run", str(folder), "--evals", "14", "--seed", "3", "--out", str(out),
                "--sandbox", "local", "--json")
    assert r.returncode == 0, r.stderr
    summary = json.loads(r.stdout.strip().splitlines()[-1])
    assert summary["finished"] and summary["evaluations"] == 14
    with GitLineageStore.open(out / "lineage.git") as store:
        cands = list(store.candidates())
        seed = cands[0]
        assert seed.status.value == "ok" and seed.score is not None
        assert any(c.status.value == "ok" and c.operator == "ast" for c in cands[1:])
        assert summary["best_score"] >= seed.score
    assert "translated to a codeevo problem" in r.stderr
    after = {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()}
    assert after == before  # the folder is used as it is, never written to


class Nudger:
    """A model that nudges one float assignment of the current program (a diff; the n-th
    request moves the n-th assignment by a different step), and answers anything else with
    a lesson."""

    def __init__(self) -> None:
        self.n = 0

    def __call__(self, req: LoggedRequest) -> Reply:
        user = next(m["content"] for m in req.body["messages"] if m["role"] == "user")
        if "```python\n" not in user or "SEARCH/REPLACE" not in user:
            return ok("- small steps on the constants help")
        self.n += 1
        program = user.split("```python\n", 1)[1].split("```", 1)[0]
        found = list(_ASSIGN.finditer(program))
        m = found[self.n % len(found)]
        new = float(m["value"]) * (1.0 + 0.07 * (-1) ** self.n * (1 + self.n % 3))
        return ok(f"Nudge {m['name']}.\n<<<<<<< SEARCH\n{m.group(0)}\n=======\n"
                  f"{m['indent']}{m['name']} = {new:.6g}\n>>>>>>> REPLACE\n",
                  tokens_in=600, tokens_out=40)


@pytest.mark.slow
@pytest.mark.parametrize("folder", [OE_EXAMPLE, SHINKA_EXAMPLE], ids=["openevolve", "shinka"])
def test_example_folder_runs_with_the_loopback_model(
        folder: Path, tmp_path: Path, llm_server: ScriptedLLMServer,
        capsys: pytest.CaptureFixture[str]) -> None:
    llm_server.responder = Nudger()
    out = tmp_path / "run"
    args = ["run", str(folder), "--evals", "10", "--out", str(out), "--sandbox", "local",
            "--json", "--set", "engine.max_in_flight=1"]
    if folder == OE_EXAMPLE:  # an OpenEvolve-format --config naming the model, translated
        cfg = tmp_path / "oe.yaml"
        cfg.write_text(yaml.safe_dump({
            "llm": {"api_base": llm_server.base_url + "/v1", "models": [{"name": "nudger"}],
                    "timeout": 10, "retries": 1},
            "diff_based_evolution": True, "log_level": "DEBUG"}))
        args += ["--config", str(cfg)]
    else:
        # shinka.yaml sets max_api_costs: a cost budget needs the model's price (free here)
        args += ["--set", "llm.models=[{name: openai/nudger, api_base: "
                 f"{llm_server.base_url}/v1, input_price_per_mtok: 0, "
                 "output_price_per_mtok: 0}]", "--set", "operators.mix={diff: 1}"]
    code = main(args)
    captured = capsys.readouterr()
    summary = json.loads(captured.out.strip().splitlines()[-1])
    assert code == 0 and summary["finished"], summary
    if folder == OE_EXAMPLE:
        assert "log_level" in captured.err  # the --config file's warning block
    assert summary["by_model"]["openai/nudger"]["calls"] >= 9
    with GitLineageStore.open(out / "lineage.git") as store:
        ok_children = [c for c in store.candidates()
                       if c.operator == "diff" and c.status.value == "ok"]
    assert ok_children, "no LLM child was evaluated"
    requests = [r for r in llm_server.requests if "SEARCH/REPLACE" in json.dumps(r.body)]
    assert requests and all(r.model == "nudger" for r in requests)
    kinds = {e["kind"] for e in read_events(out / "events.jsonl")}
    assert {"started", "evaluated", "stopped", "notice"} <= kinds
