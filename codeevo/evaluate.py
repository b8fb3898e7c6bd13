"""Score one program outside a run (``codeevo eval``, reports, baselines), where the run
would: this machine's sandbox, or a Ray cluster's node with ``--executor ray``."""

from __future__ import annotations

import asyncio
from typing import Any

from codeevo.assets import prepare_assets, with_time_scale
from codeevo.candidate import EvalResult, Status
from codeevo.config import RunConfig
from codeevo.executor.base import Executor
from codeevo.executor.local import LocalExecutor
from codeevo.executor.select import make_executor
from codeevo.problem import Problem
from codeevo.records import builtin_features
from codeevo.sandbox.base import Sandbox, SandboxJob


async def evaluate_program(
    problem: Problem,
    program: str,
    config: RunConfig,
    *,
    evaluator_config: dict[str, Any] | None = None,
    sandbox: Sandbox | None = None,
) -> EvalResult:
    """Run the problem's cascade on `program` in the configured sandbox.

    `evaluator_config` replaces the problem's `evaluator.config` (e.g. ``{"split": "heldout"}``
    merged by the caller); the prepare hook sees the same config.
    """
    problem.check_requirements()
    ev_cfg = problem.config.evaluator.config if evaluator_config is None else evaluator_config
    executor: Executor
    if sandbox is None:
        executor, _ = make_executor(config, problem)
    else:
        executor = LocalExecutor(sandbox, 1)
    try:
        assets = await asyncio.to_thread(prepare_assets, problem, ev_cfg)
        problem = with_time_scale(problem, assets)
        await executor.start()
        job = SandboxJob(
            program=program,
            entry=problem.entry_name,
            evaluator_dir=problem.evaluator_dir,
            evaluator_module=problem.config.evaluator.module,
            stages=tuple(problem.config.stages),
            evaluator_config=ev_cfg,
            assets_dir=assets,
            warm_imports=tuple(problem.config.warm_imports),
        )
        result = (await executor.evaluate(job)).result
    finally:
        if sandbox is None:  # a sandbox handed in stays its owner's to close
            await executor.close()
    if result.status == Status.OK:
        feats = builtin_features(program)
        feats.update(result.features)
        result = result.model_copy(update={"features": feats})
    return result
