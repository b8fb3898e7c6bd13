"""`codeevo run | resume | best | eval | problems | config show`."""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
import time
from pathlib import Path
from typing import Any

from codeevo.cli.options import add_run_options, build_config, problem_from_args
from codeevo.errors import RunDirError


def register(sub: Any) -> None:
    p = sub.add_parser("run", help="evolve a problem (a new run directory)")
    p.add_argument("problem", type=Path, help="problem folder (holds problem.yaml), or an "
                   "OpenEvolve / ShinkaEvolve folder (run unchanged: docs/migrating.md)")
    p.add_argument("--out", type=Path, help="run directory (default runs/<problem>-<time>)")
    _output_flags(p)
    add_run_options(p)
    p.set_defaults(handler=cmd_run)

    p = sub.add_parser("resume", help="continue a run after Ctrl-C or a crash")
    p.add_argument("run_dir", type=Path)
    _output_flags(p)
    add_run_options(p)
    p.set_defaults(handler=cmd_resume)

    p = sub.add_parser("best", help="the best program of a run, with its metrics")
    p.add_argument("run_dir", type=Path)
    p.add_argument("--json", action="store_true", help="one JSON object")
    p.add_argument("--out", type=Path, metavar="FILE",
                   help="write the program (plain text) to FILE; the summary goes to stderr")
    p.set_defaults(handler=cmd_best)

    p = sub.add_parser("eval", help="score one program on a problem")
    p.add_argument("problem", type=Path, help="problem folder, or an OpenEvolve / ShinkaEvolve "
                   "folder")
    p.add_argument("--program", type=Path, help="program file (default: the seed)")
    p.add_argument("--json", action="store_true", help="one JSON object")
    p.add_argument("--evaluator-set", action="append", default=[], metavar="KEY=VALUE",
                   help="override one key of the problem's evaluator.config (YAML value), "
                   "e.g. --evaluator-set split=heldout")
    add_run_options(p, budget=False, evolution=False)
    p.set_defaults(handler=cmd_eval)

    p = sub.add_parser("import", help="write an OpenEvolve / ShinkaEvolve folder as a native "
                       "codeevo problem folder")
    p.add_argument("source", type=Path, help="the OpenEvolve or ShinkaEvolve folder")
    p.add_argument("--out", type=Path, required=True, help="the new problem folder")
    p.add_argument("--config", action="append", default=[], metavar="FILE",
                   help="the folder's config file to translate (default: its own)")
    p.set_defaults(handler=cmd_import)

    p = sub.add_parser("problems", help="list problems found")
    p.add_argument("roots", type=Path, nargs="*", default=[Path("problems")])
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_problems)

    p = sub.add_parser("config", help="configuration helpers")
    csub = p.add_subparsers(dest="config_cmd", metavar="ACTION")
    csub.required = True
    s = csub.add_parser("show", help="print the effective config for a problem (or run)")
    s.add_argument("target", type=Path, help="problem folder or run directory")
    add_run_options(s)
    s.set_defaults(handler=cmd_config_show)


def _output_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--quiet", action="store_true", help="no progress output")
    p.add_argument("--json", action="store_true", help="print the outcome as one JSON object")


# ---------------------------------------------------------------- run / resume


def cmd_run(args: argparse.Namespace) -> int:
    problem = problem_from_args(args.problem, args)
    config = build_config(problem, args)
    out = args.out or Path("runs") / f"{problem.name}-{time.strftime('%Y%m%d-%H%M%S')}"
    if out.exists() and any(out.iterdir()):
        raise RunDirError(f"{out}: already exists and is not empty "
                          f"(use `codeevo resume {out}` to continue it)")
    return drive(problem, config, out, resume=False, args=args)


def cmd_resume(args: argparse.Namespace) -> int:
    from codeevo.problem import load_problem
    from codeevo.runs import RunDir

    run = RunDir.open(args.run_dir)
    problem = load_problem(run.problem_path(), run.problem_config_file())
    config = build_config(problem, args, base=run.load_config())
    return drive(problem, config, args.run_dir, resume=True, args=args)


def drive(problem: Any, config: Any, out: Path, *, resume: bool,
          args: argparse.Namespace, replay_plan: Any = None) -> int:
    from codeevo.progress import ProgressView
    from codeevo.session import open_session

    view = ProgressView(config.budget.max_evaluations, quiet=args.quiet or args.json)

    async def main() -> Any:
        loud = not (args.quiet or args.json)
        session = await open_session(problem, config, out, resume=resume, on_event=view,
                                     say=(lambda line: print(line, file=sys.stderr))
                                     if loud else None, replay_plan=replay_plan)
        if not args.quiet:  # on stderr: --json keeps stdout to the one JSON line
            for line in session.notices:
                print(line, file=sys.stderr)
        loop = asyncio.get_running_loop()
        engine = session.engine
        hits = {"n": 0}

        def on_signal(name: str) -> None:
            hits["n"] += 1
            engine.stop(f"interrupted ({name})", cancel=True)

        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, on_signal, sig.name)
        try:
            return await session.run_to_end(), session
        finally:
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(sig)

    try:
        outcome, session = asyncio.run(main())
    finally:
        view.close()
    best = outcome.best
    summary = {
        "run": str(out),
        "reason": outcome.reason,
        "finished": outcome.finished,
        "evaluations": outcome.evaluations,
        "best_id": best.id if best else None,
        "best_score": best.score if best else None,
        **session.engine.stats.totals(),
        "tokens": session.engine.stats.tokens,
        "cost": round(session.engine.stats.cost, 6),
        **session.engine.steering.summary(),
    }
    if args.json:
        print(json.dumps(summary))
    elif not args.quiet:
        score = "-" if best is None or best.score is None else f"{best.score:.6f}"
        print(f"{outcome.reason}: {outcome.evaluations} evaluations, best {score} "
              f"({summary['best_id']}) in {out}")
        novelty = summary.get("novelty")
        if novelty and novelty["rejected"]:
            print(f"novelty screening rejected {novelty['rejected']} of {novelty['checked']} "
                  f"children before the sandbox (about {novelty['saved_seconds']:g} s of "
                  "evaluation saved)")
    if outcome.finished:
        return 0
    if outcome.exit_code is not None:
        return int(outcome.exit_code)  # e.g. 3: every model given up on (docs/llm.md)
    return 130 if "interrupted" in outcome.reason else 1


# ---------------------------------------------------------------- best


def cmd_best(args: argparse.Namespace) -> int:
    from codeevo.results import best_record

    best, program, totals = best_record(args.run_dir)
    if args.json:
        print(json.dumps({
            "id": best.id, "status": best.status.value, "score": best.score,
            "metrics": best.metrics, "features": best.features, "operator": best.operator,
            "parents": best.parents, "island": best.island, "program": program,
            "totals": totals,
        }))
        return 0
    head = [f"best {best.id}  score {best.score:.6f}  operator {best.operator}  "
            f"island {best.island}  parents {best.parents}"]
    head += [f"  {k} = {v:.6g}" for k, v in sorted(best.metrics.items())]
    tail = [f"{totals['candidates']} candidates, {totals['evaluations']} evaluations, "
            f"{totals['tokens']} tokens, ${totals['cost']:.4f}"]
    tail += [f"  model {name}: {t['calls']} calls, {t['tokens_in']}+{t['tokens_out']} "
             f"tokens, ${t['cost']:.4f}" for name, t in totals["by_model"].items()]
    if args.out is not None:
        try:
            args.out.write_text(program)
        except OSError as exc:
            from codeevo.errors import ConfigError

            raise ConfigError(f"--out {args.out}: cannot write: {exc.strerror or exc}") from exc
        print("\n".join([*head, *tail, f"program written to {args.out}"]), file=sys.stderr)
        return 0
    if not sys.stdout.isatty():
        # Piped or redirected (`codeevo best RUN > best.py`): the program exactly, nothing
        # else on stdout; the summary goes to stderr.
        sys.stdout.write(program)
        print("\n".join([*head, *tail]), file=sys.stderr)
        return 0
    from rich.console import Console
    from rich.syntax import Syntax

    con = Console()
    for line in head:
        con.print(line, markup=False, highlight=False)
    con.print(Syntax(program, "python", line_numbers=True))
    for line in tail:
        con.print(line, markup=False, highlight=False)
    return 0


# ---------------------------------------------------------------- eval


def cmd_eval(args: argparse.Namespace) -> int:
    import yaml

    from codeevo.errors import ConfigError
    from codeevo.evaluate import evaluate_program

    problem = problem_from_args(args.problem, args)
    config = build_config(problem, args)
    problem = problem.for_run(config)  # --set evaluator.config.KEY=VALUE
    for line in problem.notices():
        print(line, file=sys.stderr)
    if args.program is None:
        program = problem.seed_program
    else:
        try:
            program = args.program.read_text()
        except OSError as exc:
            raise ConfigError(f"{args.program}: cannot read: {exc.strerror}") from exc
    ev_config = dict(problem.config.evaluator.config)
    for item in args.evaluator_set:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--evaluator-set {item}: expected KEY=VALUE")
        ev_config[key.strip()] = yaml.safe_load(raw)
    result = asyncio.run(evaluate_program(problem, program, config, evaluator_config=ev_config))
    if args.json:
        print(json.dumps(result.model_dump(mode="json",
                                           include={"status", "score", "metrics", "features",
                                                    "stage", "reason", "artifacts"})))
    else:
        score = "-" if result.score is None else f"{result.score:.6f}"
        print(f"status {result.status.value}  score {score}  stage {result.stage}")
        if result.reason:
            print(f"reason: {result.reason}")
        for k, v in sorted(result.metrics.items()):
            print(f"  {k} = {v:.6g}")
        for k, v in sorted(result.features.items()):
            print(f"  feature {k} = {v:.6g}")
    return 0 if result.status.value == "ok" else 1


# ---------------------------------------------------------------- import


def cmd_import(args: argparse.Namespace) -> int:
    from codeevo.compat.detect import detect_format
    from codeevo.compat.export import export_problem
    from codeevo.errors import ConfigError

    if detect_format(args.source) is None:
        raise ConfigError(f"{args.source}: not an OpenEvolve folder (initial_program.py + "
                          "evaluator.py) nor a ShinkaEvolve folder (initial.py + evaluate.py)")
    problem = problem_from_args(args.source, args)
    out = export_problem(problem, args.out)
    for line in problem.notices()[1:]:
        print(line, file=sys.stderr)
    print(f"wrote {out}: problem.yaml, {problem.entry_name}, prompt.md, evaluator/ "
          f"(run it with `codeevo run {out}`)")
    return 0


# ---------------------------------------------------------------- problems / config


def cmd_problems(args: argparse.Namespace) -> int:
    from codeevo.errors import ConfigError
    from codeevo.problem import find_problems, load_problem
    from codeevo.sandbox.docker import DockerUnavailableError, connect
    from codeevo.sandbox.select import auto_kind

    try:  # the sandbox column says what `--sandbox auto` would pick here, now
        client = connect(timeout=3)
    except DockerUnavailableError:
        client = None
    rows = []
    for path in find_problems(*args.roots):
        try:
            p = load_problem(path)
            rows.append({"name": p.name, "path": str(path), "description": p.config.description,
                         "evaluator": str(p.evaluator_dir), "sandbox": auto_kind(p, client),
                         "profile": p.config.sandbox_profile,
                         "missing": p.missing_modules()})
        except ConfigError as exc:
            rows.append({"name": path.name, "path": str(path), "error": str(exc)})
    if args.json:
        print(json.dumps(rows))
        return 0
    if not rows:
        print("no problems found under " + ", ".join(map(str, args.roots)))
        return 1
    print(f"{'problem':<20} {'sandbox':<11} description   (sandbox: what --sandbox auto picks)")
    for r in rows:
        if "error" in r:
            print(f"{r['name']:<20} INVALID: {r['error']}")
        else:
            needs = f"  [needs {', '.join(r['missing'])}]" if r["missing"] else ""
            print(f"{r['name']:<20} {r['sandbox']:<11} {r['description']}{needs}")
    return 0


def cmd_config_show(args: argparse.Namespace) -> int:
    from codeevo.config import dump_yaml
    from codeevo.problem import load_problem
    from codeevo.runs import RunDir

    target: Path = args.target
    if (target / "run.json").is_file():
        run = RunDir.open(target)
        problem = load_problem(run.problem_path(), run.problem_config_file())
        config = build_config(problem, args, base=run.load_config())
    else:
        config = build_config(problem_from_args(target, args), args)
    sys.stdout.write(dump_yaml(config))
    return 0
