"""`codeevo replay RUN --out NEW_RUN [--evals N]`: rerun a run from its recorded LLM exchanges.

The new run has the recorded run's problem, config and seed; its LLM client answers only from
the recorded store (`llm.cache: replay`, reading RUN/llm/), so no request goes to the network
and no key is needed. A request the recording does not hold (the run went past its end, or
diverged) stops the replay with a message naming the request's key.
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
    p.add_argument("--evals", type=int, help="budget: max evaluations (default: the run's)")
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
    config = config.model_copy(update={"llm": llm})
    if evals is not None:
        if evals < 1:
            raise ConfigError("--evals: must be at least 1")
        budget = config.budget.model_copy(update={"max_evaluations": evals})
        config = config.model_copy(update={"budget": budget})
    return problem, type(config).model_validate(config.model_dump())


def cmd_replay(args: argparse.Namespace) -> int:
    from codeevo.cli.run_cmds import drive

    out: Path = args.out
    if out.resolve() == args.run_dir.resolve():
        raise RunDirError(f"{out}: --out must be a new directory, not the recorded run")
    if out.exists() and any(out.iterdir()):
        raise RunDirError(f"{out}: already exists and is not empty")
    problem, config = replay_config(args.run_dir, args.evals)
    if config.engine.max_in_flight != 1 and not (args.quiet or args.json):
        print("replay: the run had several candidates in flight (engine.max_in_flight is not "
              "1); it replays exactly only where the order of its LLM requests repeats",
              file=sys.stderr)
    return int(drive(problem, config, out, resume=False, args=args))
