"""`codeevo lineage RUN_DIR`: list a run's candidates, trace ancestry, outcome stats, export.

Every query is answered by the read model (``codeevo.lineage.index.LineageIndex``); the
networkx graph is built only for the graphml / json / dot exports.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from codeevo.errors import CodeevoError

if TYPE_CHECKING:
    from codeevo.lineage.index import LineageIndex

_COLUMNS = ("id", "commit", "operator", "island", "status", "score", "delta")
FORMATS = ("graphml", "json", "dot", "html")


def register(sub: Any) -> None:
    p = sub.add_parser(
        "lineage",
        help="a run's phylogeny: candidates, ancestry, outcome stats, exports (html: a "
             "zoomable graph in one file)",
        description="Without a query flag: the newest candidates (see --limit). IDs may be "
                    "given as c000042, 42, a commit prefix, or `best`.",
    )
    p.add_argument("run_dir", metavar="RUN_DIR", type=Path, help="run folder with lineage.git")
    q = p.add_mutually_exclusive_group()
    q.add_argument("--ancestry", metavar="ID|best", help="line of descent of a candidate")
    q.add_argument("--descendants", metavar="ID", help="every descendant of a candidate")
    q.add_argument("--stats", action="store_true", help="outcomes per operator (see --by)")
    q.add_argument("--export", choices=FORMATS,
                   help="the whole graph as text (html: one self-contained page)")
    p.add_argument("--by", choices=("operator", "model"), default="operator",
                   help="what --stats groups by (default: operator)")
    p.add_argument("-o", "--output", type=Path, help="write the export to this file")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.add_argument("--limit", type=int, default=50, help="rows in the default listing (0: all)")
    p.set_defaults(handler=cmd_lineage)


def _row(index: LineageIndex, cid: str) -> dict[str, Any]:
    r = index.rows[cid]
    return {
        "id": cid, "operator": r.operator, "model": r.model, "island": r.island,
        "status": r.status.value, "stage": r.stage, "score": r.score, "ok": r.ok,
        "delta": index.delta(cid), "parents": list(r.parents), "commit": r.commit,
    }


def _table(title: str, rows: list[dict[str, Any]]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title, title_justify="left")
    for col in _COLUMNS:
        table.add_column(col, justify="right" if col in ("island", "score", "delta") else "left")
    for r in rows:
        status = r["status"]
        if not r["ok"] and r["stage"]:
            status += f"@{r['stage']}"
        score = "" if r["score"] is None else f"{r['score']:.4f}"
        delta = "" if r["delta"] is None else f"{r['delta']:+.4f}"
        style = None if r["ok"] else "dim"
        table.add_row(r["id"], (r["commit"] or "")[:7], r["operator"], str(r["island"]),
                      status, score, delta, style=style)
    Console(soft_wrap=True).print(table)


def _print_json(data: Any) -> None:
    from codeevo.lineage.export import json_safe

    print(json.dumps(json_safe(data), indent=1, allow_nan=False))


def cmd_lineage(args: argparse.Namespace) -> int:
    from codeevo.lineage.index import LineageIndex
    from codeevo.lineage.store import open_store

    with open_store(args.run_dir) as store:
        if args.export:
            _export(store, args.export, args.output)
            return 0
        index = LineageIndex.from_store(store)
    if args.ancestry:
        node = index.resolve(args.ancestry)
        line = [_row(index, n) for n in index.primary_line(node)]
        ancestors = index.by_seq(index.ancestors(node))
        if args.json:
            _print_json({"id": node, "primary_line": line, "ancestors": ancestors})
        else:
            _table(f"{node}: line of descent ({len(ancestors)} ancestors in all)", line)
        return 0
    if args.descendants:
        node = index.resolve(args.descendants)
        rows = [_row(index, n) for n in index.by_seq(index.descendants(node))]
        if args.json:
            _print_json({"id": node, "descendants": rows})
        else:
            _table(f"{node}: {len(rows)} descendants", rows)
        return 0
    if args.stats:
        _stats(index, args.by, args.json)
        return 0
    ids = index.order
    shown = ids[-args.limit:] if args.limit > 0 else ids
    rows = [_row(index, n) for n in shown]
    best = index.best()
    if args.json:
        _print_json({"candidates": len(ids), "best": best.id if best else None, "rows": rows})
    else:
        more = f", showing the last {len(shown)}" if len(shown) < len(ids) else ""
        _table(f"{len(ids)} candidates{more}; best: {best.id if best else 'none'}", rows)
    return 0


def _export(store: Any, fmt: str, output: Path | None) -> None:
    if fmt == "html":
        from codeevo.lineage.html import to_html

        text = to_html(store)
    else:
        from codeevo.lineage.dag import LineageDAG
        from codeevo.lineage.export import export

        text = export(LineageDAG.load(store), fmt)
    if output is None:
        sys.stdout.write(text)
        return
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise CodeevoError(f"--output {output}: cannot write: {exc.strerror or exc}") from exc
    print(f"wrote {output} ({len(text.encode()) / 1e6:.1f} MB, {fmt})", file=sys.stderr)


def _stats(index: LineageIndex, by: str, as_json: bool) -> None:
    from dataclasses import asdict

    stats = index.outcomes(by)
    if as_json:
        _print_json({name: asdict(s) for name, s in stats.items()})
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"outcomes by {by}", title_justify="left")
    for col in (by, "proposed", "ok", "failed by stage", "improved", "rate", "mean delta"):
        table.add_column(col, justify="left" if col in (by, "failed by stage") else "right")
    for s in stats.values():
        failed = ", ".join(f"{k} {v}" for k, v in s.failed_by_stage.items())
        mean = "" if s.mean_delta is None else f"{s.mean_delta:+.4f}"
        table.add_row(
            s.name, str(s.proposed), str(s.ok), failed, str(s.improved),
            f"{s.improvement_rate:.1%}", mean,
        )
    Console(soft_wrap=True).print(table)
