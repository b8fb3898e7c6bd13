"""``codeevo import DIR --out PROBLEM_DIR``: write a translated folder as a native problem.

The result is an ordinary codeevo problem folder (problem.yaml, the seed with its EVOLVE-BLOCK
markers, prompt.md, templates/) with the evaluator beside it in ``evaluator/``: codeevo's
adapter, the stand-ins and a copy of the original folder's files. problem.yaml starts with a
comment listing what did not translate; edit it from there (feature ranges, stages, ...).
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import yaml

from codeevo.errors import ConfigError
from codeevo.problem import Problem, load_problem


def export_problem(problem: Problem, out: Path) -> Path:
    """Write `problem` (a translated foreign folder) as a native problem folder at `out`."""
    origin = problem.origin
    if origin is None:
        raise ConfigError(f"{problem.root}: already a codeevo problem (it has problem.yaml)")
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ConfigError(f"{out}: already exists and is not empty; choose another --out")
    out.mkdir(parents=True, exist_ok=True)
    shutil.copytree(problem.evaluator_dir, out / "evaluator")
    (out / problem.entry_name).write_text(problem.seed_program)
    (out / "prompt.md").write_text(problem.prompt)
    if problem.templates:
        (out / "templates").mkdir()
        for name, text in problem.templates.items():
            (out / "templates" / f"{name}.md").write_text(text)
    cfg = problem.config.model_dump(mode="json", exclude_defaults=False)
    cfg["evaluator"]["path"] = "evaluator"
    cfg["prompt"] = "prompt.md"
    cfg["description"] = f"imported from the {origin.label} folder {origin.source.name}"
    (out / "problem.yaml").write_text(_header(problem) + yaml.safe_dump(
        _tidy(cfg), sort_keys=False, width=100))
    load_problem(out)  # what we wrote must load
    return out


def _tidy(cfg: dict[str, Any]) -> dict[str, Any]:
    """Leave out fields at their defaults that only add noise (image, language, baselines)."""
    for key, default in (("language", "python"), ("image", "codeevo-cpu"), ("baselines", []),
                         ("sandbox_profile", "local")):
        if cfg.get(key) == default:
            cfg.pop(key)
    return cfg


def _header(problem: Problem) -> str:
    origin = problem.origin
    assert origin is not None
    lines = [f"# Imported by `codeevo import` from {origin.source}",
             f"# ({origin.label} folder; config: {origin.config_file or 'none'})."]
    if origin.whole_file:
        lines.append("# The seed had no EVOLVE-BLOCK markers: they were added around the whole "
                     "file.")
    if origin.shared_process:
        lines.append("# The evaluator imports the candidate into its own process "
                     "(evaluator.shares_candidate_process).")
    if origin.warnings:
        lines.append("# Not translated, or only approximately:")
        lines += [f"#   {w}" for w in origin.warnings]
    return "\n".join(lines) + "\n"
