"""Dependencies match use: every third-party import is declared in pyproject.toml, and every
declared dependency is imported by the code that ships (codeevo/, evaluators/, problems/)."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ("codeevo", "evaluators", "problems")
# Imports that are not distributions of ours to declare (the runner's stand-ins, test-only;
# openevolve and shinka: the foreign example folders' helpers, which codeevo's stand-ins in
# codeevo/compat/standins provide in the sandbox).
NOT_THIRD_PARTY = {"codeevo", "__future__", "candidate", "evaluator", "openevolve", "shinka"}


def _requirement_name(req: str) -> str:
    return re.split(r"[\s\[<>=!~;]", req, maxsplit=1)[0].lower().replace("_", "-")


def _declared() -> tuple[set[str], set[str]]:
    """(core dependency names, every name incl. extras), normalised."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    core = {_requirement_name(r) for r in project["dependencies"]}
    extras = {_requirement_name(r) for reqs in project.get("optional-dependencies", {}).values()
              for r in reqs}
    return core, core | extras


def _imports(folder: Path) -> dict[str, set[str]]:
    """Top-level module name → files importing it (absolute imports, nested ones too)."""
    found: dict[str, set[str]] = {}
    local = {p.stem for p in folder.rglob("*.py")} | {p.name for p in folder.rglob("*")
                                                      if p.is_dir()}
    for path in folder.rglob("*.py"):
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if (top in sys.stdlib_module_names or top in NOT_THIRD_PARTY
                        or (folder.name != "codeevo" and top in local)):
                    continue
                found.setdefault(top, set()).add(str(path.relative_to(ROOT)))
    return found


def _distributions(module: str) -> set[str]:
    return {d.lower().replace("_", "-") for d in packages_distributions().get(module, [])}


@pytest.mark.parametrize("folder", SHIPPED)
def test_every_import_is_declared(folder: str) -> None:
    _, declared = _declared()
    missing = {}
    for module, files in _imports(ROOT / folder).items():
        dists = _distributions(module)
        if not dists & declared:
            missing[module] = sorted(files)[:3]
    assert not missing, f"imported but not declared in pyproject.toml: {missing}"


def test_every_core_dependency_is_used() -> None:
    core, _ = _declared()
    used: set[str] = set()
    for folder in SHIPPED:
        for module in _imports(ROOT / folder):
            used |= _distributions(module)
    unused = sorted(core - used)
    assert not unused, f"declared in pyproject.toml but imported nowhere: {unused}"


def test_constraints_pin_every_declared_dependency() -> None:
    """The lock the README's commands install with covers every declared package."""
    text = (ROOT / "constraints.txt").read_text()
    pinned = {_requirement_name(line) for line in text.splitlines()
              if line.strip() and not line.startswith("#")}
    _, declared = _declared()
    assert declared - {"codeevo"} <= pinned, sorted(declared - {"codeevo"} - pinned)
    for line in text.splitlines():
        if line.strip() and not line.startswith("#"):
            assert "==" in line, f"constraints.txt: {line!r} is not an exact pin"
