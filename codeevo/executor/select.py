"""Pick the executor for a run: ``executor.kind`` local (this machine) or ray (a cluster)."""

from __future__ import annotations

from codeevo.config import RunConfig
from codeevo.errors import ConfigError
from codeevo.executor.base import Executor
from codeevo.executor.local import LocalExecutor
from codeevo.problem import Problem
from codeevo.sandbox.slots import resolve_eval_slots

RAY_MISSING = "--executor ray needs Ray: pip install 'codeevo[ray]'"


def make_executor(config: RunConfig, problem: Problem) -> tuple[Executor, str]:
    """The executor for this run (not started yet) and one line saying which and why."""
    if config.executor.kind == "ray":
        try:
            from codeevo.distributed.executor import RayExecutor
        except ImportError as exc:
            raise ConfigError(f"{RAY_MISSING} ({exc})") from exc
        ray_executor = RayExecutor(config, problem)
        return ray_executor, f"executor: ray ({ray_executor.where()})"
    from codeevo.sandbox.select import make_sandbox

    sandbox, how = make_sandbox(config, problem)
    slots = resolve_eval_slots(config.engine.eval_slots, config.sandbox, sandbox.name)
    return LocalExecutor(sandbox, slots), how
