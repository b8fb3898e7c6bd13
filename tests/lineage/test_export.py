"""Exports parse back: GraphML with networkx, node-link JSON, and DOT (every node and edge)."""

from __future__ import annotations

import io
import json
import math
import re
from pathlib import Path

import networkx as nx
import pytest

from codeevo.candidate import Status
from codeevo.lineage.dag import LineageDAG
from codeevo.lineage.export import export
from codeevo.lineage.store import GitLineageStore, LineageError
from tests.lineage.conftest import HAND_BUILT, cand, record_all


@pytest.fixture
def dag(hand_built: Path) -> LineageDAG:
    return LineageDAG.load(hand_built)


def test_graphml_parses_back(dag: LineageDAG) -> None:
    g = nx.read_graphml(io.StringIO(export(dag, "graphml")))
    assert set(g.nodes) == set(dag.graph.nodes)
    assert set(g.edges) == set(dag.graph.edges)
    assert g.nodes["c000005"]["score"] == 3.0
    assert json.loads(g.nodes["c000005"]["parents"]) == ["c000002", "c000004"]
    assert g.nodes["c000003"]["stage"] == "stage1"
    assert "score" not in g.nodes["c000003"]  # None is left out
    assert g.edges["c000004", "c000005"]["primary"] is False


def test_node_link_json_parses_back(dag: LineageDAG) -> None:
    g = nx.node_link_graph(json.loads(export(dag, "json")), edges="edges")
    assert g.is_directed()
    assert set(g.edges) == set(dag.graph.edges)
    for node, attrs in dag.graph.nodes(data=True):
        assert g.nodes[node] == attrs


def test_json_is_strict_even_with_non_finite_scores(tmp_path: Path) -> None:
    with GitLineageStore.create(tmp_path / "l.git") as store:
        record_all(store, [cand(1, score=math.inf), cand(2, (1,), metrics={"x": math.nan})])
    text = export(LineageDAG.load(tmp_path / "l.git"), "json")
    data = json.loads(text, parse_constant=lambda c: pytest.fail(f"non-JSON constant {c}"))
    assert data["nodes"][0]["score"] is None


def test_dot_has_every_node_and_edge(dag: LineageDAG) -> None:
    text = export(dag, "dot")
    assert text.startswith("digraph lineage {") and text.rstrip().endswith("}")
    nodes = set(re.findall(r'^  "(c\d+)" \[label=', text, re.M))
    edges = {
        (a, b): s for a, b, s in re.findall(r'^  "(c\d+)" -> "(c\d+)" \[style=(\w+)\]', text, re.M)
    }
    assert nodes == {c.id for c in HAND_BUILT}
    assert set(edges) == set(dag.graph.edges)
    assert edges["c000004", "c000005"] == "dashed" and edges["c000002", "c000005"] == "solid"
    assert 'label="c000003\\ndiff i0\\nfailed at stage1"' in text


def test_dot_quotes_odd_text(tmp_path: Path) -> None:
    odd = cand(1, operator='say "hi"\\', status=Status.FAILED, score=None)
    with GitLineageStore.create(tmp_path / "l.git") as store:
        record_all(store, [odd])
    assert 'say \\"hi\\"\\\\ i0' in export(LineageDAG.load(tmp_path / "l.git"), "dot")


def test_unknown_format(dag: LineageDAG) -> None:
    with pytest.raises(LineageError, match="svg"):
        export(dag, "svg")
