"""`codeevo insights RUN`: the run's insight memory (latest version, or every version)."""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict
from pathlib import Path
from typing import Any


def register(sub: Any) -> None:
    p = sub.add_parser("insights", help="what the run learnt: its insight memory")
    p.add_argument("run_dir", type=Path)
    p.add_argument("--all", action="store_true", help="every version, oldest first")
    p.add_argument("--json", action="store_true", help="JSON (a list with --all)")
    p.set_defaults(handler=cmd_insights)


def cmd_insights(args: argparse.Namespace) -> int:
    from codeevo.insights.store import InsightStore
    from codeevo.runs import RunDir

    run = RunDir.open(args.run_dir)
    store = InsightStore(run.lineage_path)
    versions = store.history() if args.all else [v for v in [store.latest()] if v]
    if args.json:
        rows = [asdict(v) for v in versions]
        print(json.dumps(rows if args.all else (rows[0] if rows else None)))
        return 0
    if not versions:
        print(f"{args.run_dir}: no insights yet (insights.enabled, every insights.interval "
              "evaluations; on by default when LLM operators propose)")
        return 0
    for v in versions:
        print(f"## insights v{v.version} after {v.evaluations} evaluations ({v.source})\n")
        print(v.text.rstrip() + "\n")
    return 0
