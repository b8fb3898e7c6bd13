"""`codeevo merge` (apply an evolved method to safetensors checkpoints) and `codeevo report`
(baselines vs a run's best on search and held-out zoos). torch is imported only in handlers."""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

from codeevo.errors import ConfigError


def register(sub: Any) -> None:
    p = sub.add_parser("merge", help="merge safetensors checkpoints with an evolved method")
    p.add_argument("--method", required=True, type=Path, metavar="RUN_DIR|PROGRAM.py",
                   help="a run directory (its best program) or a program file (e.g. a baseline)")
    p.add_argument("--base", required=True, type=Path, help="the pre-trained checkpoint")
    p.add_argument("--experts", required=True, nargs="+", type=Path, help="fine-tuned checkpoints")
    p.add_argument("--out", required=True, type=Path, help="merged safetensors file to write")
    p.add_argument("--scale", type=float, default=None,
                   help="λ on the merged task vector (default: the run's calibrated λ, else 1)")
    p.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                   help="override a module-level constant of the program (Python literal)")
    p.add_argument("--memory-mb", type=int, default=16384, help="memory limit of the merge process")
    p.set_defaults(handler=cmd_merge)

    r = sub.add_parser("report", help="baselines vs a run's best with 95%% intervals over zoos "
                       "(merge problem)")
    r.add_argument("run_dir", type=Path)
    r.add_argument("--heldout", action="store_true", help="also score on the held-out suite")
    r.add_argument("--program", action="append", default=[], type=Path, metavar="PROGRAM.py",
                   help="also score this program (repeatable), compared like the run's best")
    r.add_argument("--json", action="store_true", help="print JSON instead of markdown")
    r.add_argument("--fresh", action="store_true",
                   help="evaluate everything again (ignore the score cache)")
    r.add_argument("--sandbox", choices=["auto", "local", "docker", "docker-gpu"])
    r.set_defaults(handler=cmd_report)


def _params(items: list[str]) -> dict[str, str]:
    import ast

    out = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name.isidentifier():
            raise ConfigError(f"--param {item!r}: expected NAME=VALUE")
        try:
            ast.literal_eval(value)
        except (ValueError, SyntaxError) as exc:
            raise ConfigError(f"--param {item!r}: value is not a Python literal") from exc
        out[name] = value
    return out


def method_program(method: Path) -> tuple[str, float | None, str]:
    """(program text, calibrated λ or None, description) for a run dir or a program file."""
    if method.is_dir():
        from codeevo.results import best_record

        best, program, _ = best_record(method)
        scale = best.metrics.get("scale")
        return program, (float(scale) if scale is not None else None), f"{method} best {best.id}"
    try:
        return method.read_text(), None, str(method)
    except OSError as exc:
        raise ConfigError(f"--method {method}: cannot read: {exc.strerror or exc}") from exc


def cmd_merge(args: argparse.Namespace) -> int:
    from codeevo.merging.export import merge_checkpoints

    program, calibrated, what = method_program(args.method)
    scale = args.scale if args.scale is not None else calibrated
    if scale is None:
        scale = 1.0
    with tempfile.TemporaryDirectory(prefix="codeevo-method-") as tmp:
        path = Path(tmp) / "program.py"
        path.write_text(program)
        rep = merge_checkpoints(path, args.base, list(args.experts), args.out, scale=scale,
                                params=_params(args.param), method=what,
                                memory_mb=args.memory_mb)
    src = "--scale" if args.scale is not None else ("run calibration" if calibrated else "default")
    print(f"merged {rep.tensors} tensors with {what} (scale {scale:g} from {src}) -> {rep.out}")
    for note in rep.notes:
        print(f"note: {note}")
    for warning in rep.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from codeevo.merging.report import report_json, run_report, track_tables

    extra = {}
    for path in args.program:
        try:
            extra[path.stem] = path.read_text()
        except OSError as exc:
            raise ConfigError(f"--program {path}: cannot read: {exc.strerror or exc}") from exc
    _check_reportable(args.run_dir)
    rows = run_report(args.run_dir, heldout=args.heldout, sandbox=args.sandbox, extra=extra,
                      cache=not args.fresh)
    splits = ("search", "heldout") if args.heldout else ("search",)
    if args.json:
        print(json.dumps(report_json(rows, splits), indent=1))
    else:
        print(track_tables(rows, splits))
    return 0


def _check_reportable(run_dir: Path) -> None:
    """`report` compares a run's best with its problem's baselines on search and held-out
    splits: a problem without both (e.g. circle packing) gets a clear refusal, exit 2."""
    from codeevo.problem import load_problem
    from codeevo.runs import RunDir

    problem = load_problem(RunDir.open(run_dir).problem_path())
    if not problem.config.baselines or "split" not in problem.config.evaluator.config:
        raise ConfigError(
            f"codeevo report does not apply to {run_dir}: its problem ({problem.name}) has no "
            "baselines and no search/held-out split to compare on (it is made for the merge "
            f"problem); use `codeevo best {run_dir}` for this run")
