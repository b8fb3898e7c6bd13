"""A run config file written for OpenEvolve or ShinkaEvolve, passed with ``--config``.

`config_format` tells such a file from a codeevo one by its keys; `translate_file` returns the
codeevo run-config layer and the warning lines. When the problem itself is a folder of the same
format, the CLI hands the file to the folder instead (`codeevo.compat.load_foreign`), so its
problem-level settings (timeouts, cascade thresholds, features, the task text) apply too.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from codeevo.compat import openevolve, shinka
from codeevo.compat.detect import OPENEVOLVE, SHINKAEVOLVE
from codeevo.compat.translate import Translation
from codeevo.config import LLMConfig, RunConfig, load_config_file

_SHINKA_KEYS = {"evo_config", "db_config", "job_config", "max_evaluation_jobs",
                "max_proposal_jobs", "max_db_workers"}
_OE_KEYS = {"max_iterations", "checkpoint_interval", "log_level", "log_dir", "random_seed",
            "language", "file_suffix", "prompt", "database", "evaluator", "evolution_trace",
            "diff_based_evolution", "max_code_length", "diff_pattern", "early_stopping_patience",
            "convergence_threshold", "early_stopping_metric", "max_tasks_per_child"}
_FACTS = {"task": "prompt.system_message / task_sys_msg", "timeout": "the evaluation timeout",
          "thresholds": "cascade_thresholds", "templates": "prompt.template_dir",
          "feature_dimensions": "database.feature_dimensions"}


def config_format(data: Any) -> str | None:
    """"openevolve" / "shinkaevolve" for a foreign run config mapping, None for codeevo's."""
    if not isinstance(data, dict):
        return None
    keys = {str(k) for k in data}
    if keys & _SHINKA_KEYS:
        return SHINKAEVOLVE
    native = set(RunConfig.model_fields)
    if keys & _OE_KEYS and not keys <= native:
        return OPENEVOLVE
    llm = data.get("llm")
    if isinstance(llm, dict) and set(map(str, llm)) - set(LLMConfig.model_fields):
        return OPENEVOLVE
    return None


def file_format(path: Path) -> str | None:
    data, _ = load_config_file(path)
    return config_format(data)


def translate_file(path: Path) -> tuple[dict[str, Any], list[str]]:
    """(codeevo run-config layer, warning lines) for a foreign config file."""
    data, lines = load_config_file(path)
    fmt = config_format(data)
    if fmt is None:
        return data, []
    module = openevolve if fmt == OPENEVOLVE else shinka
    tr = Translation(module.LABEL, path, data, lines)
    module.translate(tr, path.parent)
    for fact, what in _FACTS.items():
        if fact == "timeout" and fact in tr.facts and not _set_timeout(tr):
            continue
        if fact in ("thresholds", "feature_dimensions"):
            continue  # defaults filled in by the translator, not the file
        if fact in tr.facts:
            tr.warnings.append(f"{path.name}: {what}: applies only when the file is the problem "
                               "folder's own config (this problem is not a folder of that "
                               "format); not used")
    return tr.run, tr.warnings


def _set_timeout(tr: Translation) -> bool:
    return tr.has("evaluator", "timeout") or tr.has("job_config", "time")
