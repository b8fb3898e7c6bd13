"""Token and dollar budgets are ceilings: with many requests in flight, what the server bills
never passes the budget, and the stop line says what was spent."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest
import yaml

from codeevo.budget import BudgetReached, SpendCeiling, input_token_bound
from codeevo.cli import main
from codeevo.events import read_events

from .server import LoggedRequest, Reply, ScriptedLLMServer
from .toy import ToyModel, make_toy_problem


class BillingToy:
    """The toy model, adding up the tokens the server reports (what a provider bills)."""

    def __init__(self) -> None:
        self.model = ToyModel()
        self.tokens = 0
        self.requests = 0
        self._lock = threading.Lock()

    def __call__(self, req: LoggedRequest) -> Reply:
        reply = self.model(req)
        with self._lock:
            self.tokens += reply.tokens_in + reply.tokens_out
            self.requests += 1
        return reply


def _config(server: ScriptedLLMServer, path: Path, **budget: object) -> Path:
    cfg = {
        "seed": 3,
        "population": {"num_islands": 2},
        "llm": {"models": [{"name": "openai/gpt-4.1-mini", "api_base": server.base_url + "/v1",
                            "api_key_env": "CODEEVO_TEST_KEY", "max_tokens": 128,
                            "input_price_per_mtok": 2.0, "output_price_per_mtok": 8.0}],
                "timeout": 5.0, "max_retries": 1, "backoff_base": 0.01},
        "engine": {"proposal_slots": 16, "eval_slots": 2},
        "budget": {"max_evaluations": 500, **budget},
    }
    path.write_text(yaml.safe_dump(cfg))
    return path


@pytest.mark.parametrize("budget, spent_key", [
    ({"max_tokens": 5000}, "tokens"),
    ({"max_cost": 0.012}, "cost"),
])
def test_budget_is_a_ceiling_with_sixteen_requests_in_flight(
    tmp_path: Path, llm_server: ScriptedLLMServer, fake_key: str,
    capsys: pytest.CaptureFixture[str], budget: dict[str, object], spent_key: str,
) -> None:
    billing = BillingToy()
    llm_server.responder = billing
    problem = make_toy_problem(tmp_path)
    config = _config(llm_server, tmp_path / "c.yaml", **budget)
    run = tmp_path / "run"
    code = main(["run", str(problem), "--config", str(config), "--out", str(run),
                 "--sandbox", "local"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert billing.requests >= 3  # the budget allowed several requests, not zero
    # every toy reply bills tokens_in+tokens_out; dollars at $2 in / $8 out per million
    if spent_key == "tokens":
        assert billing.tokens <= 5000
        assert "token budget reached (5000); spent" in out and "of 5,000 tokens" in out
    else:
        stopped = [e for e in read_events(run / "events.jsonl") if e["kind"] == "stopped"][-1]
        assert "cost budget reached ($0.012); spent $" in stopped["reason"]
        totals = json.loads(_best_json(run, capsys))["totals"]
        assert totals["cost"] <= 0.012
    summary_tokens = sum(int(e.get("tokens", {}).get("input", 0))
                         + int(e.get("tokens", {}).get("output", 0))
                         for e in read_events(run / "events.jsonl") if e["kind"] == "evaluated")
    assert summary_tokens <= billing.tokens  # the lineage never invents spend


def _best_json(run: Path, capsys: pytest.CaptureFixture[str]) -> str:
    assert main(["best", str(run), "--json"]) == 0
    return capsys.readouterr().out.strip().splitlines()[-1]


def test_ceiling_reserves_worst_cases_and_settles_actuals() -> None:
    ceiling = SpendCeiling(max_tokens=1000)
    a = ceiling.reserve(600, 0.0)
    with pytest.raises(BudgetReached, match=r"token budget reached \(1000\)"):
        ceiling.reserve(500, 0.0)  # 600 held + 500 > 1000
    ceiling.settle(a, tokens=200)  # it really cost 200: room again
    b = ceiling.reserve(700, 0.0)
    assert ceiling.spent_tokens == 200 and ceiling.reserved_tokens == 700
    ceiling.settle(b)  # failed: nothing spent
    assert ceiling.spent_tokens == 200 and ceiling.reserved_tokens == 0
    assert ceiling.refused is not None  # the first refusal is kept for the stop reason


def test_input_bound_is_never_below_a_byte_tokenizer() -> None:
    texts = ["héllo wörld " * 50, "```python\nX = 1\n```"]
    bound = input_token_bound(texts)
    assert bound >= sum(len(t.encode()) for t in texts)
