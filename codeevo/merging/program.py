"""Static facts about a merge program's source, read without running it (it is hostile code).

``knobs``: its module-level constants (``NAME = <literal>``), the names ``codeevo merge
--param`` may override. ``track``: ``data-assisted`` when it defines ``merge_model(base,
experts, calib)``, else ``data-free``; the two tracks are ranked apart and only data-free
programs can merge arbitrary checkpoints.
"""

from __future__ import annotations

import ast
from typing import Any

from codeevo.errors import ConfigError


def knobs(source: str) -> dict[str, Any]:
    """Module-level ``NAME = literal`` assignments, in order (the last assignment wins)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return {}
    out: dict[str, Any] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign):
            targets, value = node.targets, node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            targets, value = [node.target], node.value
        else:
            continue
        for t in targets:
            if isinstance(t, ast.Name) and not t.id.startswith("__"):
                try:
                    out[t.id] = ast.literal_eval(value)
                except (ValueError, SyntaxError, TypeError):
                    continue
    return out


def _calib_arg(source: str) -> str | None:
    """'required' / 'optional' when merge_model takes a third positional argument, else None."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return None
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name == "merge_model":
            a = node.args
            positional = len(a.posonlyargs) + len(a.args)
            if positional < 3:
                return None
            # defaults cover the last len(a.defaults) positional parameters
            return "optional" if positional - len(a.defaults) <= 2 else "required"
    return None


def track(source: str) -> str:
    """``data-assisted`` for ``merge_model`` taking a third (calibration) argument."""
    return "data-free" if _calib_arg(source) is None else "data-assisted"


def requires_calibration(source: str) -> bool:
    """True when merge_model cannot run without calibration data (no default for `calib`)."""
    return _calib_arg(source) == "required"


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    return type(value).__name__


def check_params(source: str, params: dict[str, str], method: str) -> None:
    """ConfigError unless every ``--param NAME=VALUE`` names a knob and keeps its kind."""
    found = knobs(source)
    listing = ", ".join(f"{k}={v!r}" for k, v in found.items()) or "none"
    for name, raw in params.items():
        if name not in found:
            raise ConfigError(f"--param {name}: {method} has no module-level constant {name!r}; "
                              f"its knobs: {listing}")
        value = ast.literal_eval(raw)
        if _kind(value) != _kind(found[name]):
            raise ConfigError(f"--param {name}={raw}: {name} is a {_kind(found[name])} in "
                              f"{method} ({found[name]!r}), not a {_kind(value)}")
