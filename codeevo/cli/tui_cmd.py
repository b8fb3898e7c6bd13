"""`codeevo tui [RUN_DIR]`: the terminal UI (textual is imported only when it runs)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from codeevo.errors import RunDirError


def register(sub: Any) -> None:
    p = sub.add_parser(
        "tui",
        help="terminal UI: start, watch and steer runs; browse lineage, programs and diffs",
        description="Open the home screen (problems and recent runs), or a run's dashboard.",
    )
    p.add_argument("run_dir", nargs="?", type=Path, help="a run directory to open")
    p.add_argument("--runs", type=Path, default=Path("runs"), help="where runs live (runs/)")
    p.add_argument("--problems", type=Path, action="append", default=None,
                   help="folder of problems (repeatable; default problems/)")
    p.add_argument("--light", action="store_true", help="start with the light theme")
    p.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    from codeevo.runs import RunDir

    if args.run_dir is not None:
        RunDir.open(args.run_dir)  # a clear error before the screen takes over
        if not args.run_dir.is_dir():
            raise RunDirError(f"{args.run_dir}: run directory not found")
    roots = args.problems or [Path("problems")]
    for root in roots:
        if not root.is_dir():
            print(f"warning: --problems {root}: no such folder (the new-run form also takes "
                  "a problem folder's path)", file=sys.stderr)
    from codeevo.tui.app import CodeevoApp

    app = CodeevoApp(
        args.run_dir,
        runs_root=args.runs,
        problem_roots=roots,
        theme="textual-light" if args.light else None,
    )
    app.run()
    for note in app.exit_notes:
        print(note)
    return 0
