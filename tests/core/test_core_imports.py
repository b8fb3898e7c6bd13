"""The core never imports textual, litellm, docker or ray (they load lazily, at the edges)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

CORE = [
    "codeevo.config", "codeevo.problem", "codeevo.candidate", "codeevo.engine",
    "codeevo.population.islands", "codeevo.population.selection", "codeevo.mutation.ast_ops",
    "codeevo.mutation.screen", "codeevo.lineage.store", "codeevo.lineage.dag",
    "codeevo.session", "codeevo.cli", "codeevo.executor.base", "codeevo.executor.local",
    "codeevo.executor.select", "codeevo.compat", "codeevo.compat.export",
    "codeevo.steering", "codeevo.mutation.novelty", "codeevo.mutation.bandit",
    "codeevo.insights",
]


def test_core_does_not_load_heavy_seams() -> None:
    code = (
        "import sys\n"
        + "".join(f"import {m}\n" for m in CORE)
        + "from codeevo.cli import build_parser\nbuild_parser()\n"
        + "bad = [m for m in ('textual', 'litellm', 'docker', 'torch', 'openai', 'anthropic',"
        " 'ray')"
        " if m in sys.modules]\nprint(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "", f"core imported: {out.stdout.strip()}"


# The Ray executor's modules that import ray; everything else in codeevo must not.
RAY_MODULES = {"actor.py", "executor.py", "cluster.py", "doctor.py"}
ROOT = Path(__file__).resolve().parents[2]


def _imports_ray(path: Path) -> bool:
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import) and any(a.name.split(".")[0] == "ray"
                                                for a in node.names):
            return True
        if (isinstance(node, ast.ImportFrom) and node.level == 0
                and (node.module or "").split(".")[0] == "ray"):
            return True
    return False


def test_only_the_distributed_package_imports_ray() -> None:
    importers = {p.relative_to(ROOT).as_posix() for p in (ROOT / "codeevo").rglob("*.py")
                 if _imports_ray(p)}
    allowed = {f"codeevo/distributed/{m}" for m in RAY_MODULES}
    assert importers - allowed == set()
    assert "codeevo/distributed/executor.py" in importers  # the scan does see imports


@pytest.mark.parametrize("module", [
    "codeevo.distributed.keeper", "codeevo.distributed.node_host",
    "codeevo.distributed.host_link", "codeevo.distributed.demand",
    "codeevo.distributed.bundle", "codeevo.distributed.frames",
])
def test_node_host_side_never_loads_ray(module: str) -> None:
    """The keeper and host processes on a node import these; they must not pay for ray."""
    code = f"import sys\nimport {module}\nprint('ray' in sys.modules)\n"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False"
