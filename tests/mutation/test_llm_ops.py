"""LLM operators with the scripted client double: children, repairs, failures, accounting.
(tests/llm/test_e2e.py runs them through litellm against a real HTTP server.)"""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from codeevo.candidate import Candidate
from codeevo.config import ProblemConfig, RunConfig, StageConfig
from codeevo.llm import AllModelsFailedError, LLMCallError, LLMReply, ScriptedLLMClient
from codeevo.mutation.base import Operator, ParentView, ProposalRequest
from codeevo.mutation.diff import DiffError
from codeevo.mutation.llm_ops import (
    LLMCrossoverOperator,
    LLMDiffOperator,
    LLMRewriteOperator,
    make_llm_operators,
    rewrite_blocks,
)
from codeevo.problem import Problem

PROGRAM = """import math

# EVOLVE-BLOCK-START
def f(x):
    return x
# EVOLVE-BLOCK-END

def main():
    return f(3)
"""
OTHER = PROGRAM.replace("return x\n", "return x * x\n")
DIFF = "Try squaring.\n<<<<<<< SEARCH\n    return x\n=======\n    return x ** 3\n>>>>>>> REPLACE\n"


def request(second: bool = False) -> ProposalRequest:
    cfg = ProblemConfig(name="toy", stages=[StageConfig(name="main", function="evaluate")])
    prob = Problem(Path("/x"), cfg, PROGRAM, "Maximise f(3).", Path("/x"))
    parent = ParentView(Candidate(id="c000004", seq=4, score=3.0), PROGRAM)
    other = ParentView(Candidate(id="c000002", seq=2, score=9.0), OTHER) if second else None
    return ProposalRequest(problem=prob, parent=parent, second_parent=other)


async def test_diff_operator_applies_the_reply() -> None:
    client = ScriptedLLMClient([DIFF], model="m/one", tokens=(120, 30), cost=0.002)
    prop = await LLMDiffOperator(client).propose(request(), random.Random(0))
    assert prop.error is None and prop.operator == "diff" and prop.model == "m/one"
    assert prop.program == PROGRAM.replace("return x\n", "return x ** 3\n")
    assert prop.parents == ("c000004",)
    assert (prop.tokens_in, prop.tokens_out, prop.cost) == (120, 30, 0.002)
    assert set(prop.exchange) == {"prompt.md", "response.md"}
    assert prop.exchange["response.md"] == DIFF
    prompt = prop.exchange["prompt.md"]
    assert "## user" in prompt and "Maximise f(3)." in prompt


async def test_bad_reply_is_repaired_with_the_error() -> None:
    bad = "<<<<<<< SEARCH\n    return y\n=======\n    return 0\n>>>>>>> REPLACE\n"
    client = ScriptedLLMClient([bad, DIFF], tokens=(100, 10), cost=0.01)
    prop = await LLMDiffOperator(client, repair_turns=2).propose(request(), random.Random(0))
    assert prop.program is not None and "x ** 3" in prop.program
    assert set(prop.exchange) == {"prompt.md", "response.md", "repair-1-prompt.md",
                                  "repair-1-response.md"}
    assert "block 1: the SEARCH text was not found" in prop.exchange["repair-1-prompt.md"]
    # the repair turn continues the conversation: assistant reply, then the error
    second = client.requests[1]
    assert [m["role"] for m in second] == ["system", "user", "assistant", "user"]
    assert second[2]["content"] == bad and "not found" in second[3]["content"]
    assert (prop.tokens_in, prop.tokens_out) == (200, 20)
    assert prop.cost == pytest.approx(0.02)


async def test_repairs_run_out_with_stage_and_reason() -> None:
    client = ScriptedLLMClient(["I think it is fine.", "Still fine.", "Really."])
    prop = await LLMDiffOperator(client, repair_turns=2).propose(request(), random.Random(0))
    assert prop.program is None and prop.stage == "parse"
    assert prop.error is not None and "no SEARCH/REPLACE blocks" in prop.error
    assert "after 3 turns" in prop.error
    assert "repair-2-response.md" in prop.exchange and len(client.requests) == 3


async def test_result_that_does_not_parse_is_sent_back() -> None:
    broken = "<<<<<<< SEARCH\n    return x\n=======\n    return x +\n>>>>>>> REPLACE\n"
    client = ScriptedLLMClient([broken])
    prop = await LLMDiffOperator(client, repair_turns=0).propose(request(), random.Random(0))
    assert prop.stage == "parse" and prop.error is not None
    assert "not valid Python: line 5" in prop.error


async def test_no_op_diff_is_an_apply_failure() -> None:
    same = "<<<<<<< SEARCH\n    return x\n=======\n    return x\n>>>>>>> REPLACE\n"
    prop = await LLMDiffOperator(ScriptedLLMClient([same]), 0).propose(request(),
                                                                       random.Random(0))
    assert prop.stage == "apply" and "exactly as it was" in (prop.error or "")


async def test_transport_failure_is_stage_llm() -> None:
    client = ScriptedLLMClient([LLMCallError("HTTP 503: overloaded", "m/two", retries=4,
                                             latency=7.5)])
    prop = await LLMDiffOperator(client).propose(request(), random.Random(0))
    assert prop.program is None and prop.stage == "llm" and prop.model == "m/two"
    assert "HTTP 503" in (prop.error or "") and prop.retries == 4 and prop.latency == 7.5
    assert "error.md" in prop.exchange and "prompt.md" in prop.exchange


async def test_all_models_dead_propagates() -> None:
    client = ScriptedLLMClient([AllModelsFailedError("every LLM model was given up on")])
    with pytest.raises(AllModelsFailedError):
        await LLMDiffOperator(client).propose(request(), random.Random(0))


async def test_repair_turn_pins_the_model() -> None:
    seen: list[str | None] = []

    class Pinning(ScriptedLLMClient):
        async def complete(self, messages, rng, model=None):  # type: ignore[no-untyped-def]
            seen.append(model)
            return await super().complete(messages, rng, model)

    client = Pinning([LLMReply("nothing", "m/a"), LLMReply(DIFF, "m/a")])
    prop = await LLMDiffOperator(client).propose(request(), random.Random(0))
    assert prop.program is not None and seen == [None, "m/a"]


async def test_rewrite_replaces_block_and_restores_fixed_parts() -> None:
    reply = "Here:\n```python\ndef f(x):\n    return 10 * x\n```\n"
    prop = await LLMRewriteOperator(ScriptedLLMClient([reply])).propose(request(),
                                                                        random.Random(0))
    assert prop.program == PROGRAM.replace("return x\n", "return 10 * x\n")
    assert prop.operator == "rewrite"


def test_rewrite_accepts_a_whole_program_and_keeps_fixed_parts() -> None:
    whole = ("```python\nimport os  # changed fixed part\n# EVOLVE-BLOCK-START\ndef f(x):\n"
             "    return 7\n# EVOLVE-BLOCK-END\n```")
    child = rewrite_blocks(PROGRAM, whole)
    assert child == PROGRAM.replace("return x\n", "return 7\n")


def test_rewrite_errors() -> None:
    with pytest.raises(DiffError, match="no ```python fenced code block"):
        rewrite_blocks(PROGRAM, "def f(x): return 2")
    with pytest.raises(DiffError, match="expected 1 fenced code block.*found 2"):
        rewrite_blocks(PROGRAM, "```python\na = 1\n```\n```python\nb = 2\n```")


async def test_crossover_names_both_parents() -> None:
    reply = "```python\ndef f(x):\n    return x * x * x\n```"
    client = ScriptedLLMClient([reply])
    prop = await LLMCrossoverOperator(client).propose(request(second=True), random.Random(0))
    assert prop.parents == ("c000004", "c000002") and prop.operator == "crossover"
    assert prop.program is not None and "x * x * x" in prop.program
    assert "return x * x" in client.requests[0][1]["content"]  # program B was shown


async def test_crossover_without_second_parent_asks_nothing() -> None:
    client = ScriptedLLMClient([])
    prop = await LLMCrossoverOperator(client).propose(request(), random.Random(0))
    assert prop.program is None and prop.stage == "propose" and not client.requests


def test_factory_builds_three_operators() -> None:
    cfg = RunConfig.model_validate({"operators": {"repair_turns": 5}})
    ops = make_llm_operators(cfg, ScriptedLLMClient())
    assert sorted(ops) == ["crossover", "diff", "rewrite"]
    for name, op in ops.items():
        assert isinstance(op, Operator) and op.name == name
        assert op.repair_turns == 5  # type: ignore[attr-defined]
