"""`codeevo replay RUN --out NEW_RUN [--evals N]`: rerun a run from its recorded LLM exchanges.

The new run has the recorded run's problem, config and seed; its LLM client answers only from
the recorded store (`llm.cache: replay`, reading RUN/llm/), so no request goes to the network
and no key is needed. The engine follows the recorded order of starts and records
(codeevo.schedule), so a run made with many candidates in flight replays to the same lineage.
A request the recording does not hold (the replay diverged) stops it with a message naming
the request's key.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from codeevo.errors import ConfigError, RunDirError


def register(sub: Any) -> None:
    p = sub.add_parser("replay", help="rerun a run from its recorded LLM replies (no network)")
    p.add_argument("run_dir", type=Path, help="the recorded run")
    p.add_argument("--out", type=Path, required=True, help="directory of the new run")
    p.add_argument("--evals", type=int,
                   help="stop after N evaluations (default: where the recording ends)")
    p.add_argument("--quiet", action="store_true", help="no progress output")
    p.add_argument("--json", action="store_true", help="print the outcome as one JSON object")
    p.set_defaults(handler=cmd_replay)


def replay_config(run_dir: Path, evals: int | None = None) -> tuple[Any, Any]:
    """(problem, config) for replaying `run_dir`: its config with the LLM store set to replay
    from the run's llm/ directory."""
    from codeevo.problem import load_problem
    from codeevo.runs import RunDir

    run = RunDir.open(run_dir)
    if not run.llm_dir.is_dir() or not any(run.llm_dir.rglob("*.json")):
        raise RunDirError(f"{run.llm_dir}: no recorded LLM exchanges to replay "
                          "(was the run made with llm.cache: off, or without an LLM?)")
    problem = load_problem(run.problem_path(), run.problem_config_file())
    config = run.load_config()
    if not config.llm.models:
        raise ConfigError(f"{run.config_path}: llm.models is empty: nothing to replay")
    llm = config.llm.model_copy(update={"cache": "replay",
                                        "cache_dir": str(run.llm_dir.resolve())})
    # The recording's own order decides where the replay ends; time and spend do not (a
    # replay spends nothing and may run slower or faster than the recorded run).
    # Without --evals the replay ends where the recording ends; with it, it stops there or
    # goes past the recording (where its first request finds no recorded reply).
    if evals is not None and evals < 1:
        raise ConfigError("--evals: must be at least 1")
    budget = config.budget.model_copy(update={"max_wall_seconds": None, "max_tokens": None,
                                              "max_cost": None, "max_evaluations": evals})
    config = config.model_copy(update={"llm": llm, "budget": budget})
    return problem, type(config).model_validate(config.model_dump())


def replay_plan(run_dir: Path) -> Any:
    """The recorded run's order of starts and records (codeevo.schedule.ReplayPlan)."""
    from codeevo.lineage.store import GitLineageStore
    from codeevo.runs import RunDir
    from codeevo.schedule import ReplayPlan

    with GitLineageStore.open(RunDir.open(run_dir).lineage_path) as store:
        return ReplayPlan.from_candidates(store.candidates())


def cmd_replay(args: argparse.Namespace) -> int:
    from codeevo.cli.run_cmds import drive

    out: Path = args.out
    if out.resolve() == args.run_dir.resolve():
        raise RunDirError(f"{out}: --out must be a new directory, not the recorded run")
    if out.exists() and any(out.iterdir()):
        raise RunDirError(f"{out}: already exists and is not empty")
    problem, config = replay_config(args.run_dir, args.evals)
    plan = replay_plan(args.run_dir)
    if not plan.exact and not (args.quiet or args.json):
        print("replay: this run was recorded before codeevo kept the order of its candidates; "
              "it is replayed one candidate at a time, which is exact for runs made with "
              "engine.max_in_flight 1", file=sys.stderr)
    return int(drive(problem, config, out, resume=False, args=args, replay_plan=plan))
