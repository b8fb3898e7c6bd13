"""`codeevo lineage RUN --export html`: the lineage as one self-contained web page.

The page holds everything it shows: the layout (``layout.build_layout``, the same lanes as the
TUI's graph), every candidate's record and program (identical programs stored once), and the
script and styles inline. A Content-Security-Policy forbids every fetch, so opening the file
needs no network and sends nothing anywhere. The graph is drawn on a canvas: drag to pan, wheel
or +/- to zoom, click a node for its program, its diff to each parent and its metrics (the diff
is computed in the page, line by line).
"""

from __future__ import annotations

import json
import time
from importlib import resources
from typing import Any

from codeevo.lineage.base import LineageStore
from codeevo.lineage.export import json_safe
from codeevo.lineage.index import LineageIndex, Row
from codeevo.lineage.layout import build_layout

_CSP = ("default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
        "img-src data:; connect-src 'none'; form-action 'none'; base-uri 'none'")
_KEEP = ("model", "stage", "reason", "metrics", "features", "timings", "tokens", "cost",
         "inserted", "cell", "extra")


def page_data(store: LineageStore, title: str = "lineage") -> dict[str, Any]:
    """Everything the page shows, as plain JSON-able data."""
    records = store.records()
    index = LineageIndex()
    for record, sha in records:
        index.add(Row.from_record(record, sha))
    layout = build_layout(index, max_band=0)
    programs = store.programs([r["id"] for r, _ in records])
    texts: dict[str, int] = {}
    by_id = {r["id"]: r for r, _ in records}
    nodes: list[dict[str, Any]] = []
    best = index.best()
    for i, grow in enumerate(layout.rows):
        row = index.rows[grow.id]
        rec = by_id[grow.id]
        node = {
            "id": row.id, "commit": row.commit, "op": row.operator, "island": row.island,
            "status": row.status.value, "ok": row.ok, "score": row.score,
            "delta": index.delta(row.id), "parents": list(row.parents),
            "children": index.children(row.id), "seq": row.seq, "lane": grow.lane,
            "row": i, "prow": grow.parent_row,
            "program": texts.setdefault(programs[row.id], len(texts)),
            "entry": rec.get("entry", "program.py"),
        }
        node.update({k: rec.get(k) for k in _KEEP})
        nodes.append(node)
    merges = [[e.parent, e.child] for e in layout.merges]
    page: dict[str, Any] = json_safe({
        "title": title, "made": time.strftime("%Y-%m-%d %H:%M"),
        "best": best.id if best is not None else None, "lanes": layout.lanes,
        "nodes": nodes, "merges": merges, "programs": list(texts),
    })
    return page


def to_html(store: LineageStore, title: str = "lineage") -> str:
    """The page as text (a few hundred bytes per candidate plus its distinct programs)."""
    data = page_data(store, title)
    # Inside <script> only "</" could end the block early; \u003c keeps the JSON identical.
    blob = json.dumps(data, allow_nan=False, separators=(",", ":")).replace("<", "\\u003c")
    assets = resources.files("codeevo.lineage") / "assets"
    style = (assets / "lineage.css").read_text(encoding="utf-8")
    script = (assets / "lineage.js").read_text(encoding="utf-8")
    safe_title = (title.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;"))
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{_CSP}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>codeevo · {safe_title}</title>
<style>
{style}</style>
</head>
<body>
<header id="bar">
  <b>codeevo</b> <span id="title"></span>
  <input id="search" placeholder="go to id, number or commit (enter)" autocomplete="off">
  <span id="stats"></span>
  <span class="hint">drag: pan · wheel or +/−: zoom · f: fit · click: details</span>
</header>
<main>
  <canvas id="graph" tabindex="0"></canvas>
  <aside id="panel"><p class="muted">Click a node to see its program, its diff to each
  parent and its metrics.</p></aside>
</main>
<script type="application/json" id="data">{blob}</script>
<script>
{script}</script>
</body>
</html>
"""
