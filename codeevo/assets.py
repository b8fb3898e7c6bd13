"""Evaluator assets prepared on the host (trusted code of ours, never a candidate's).

An evaluator folder may hold ``prepare.py`` defining ``prepare(config: dict, cache_dir: Path)
-> Path``. It runs once in the driver (e.g. to build and cache a model zoo) and returns a folder
that travels to the sandbox as secret ``assets/``: the evaluator reads it in ``setup(ctx)`` and
the runner deletes it before any candidate process starts.

The folder's ``manifest.json`` may declare ``"time_scale": x`` (x >= 1): the problem's stage
timeouts are multiplied by it for this config (e.g. a held-out split of more zoos than the
search split gets as much time per zoo), wherever the assets are used (runs, eval, report).

A ``ValueError`` from ``prepare`` means a bad ``evaluator.config`` (its message names the key):
codeevo reports it as a configuration error (exit 2), never as a traceback.
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

from codeevo.errors import ConfigError
from codeevo.problem import Problem


def cache_root() -> Path:
    """Where prepared assets are cached (``CODEEVO_CACHE`` or ``~/.cache/codeevo``)."""
    env = os.environ.get("CODEEVO_CACHE")
    root = Path(env) if env else Path.home() / ".cache" / "codeevo"
    return root


def prepare_assets(problem: Problem, evaluator_config: dict[str, Any] | None = None) -> Path | None:
    """Run the evaluator's prepare hook, if it has one; return the assets folder."""
    hook = problem.evaluator_dir / "prepare.py"
    if not hook.is_file():
        return None
    name = f"_codeevo_prepare_{problem.name}"
    spec = importlib.util.spec_from_file_location(name, hook)
    if spec is None or spec.loader is None:
        raise ConfigError(f"{hook}: cannot be imported")
    module = importlib.util.module_from_spec(spec)
    # The hook may import helpers that sit beside it (e.g. `zoo`, `tasks`): they load under
    # their plain names for the call only, then leave sys.modules so no other code sees them.
    before = set(sys.modules)
    sys.path.insert(0, str(problem.evaluator_dir))
    try:
        sys.modules[name] = module
        spec.loader.exec_module(module)
        prepare = getattr(module, "prepare", None)
        if not callable(prepare):
            raise ConfigError(f"{hook}: defines no prepare(config, cache_dir) function")
        config = problem.config.evaluator.config if evaluator_config is None else evaluator_config
        root = cache_root() / "assets"
        root.mkdir(parents=True, exist_ok=True, mode=0o700)
        try:
            out = prepare(dict(config), root)
        except ValueError as exc:  # the hook's way to reject its config (message names the key)
            raise ConfigError(f"problem {problem.name} ({problem.root / 'problem.yaml'}, "
                              f"evaluator.config with any --set overrides): {exc}") from exc
    finally:
        try:
            sys.path.remove(str(problem.evaluator_dir))
        except ValueError:
            pass
        for added in set(sys.modules) - before:
            origin = getattr(sys.modules[added], "__file__", None) or ""
            if added == name or origin.startswith(str(problem.evaluator_dir)):
                del sys.modules[added]
    if out is None:
        return None
    path = Path(out)
    if not path.is_dir():
        raise ConfigError(f"{hook}: prepare() returned {path}, which is not a folder")
    return path


def time_scale(assets: Path | None) -> float:
    """The assets' declared stage-timeout factor (``manifest.json`` ``time_scale``), else 1."""
    if assets is None:
        return 1.0
    try:
        data = json.loads((assets / "manifest.json").read_text())
    except (OSError, ValueError):
        return 1.0
    value = data.get("time_scale", 1.0) if isinstance(data, dict) else 1.0
    return float(value) if isinstance(value, (int, float)) and value >= 1 else 1.0


def with_time_scale(problem: Problem, assets: Path | None) -> Problem:
    """`problem` with its stage timeouts multiplied by the assets' ``time_scale``."""
    scale = time_scale(assets)
    if scale == 1.0:
        return problem
    stages = [s.model_copy(update={"timeout": s.timeout * scale}) for s in problem.config.stages]
    return replace(problem, config=problem.config.model_copy(update={"stages": stages}))
