"""`codeevo doctor --executor ray`: the cluster as evaluations would see it, node by node.

Each alive node runs a small probe (no CPU reserved) that reports its codeevo, Python and Ray
versions and its Docker engine, sandbox images and GPU runtime; nothing else is touched.
"""

from __future__ import annotations

import platform
import socket
from typing import Any

import ray
from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

from codeevo import __version__
from codeevo.distributed.cluster import connect, describe_address, list_nodes
from codeevo.distributed.demand import NodeInfo

PROBE_TIMEOUT_S = 120.0


def _probe() -> dict[str, Any]:
    """Runs on a node: what an evaluation there would find."""
    from codeevo import __version__ as version

    info: dict[str, Any] = {"codeevo": version, "python": platform.python_version(),
                            "ray": ray.__version__, "host": socket.gethostname()}
    try:
        from codeevo.sandbox.limits import confinement_options

        info["local"] = confinement_options()[0].describe()
    except Exception as exc:  # noqa: BLE001 - reported as what the node lacks
        info["local"] = f"unknown ({str(exc).splitlines()[0][:120]})"
    try:
        from codeevo.sandbox.docker import connect as docker
        from codeevo.sandbox.docker import gpu_runtime, image_labels
        from codeevo.sandbox.images import RECIPES, VERSION_LABEL

        client = docker(timeout=10)
        info["docker"] = f"Docker {client.version().get('Version', '?')}"
        images = {}
        for rec in RECIPES.values():
            labels = image_labels(client, rec.tag)
            images[rec.tag] = ("missing" if labels is None else "ok"
                               if labels.get(VERSION_LABEL) == rec.version else "stale")
        info["images"] = images
        info["gpu_runtime"] = gpu_runtime(client)
    except Exception as exc:  # noqa: BLE001 - reported, the local sandbox still works
        info["docker"] = f"no Docker ({str(exc).splitlines()[0][:120]})"
    return info


_remote_probe = ray.remote(num_cpus=0)(_probe)


def report(address: str | None) -> int:
    """Print one line for the cluster and one per node; 1 when a node cannot evaluate."""
    connected_here = connect(address)
    try:
        return _report(address)
    finally:
        if connected_here:
            ray.shutdown()


def _report(address: str | None) -> int:
    nodes = list_nodes()
    alive = [n for n in nodes if n.alive]
    cpus = sum(n.cpus for n in alive)
    gpus = sum(n.gpus for n in alive)
    print(f"ray         ok    {describe_address(address)}: Ray {ray.__version__}, "
          f"{len(alive)} node(s) alive, {cpus:g} CPU, {gpus:g} GPU")
    refs = {
        n.node_id: _remote_probe.options(
            scheduling_strategy=NodeAffinitySchedulingStrategy(n.node_id, soft=False)
        ).remote()
        for n in alive
    }
    ok = bool(alive)
    for node in sorted(alive, key=lambda n: n.label):
        try:
            info = ray.get(refs[node.node_id], timeout=PROBE_TIMEOUT_S)
        except Exception as exc:  # noqa: BLE001 - one line per node, whatever failed
            ok = False
            text = str(exc).strip().splitlines()
            why = text[-1] if text else type(exc).__name__
            if "No module named 'codeevo" in str(exc):
                why = "codeevo is not installed there (pip install 'codeevo[ray]')"
            print(f"node        FAIL  {node.describe()}: {why[:200]}")
            continue
        good = info["codeevo"] == __version__
        ok = ok and good
        print(f"node        {'ok  ' if good else 'FAIL'}  {_line(node, info)}")
    for node in sorted((n for n in nodes if not n.alive), key=lambda n: n.label):
        print(f"node        --    {node.label}: dead")
    if not alive:
        print("nodes       FAIL  no node is alive")
    return 0 if ok else 1


def _line(node: NodeInfo, info: dict[str, Any]) -> str:
    parts = [node.describe(), f"host {info['host']}", f"codeevo {info['codeevo']}"
             + ("" if info["codeevo"] == __version__ else f" (driver {__version__})"),
             f"Python {info['python']}", f"Ray {info['ray']}",
             f"local sandbox: {info.get('local', '?')}", str(info["docker"])]
    images = info.get("images")
    if images:
        parts.append("images " + ", ".join(f"{k.split(':')[0]} {v}" for k, v in images.items()))
    if "gpu_runtime" in info:
        parts.append("GPU runtime " + ("nvidia" if info["gpu_runtime"] else "none"))
    return "; ".join(parts)
