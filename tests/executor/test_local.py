"""LocalExecutor: the sandbox on this machine, engine.eval_slots at a time."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from codeevo.config import StageConfig
from codeevo.executor.base import Executor
from codeevo.executor.local import LocalExecutor
from codeevo.sandbox.base import SandboxJob
from tests.doubles import TOY_SEED, LiteralSandbox


def _job(tmp_path: Path) -> SandboxJob:
    return SandboxJob(program=TOY_SEED, entry="p.py", evaluator_dir=tmp_path,
                      evaluator_module="evaluator",
                      stages=(StageConfig(name="full", function="full"),))


def test_slots_bound_the_sandbox_and_usage_tells(tmp_path: Path) -> None:
    sandbox = LiteralSandbox(delay=0.05)
    executor = LocalExecutor(sandbox, slots=2)
    assert isinstance(executor, Executor)
    seen = []

    async def main() -> None:
        await executor.start()
        jobs = [asyncio.create_task(executor.evaluate(_job(tmp_path))) for _ in range(5)]
        await asyncio.sleep(0.02)
        seen.append(executor.usage())
        done = await asyncio.gather(*jobs)
        assert {d.node for d in done} == {"local"} and {d.attempts for d in done} == {1}
        assert all(d.result.score is not None for d in done)
        await executor.close()

    asyncio.run(main())
    assert sandbox.max_in_flight == 2 and sandbox.calls == 5 and sandbox.closed
    assert (seen[0].nodes, seen[0].slots, seen[0].busy) == (1, 2, 2)
    assert executor.usage().busy == 0


def test_needs_a_slot() -> None:
    with pytest.raises(ValueError):
        LocalExecutor(LiteralSandbox(), slots=0)


def test_usage_fields_name_nodes_only_on_a_cluster() -> None:
    from codeevo.executor.base import NodeUsage, SlotUsage

    local = SlotUsage(1, 2, 1, (NodeUsage("local", 2, 1),)).fields()
    assert local == {"nodes": 1, "slots": 2, "busy": 1}
    cluster = SlotUsage(2, 3, 2, (NodeUsage("a/1", 1, 1), NodeUsage("b/2", 2, 1))).fields()
    assert cluster["per_node"] == {"a/1": [1, 1], "b/2": [1, 2]}
