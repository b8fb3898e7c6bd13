"""Wire a run together: problem + config + run directory → a ready Engine (new or resumed).

The CLI, the TUI and `codeevo replay` all start runs through here, so a run started anywhere
is an ordinary run directory.
"""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from codeevo.assets import prepare_assets, with_time_scale
from codeevo.budget import SpendCeiling
from codeevo.config import RunConfig
from codeevo.engine import Engine
from codeevo.events import EventLog
from codeevo.executor.select import make_executor
from codeevo.lineage.store import GitLineageStore
from codeevo.mutation.registry import make_operators_and_client
from codeevo.problem import Problem, load_problem
from codeevo.runs import RunDir
from codeevo.schedule import ReplayPlan
from codeevo.steering import make_steering


@dataclass
class Session:
    """An engine plus what must be closed after it ran."""

    engine: Engine
    run: RunDir
    notices: list[str]

    async def run_to_end(self) -> Any:
        try:
            return await self.engine.run()
        finally:
            self.close()

    def close(self) -> None:
        self.engine.store.close()
        self.engine.events.close()
        _pack_refs(self.run.lineage_path)
        self.run.release()


def _pack_refs(lineage: Path) -> None:
    """Fold the run's loose candidate refs into packed-refs: later loads read one file, not
    one per candidate. Safe with concurrent readers; a failure only costs load speed."""
    try:
        subprocess.run(["git", "-C", str(lineage), "pack-refs", "--all"],
                       capture_output=True, timeout=120, check=False)
    except (OSError, subprocess.SubprocessError):
        pass


async def open_session(
    problem: Problem,
    config: RunConfig,
    run_path: Path,
    *,
    resume: bool = False,
    on_event: Callable[[dict[str, Any]], None] | None = None,
    say: Callable[[str], None] | None = None,
    replay_plan: ReplayPlan | None = None,
) -> Session:
    """Create (or reopen) the run directory and build its engine. Nothing is written before the
    problem's requirements and the models have passed their pre-flight checks (ConfigError,
    exit 2, otherwise); `say` shows what a slow check is doing."""
    from codeevo.llm.preflight import preflight

    problem = problem.for_run(config)  # the run's evaluator.config overrides, if any
    problem.check_requirements()
    await preflight(config.llm, config.budget, say=say)
    notices: list[str] = problem.notices()
    ceiling = SpendCeiling(config.budget.max_tokens, config.budget.max_cost)
    operators, mix, notice, client = make_operators_and_client(config, run_path / "llm",
                                                               ceiling)
    if notice:
        notices.append(notice)
    executor, how = make_executor(config, problem)
    notices.append(how)
    run: RunDir | None = None
    try:
        if resume:
            run = RunDir.open(run_path)
            run.acquire()
        assets = await asyncio.to_thread(prepare_assets, problem)
        problem = with_time_scale(problem, assets)  # the assets' time_scale, if declared
        # A cluster that cannot run a single job fails here, before a new run directory exists.
        await executor.start()
        if executor.name != "local":
            use = executor.usage()
            notices.append(f"executor: {use.nodes} node(s), {use.slots} evaluation slot(s)")
        if run is not None:
            store = GitLineageStore.open(run.lineage_path)
        else:
            run = RunDir.create(run_path, problem.root, config, problem.metadata())
            run.acquire()
            store = GitLineageStore.create(run.lineage_path)
    except BaseException:
        await executor.close()
        if run is not None:
            run.release()
        raise
    events = EventLog(run.events_path)
    steering, steer_notes = make_steering(config, mix, client, run.path, store, problem.prompt)
    notices += steer_notes
    engine = Engine(problem, config, executor=executor, operators=operators, mix=mix,
                    store=store, events=events, assets_dir=assets, on_event=on_event,
                    ceiling=ceiling, steering=steering)
    engine.replay_plan = replay_plan
    if resume:
        try:
            n = engine.restore()
        except BaseException:
            store.close()
            events.close()
            await executor.close()
            run.release()
            raise
        # Only now, with the population rebuilt under the new settings, is config.yaml
        # rewritten: a resume that fails leaves the run as it was.
        run.save_config(config)
        notices.append(f"resumed {run_path}: {n} candidates restored from the lineage")
        if engine.rehomed:
            notices.append(f"islands: {engine.rehomed} candidates of islands beyond "
                           f"{config.population.num_islands - 1} were re-homed (island mod "
                           f"{config.population.num_islands})")
    for line in notices:
        events.emit("notice", message=line)
    return Session(engine, run, notices)


def problem_of(run: RunDir) -> Problem:
    return load_problem(run.problem_path(), run.problem_config_file())
