"""Export a LineageDAG as GraphML, node-link JSON or Graphviz DOT text.

GraphML holds only scalars, so lists and dicts become JSON strings and None values are left out
(a missing ``data`` element). JSON keeps every value; non-finite floats become null so the output
is strict JSON. DOT is written here (no pygraphviz): solid edges are primary parents, dashed the
second parent of a crossover; node colour follows status.
"""

from __future__ import annotations

import io
import json
import math
from typing import Any

import networkx as nx

from codeevo.lineage.dag import LineageDAG
from codeevo.lineage.store import LineageError

FORMATS = ("graphml", "json", "dot")
_COLOURS = {"ok": "palegreen", "rejected": "lightgrey", "failed": "lightpink"}


def json_safe(value: Any) -> Any:
    """`value` with non-finite floats (NaN, inf) replaced by None, for strict JSON."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [json_safe(v) for v in value]
    return value


def _scalar(value: Any) -> Any:
    if isinstance(value, dict | list):
        return json.dumps(json_safe(value), sort_keys=True)
    return value


def graphml_graph(dag: LineageDAG) -> nx.DiGraph:
    """A copy of the graph whose attributes GraphML can hold (no None, lists, dicts)."""
    graph: nx.DiGraph = nx.DiGraph()
    for node, attrs in dag.graph.nodes(data=True):
        graph.add_node(node, **{k: _scalar(v) for k, v in attrs.items() if v is not None})
    graph.add_edges_from(dag.graph.edges(data=True))
    return graph


def to_graphml(dag: LineageDAG) -> str:
    buf = io.BytesIO()
    nx.write_graphml(graphml_graph(dag), buf, encoding="utf-8")
    return buf.getvalue().decode("utf-8")


def to_json(dag: LineageDAG) -> str:
    """networkx node-link JSON (``nodes`` and ``edges`` lists), one candidate per node."""
    data = nx.node_link_data(dag.graph, edges="edges")
    return json.dumps(json_safe(data), indent=1, sort_keys=True, allow_nan=False) + "\n"


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def to_dot(dag: LineageDAG) -> str:
    """Graphviz DOT: one node per candidate (id, operator, score or status), parent -> child."""
    lines = [
        "digraph lineage {",
        "  rankdir=TB;",
        '  node [shape=box, style="rounded,filled", fontname="Helvetica", fontsize=10];',
    ]
    for node in dag.ids():
        attrs = dag.graph.nodes[node]
        status = str(attrs["status"])
        score = attrs.get("score")
        outcome = f"{score:.4f}" if dag.index.rows[node].ok else status
        if status != "ok" and attrs.get("stage"):
            outcome += f" at {attrs['stage']}"
        label = f"{node}\n{attrs['operator']} i{attrs['island']}\n{outcome}"
        colour = _COLOURS.get(status, "orange")
        lines.append(f"  {_quote(node)} [label={_quote(label)}, fillcolor={colour}];")
    for parent, child, data in sorted(dag.graph.edges(data=True)):
        style = "solid" if data.get("primary") else "dashed"
        lines.append(f"  {_quote(parent)} -> {_quote(child)} [style={style}];")
    lines.append("}")
    return "\n".join(lines) + "\n"


def export(dag: LineageDAG, fmt: str) -> str:
    """The lineage as text in `fmt` (one of FORMATS)."""
    writers = {"graphml": to_graphml, "json": to_json, "dot": to_dot}
    if fmt not in writers:
        raise LineageError(f"unknown export format {fmt!r} (choose {', '.join(FORMATS)})")
    return writers[fmt](dag)
