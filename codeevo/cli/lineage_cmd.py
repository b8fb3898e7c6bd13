"""`codeevo lineage RUN_DIR`: list a run's candidates, trace ancestry, operator stats, export."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from codeevo.errors import RunDirError

if TYPE_CHECKING:
    from codeevo.lineage.dag import LineageDAG

_COLUMNS = ("id", "operator", "island", "status", "score", "delta")


def register(sub: Any) -> None:
    p = sub.add_parser(
        "lineage",
        help="a run's phylogeny: candidates, ancestry, operator stats, exports",
        description="Without a query flag: the newest candidates (see --limit).",
    )
    p.add_argument("run_dir", metavar="RUN_DIR", type=Path, help="run folder with lineage.git")
    q = p.add_mutually_exclusive_group()
    q.add_argument("--ancestry", metavar="ID|best", help="line of descent of a candidate")
    q.add_argument("--descendants", metavar="ID", help="every descendant of a candidate")
    q.add_argument("--stats", action="store_true", help="per-operator outcome statistics")
    q.add_argument("--export", choices=["graphml", "json", "dot"], help="print the whole graph")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.add_argument("--limit", type=int, default=50, help="rows in the default listing (0: all)")
    p.set_defaults(handler=cmd_lineage)


def _lineage_path(run_dir: Path) -> Path:
    if (run_dir / "lineage.git").is_dir():
        return run_dir / "lineage.git"
    if (run_dir / "HEAD").is_file() and (run_dir / "objects").is_dir():
        return run_dir  # a lineage repository given directly
    if not run_dir.exists():
        raise RunDirError(f"no such run directory: {run_dir}")
    raise RunDirError(f"not a run directory (no lineage.git inside): {run_dir}")


def _row(dag: LineageDAG, node: str) -> dict[str, Any]:
    attrs = dag.graph.nodes[node]
    return {
        "id": node,
        "operator": attrs["operator"],
        "model": attrs.get("model"),
        "island": attrs["island"],
        "status": attrs["status"],
        "stage": attrs.get("stage"),
        "score": attrs.get("score"),
        "delta": attrs.get("delta"),
        "parents": attrs["parents"],
        "commit": attrs.get("commit"),
    }


def _table(title: str, rows: list[dict[str, Any]]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title, title_justify="left")
    for col in _COLUMNS:
        table.add_column(col, justify="right" if col in ("island", "score", "delta") else "left")
    for r in rows:
        status = r["status"]
        if status != "ok" and r["stage"]:
            status += f"@{r['stage']}"
        score = "" if r["score"] is None else f"{r['score']:.4f}"
        delta = "" if r["delta"] is None else f"{r['delta']:+.4f}"
        style = None if r["status"] == "ok" else "dim"
        table.add_row(r["id"], r["operator"], str(r["island"]), status, score, delta, style=style)
    Console(soft_wrap=True).print(table)


def _print_json(data: Any) -> None:
    from codeevo.lineage.export import json_safe

    print(json.dumps(json_safe(data), indent=1, allow_nan=False))


def cmd_lineage(args: argparse.Namespace) -> int:
    from codeevo.lineage.dag import LineageDAG

    dag = LineageDAG.load(_lineage_path(args.run_dir))
    if args.export:
        from codeevo.lineage.export import export

        sys.stdout.write(export(dag, args.export))
        return 0
    if args.ancestry:
        anc = dag.ancestry(dag.resolve(args.ancestry))
        line = [_row(dag, n) for n in anc.primary_line]
        if args.json:
            _print_json({"id": anc.id, "primary_line": line, "ancestors": anc.ancestors})
        else:
            _table(f"{anc.id}: line of descent ({len(anc.ancestors)} ancestors in all)", line)
        return 0
    if args.descendants:
        node = dag.resolve(args.descendants)
        rows = [_row(dag, n) for n in dag.descendants(node)]
        if args.json:
            _print_json({"id": node, "descendants": rows})
        else:
            _table(f"{node}: {len(rows)} descendants", rows)
        return 0
    if args.stats:
        _stats(dag, args.json)
        return 0
    ids = dag.ids()
    shown = ids[-args.limit :] if args.limit > 0 else ids
    rows = [_row(dag, n) for n in shown]
    if args.json:
        _print_json({"candidates": len(ids), "best": dag.best(), "rows": rows})
    else:
        best = dag.best()
        more = f", showing the last {len(shown)}" if len(shown) < len(ids) else ""
        _table(f"{len(ids)} candidates{more}; best: {best or 'none'}", rows)
    return 0


def _stats(dag: LineageDAG, as_json: bool) -> None:
    from dataclasses import asdict

    stats = dag.operator_stats()
    if as_json:
        _print_json({op: asdict(s) for op, s in stats.items()})
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title="operators", title_justify="left")
    for col in ("operator", "proposed", "ok", "failed by stage", "improved", "rate", "mean delta"):
        table.add_column(col, justify="left" if col in ("operator", "failed by stage") else "right")
    for s in stats.values():
        failed = ", ".join(f"{k} {v}" for k, v in s.failed_by_stage.items())
        mean = "" if s.mean_delta is None else f"{s.mean_delta:+.4f}"
        table.add_row(
            s.operator, str(s.proposed), str(s.ok), failed, str(s.improved),
            f"{s.improvement_rate:.1%}", mean,
        )
    Console(soft_wrap=True).print(table)
