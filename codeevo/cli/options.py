"""Run-config flags shared by `run`, `resume`, `eval`, `config show` and `replay`.

Layers, each validated on its own so an error names its source: defaults ← the problem's
`defaults` ← `--config FILE` (each, in order) ← `--set a.b=value` ← dedicated flags.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import yaml

from codeevo.config import RunConfig, load_config_file, load_run_config
from codeevo.errors import ConfigError
from codeevo.problem import Problem


def add_run_options(p: argparse.ArgumentParser, *, budget: bool = True,
                    evolution: bool = True) -> None:
    """The config flags; `budget` and `evolution` (models, islands, slots) only where a
    command runs an evolution (`eval` scores one program: neither applies)."""
    g = p.add_argument_group("run settings (override the config)")
    g.add_argument("--config", action="append", default=[], metavar="FILE",
                   help="YAML run config (repeatable; later files win)")
    g.add_argument("--set", action="append", default=[], metavar="PATH=VALUE",
                   help="set any field, e.g. --set population.num_islands=8 (YAML value)")
    g.add_argument("--seed", type=int)
    if budget:
        g.add_argument("--evals", type=int, help="budget: max evaluations (seed included)")
        g.add_argument("--wall-time", type=float, metavar="SECONDS", help="budget: wall time")
        g.add_argument("--max-tokens", type=int, help="budget: LLM tokens")
        g.add_argument("--max-cost", type=float, metavar="DOLLARS", help="budget: LLM dollars")
    g.add_argument("--sandbox", choices=["auto", "local", "docker", "docker-gpu"])
    g.add_argument("--executor", choices=["local", "ray"],
                   help="where evaluations run: this machine, or a Ray cluster's nodes")
    g.add_argument("--ray-address", metavar="ADDRESS",
                   help="Ray cluster: auto, HOST:PORT or ray://HOST:10001 (implies --executor ray)")
    if not evolution:
        return
    g.add_argument("--model", action="append", default=[], metavar="LITELLM_MODEL",
                   help="LLM model (repeatable: an equal-weight ensemble)")
    g.add_argument("--api-base", help="OpenAI-compatible server for --model")
    g.add_argument("--islands", type=int)
    g.add_argument("--proposal-slots", type=int)
    g.add_argument("--eval-slots", type=_slots, metavar="N|auto",
                   help="evaluations in flight; auto = usable cores (GPUs for docker-gpu)")
    g.add_argument("--max-in-flight", type=int)


def _slots(text: str) -> int | str:
    if text == "auto":
        return text
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number or auto, got {text!r}") from None


def _set_path(data: dict[str, Any], dotted: str, value: Any) -> None:
    keys = dotted.split(".")
    cur = data
    for key in keys[:-1]:
        nxt = cur.setdefault(key, {})
        if not isinstance(nxt, dict):
            raise ConfigError(f"--set {dotted}: {key} is not a section")
        cur = nxt
    cur[keys[-1]] = value


def _config_layer(path: Path) -> tuple[str, dict[str, Any], dict[tuple[str, ...], int] | None]:
    """A --config file as a layer; an OpenEvolve / ShinkaEvolve file is translated (its
    untranslatable keys are listed on stderr)."""
    from codeevo.compat.config_file import config_format, translate_file

    data, lines = load_config_file(path)
    fmt = config_format(data)
    if fmt is None:
        return str(path), data, lines
    layer, warnings = translate_file(path)
    label = "OpenEvolve" if fmt == "openevolve" else "ShinkaEvolve"
    if warnings:
        print(f"codeevo: {len(warnings)} {label} setting(s) in {path} have no codeevo meaning "
              "or only an approximate one:", file=sys.stderr)
        for line in warnings:
            print(f"  {line}", file=sys.stderr)
    return f"{path} (translated from {label})", layer, None


def flag_layer(args: argparse.Namespace) -> tuple[dict[str, Any], dict[str, Any]]:
    """(--set layer, dedicated-flags layer) as nested dicts."""
    sets: dict[str, Any] = {}
    for item in getattr(args, "set", []) or []:
        if "=" not in item:
            raise ConfigError(f"--set {item}: expected PATH=VALUE")
        path, raw = item.split("=", 1)
        try:
            value = yaml.safe_load(raw)
        except yaml.YAMLError as exc:
            raise ConfigError(f"--set {item}: value is not valid YAML: {exc}") from exc
        _set_path(sets, path.strip(), value)
    flags: dict[str, Any] = {}
    mapping = {
        "seed": "seed",
        "evals": "budget.max_evaluations",
        "wall_time": "budget.max_wall_seconds",
        "max_tokens": "budget.max_tokens",
        "max_cost": "budget.max_cost",
        "sandbox": "sandbox.kind",
        "islands": "population.num_islands",
        "proposal_slots": "engine.proposal_slots",
        "eval_slots": "engine.eval_slots",
        "max_in_flight": "engine.max_in_flight",
        "executor": "executor.kind",
        "ray_address": "executor.ray_address",
    }
    for attr, path in mapping.items():
        value = getattr(args, attr, None)
        if value is not None:
            _set_path(flags, path, value)
    if getattr(args, "ray_address", None):
        if getattr(args, "executor", None) == "local":
            raise ConfigError("--ray-address needs --executor ray (not local)")
        _set_path(flags, "executor.kind", "ray")
    models = getattr(args, "model", []) or []
    if models:
        api_base = getattr(args, "api_base", None)
        flags.setdefault("llm", {})["models"] = [
            {"name": m, **({"api_base": api_base} if api_base else {})} for m in models
        ]
    elif getattr(args, "api_base", None):
        raise ConfigError("--api-base needs --model")
    return sets, flags


def problem_from_args(path: Path, args: argparse.Namespace) -> Problem:
    """Load the problem at `path`. For an OpenEvolve / ShinkaEvolve folder, a `--config` file
    of the same format is the folder's config (its timeouts, thresholds, features and task text
    apply too) and leaves `args.config`."""
    from codeevo.compat.config_file import file_format
    from codeevo.compat.detect import detect_format
    from codeevo.problem import load_problem

    fmt = detect_format(Path(path))
    files = [Path(f) for f in getattr(args, "config", []) or []]
    own = [f for f in files if fmt is not None and f.is_file() and file_format(f) == fmt]
    if not own:
        return load_problem(path)
    args.config = [str(f) for f in files if f not in own[-1:]]
    return load_problem(path, own[-1].resolve())


def build_config(
    problem: Problem | None, args: argparse.Namespace, base: RunConfig | None = None
) -> RunConfig:
    """The effective config: base (or defaults + the problem's defaults), files, then flags."""
    layers: list[tuple[str, dict[str, Any], dict[tuple[str, ...], int] | None]] = []
    if base is not None:
        layers.append(("run config", base.model_dump(mode="json"), None))
    elif problem is not None and problem.config.defaults:
        origin = problem.origin
        source = (f"{origin.config_file or origin.source} (translated from {origin.label})"
                  if origin is not None else f"{problem.root / 'problem.yaml'} (defaults)")
        layers.append((source, problem.config.defaults, None))
    for file in getattr(args, "config", []) or []:
        layers.append(_config_layer(Path(file)))
    sets, flags = flag_layer(args)
    if sets:
        layers.append(("--set", sets, None))
    if flags:
        layers.append(("command line", flags, None))
    if not layers:
        return RunConfig()
    return load_run_config(layers)
