"""OpenEvolve's ``config.yaml`` (and prompt ``template_dir``) translated to codeevo settings.

Every key is either carried over (`Translation.put`), used for the problem (timeouts, cascade
thresholds, feature dimensions, the task text, templates), or reported with the reason it has
no codeevo meaning. See docs/migrating.md for the table.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

from codeevo.compat.translate import Translation, env_reference, litellm_name

LABEL = "OpenEvolve"
OPENAI_BASE = "https://api.openai.com/v1"
DEFAULT_TIMEOUT = 300.0  # OpenEvolve's evaluator.timeout default, seconds per stage
DEFAULT_THRESHOLDS = (0.5, 0.75, 0.9)
TEMPLATE_KEYS = {"system_message", "evaluator_system_message"}

REASONS = {
    "checkpoint_interval": "every candidate is a git commit as it is recorded; nothing to "
                           "checkpoint (`codeevo resume RUN` continues any run)",
    "log_level": "codeevo writes events.jsonl and a progress line; no log levels",
    "log_dir": "the run directory holds everything (events.jsonl, lineage.git)",
    "max_code_length": "codeevo sets no program length limit",
    "diff_pattern": "codeevo parses SEARCH/REPLACE blocks itself (docs/llm.md)",
    "early_stopping_patience": "no early stopping; use budget.max_evaluations / max_cost / "
                               "max_wall_seconds",
    "convergence_threshold": "no early stopping (see early_stopping_patience)",
    "early_stopping_metric": "no early stopping (see early_stopping_patience)",
    "max_tasks_per_child": "sandboxes start fresh per evaluation (or recycle warm runners: "
                           "sandbox.warm_pool_max_uses)",
    "evolution_trace.*": "the lineage (lineage.git) records every candidate, prompt and reply",
    "llm.top_p": "codeevo sends temperature, max_tokens and reasoning_effort only",
    "llm.random_seed": "LLM sampling seeds are not sent; the run's own seed drives codeevo",
    "llm.system_message": "the task text comes from prompt.system_message",
    "llm.evaluator_models": "LLM feedback on programs is not supported",
    "llm.name": "name models under llm.models",
    "llm.weight": "give weights under llm.models",
    "llm.init_client": "custom client factories cannot be read from YAML",
    "prompt.evaluator_system_message": "LLM feedback on programs is not supported",
    "prompt.use_template_stochasticity": "codeevo's prompts have no random phrasing",
    "prompt.template_variations": "codeevo's prompts have no random phrasing",
    "prompt.use_meta_prompting": "use codeevo's insight memory instead (insights.*)",
    "prompt.meta_prompt_weight": "use codeevo's insight memory instead (insights.*)",
    "prompt.max_artifact_bytes": "codeevo shows up to 3000 characters of each artifact",
    "prompt.artifact_security_filter": "artifacts are shown as captured (capped)",
    "prompt.suggest_simplification_after_chars": "no program labels in codeevo's prompts",
    "prompt.include_changes_under_chars": "no program labels in codeevo's prompts",
    "prompt.concise_implementation_max_lines": "no program labels in codeevo's prompts",
    "prompt.comprehensive_implementation_min_lines": "no program labels in codeevo's prompts",
    "prompt.code_length_threshold": "no program labels in codeevo's prompts",
    "database.db_path": "the run's lineage.git is the database",
    "database.in_memory": "the run's lineage.git is the database",
    "database.log_prompts": "every prompt and reply is always kept (exchange/ in each commit)",
    "database.population_size": "each island keeps one elite per MAP-Elites cell; there is "
                                "no separate population size",
    "database.archive_size": "the MAP-Elites grid bounds the archive (features and bins)",
    "database.diversity_metric": "no diversity metric; novelty screening (novelty.*) rejects "
                                 "near-duplicates instead",
    "database.diversity_reference_size": "no diversity metric (see database.diversity_metric)",
    "database.artifacts_base_path": "artifacts are kept in each candidate's commit",
    "database.artifact_size_threshold": "artifacts are kept in each candidate's commit "
                                        "(64 KiB each)",
    "database.cleanup_old_artifacts": "artifacts are kept in each candidate's commit",
    "database.artifact_retention_days": "artifacts are kept in each candidate's commit",
    "database.novelty_llm": "set novelty.judge: true (the judge uses a model of llm.models)",
    "evaluator.max_retries": "a failed evaluation is recorded with its reason, not retried",
    "evaluator.distributed": "use the Ray executor for several machines",
    "evaluator.use_llm_feedback": "LLM feedback on programs is not supported",
    "evaluator.llm_feedback_weight": "LLM feedback on programs is not supported",
    "evaluator.max_artifact_storage": "artifacts are capped at 64 KiB each",
}


def translate(tr: Translation, folder: Path) -> None:
    """Fill `tr.run` (run-config layer), `tr.facts` and `tr.warnings` from `tr.data`."""
    _general(tr)
    _llm(tr)
    _prompt(tr, folder)
    _database(tr)
    _evaluator(tr)
    tr.leftovers(REASONS)


def _general(tr: Translation) -> None:
    iters = tr.number("max_iterations", integer=True, positive=True)
    if iters is not None:
        tr.put("budget.max_evaluations", int(iters) + 1)  # codeevo counts the seed too
    seed = tr.number("random_seed", integer=True)
    if seed is not None:
        tr.put("seed", int(seed))
    elif tr.has("random_seed"):
        tr.skip(("random_seed",), "null: codeevo runs are always seeded (seed: 0 unless set)")
    language = tr.text("language")
    if language is not None and language.lower() != "python":
        raise tr.fail(("language",), f"codeevo evolves Python programs; {language!r} is not "
                                     "supported")
    suffix = tr.text("file_suffix")
    if suffix is not None and suffix != ".py":
        raise tr.fail(("file_suffix",), f"codeevo evolves Python programs; {suffix!r} is not "
                                        "supported")
    diff = tr.flag("diff_based_evolution")
    if diff is not None:
        tr.put("operators.mix", {"diff": 1.0} if diff else {"rewrite": 1.0})


def _llm(tr: Translation) -> None:
    if not tr.has("llm"):
        return
    if not isinstance(tr.peek("llm"), dict):
        raise tr.fail(("llm",), "expected a mapping")
    shared_base = tr.text("llm", "api_base")
    shared_key = tr.get("llm", "api_key")
    shared = {
        "temperature": tr.number("llm", "temperature"),
        "max_tokens": tr.number("llm", "max_tokens", integer=True, positive=True),
        "reasoning_effort": tr.text("llm", "reasoning_effort"),
    }
    raw: list[tuple[tuple[str, ...], dict[str, Any]]] = []
    models = tr.get("llm", "models")
    if models is not None:
        if not isinstance(models, list):
            raise tr.fail(("llm", "models"), "expected a list of models")
        for i, m in enumerate(models):
            if not isinstance(m, dict) or not isinstance(m.get("name"), str):
                raise tr.fail(("llm", "models", str(i)), "each model needs a name")
            raw.append((("llm", "models", str(i)), m))
    for which, default_weight in (("primary", 1.0), ("secondary", 0.2)):
        name = tr.text("llm", f"{which}_model")
        weight = tr.number("llm", f"{which}_model_weight")
        if name:
            w = default_weight if weight is None else weight
            if w > 0:
                raw.append((("llm", f"{which}_model"), {"name": name, "weight": w}))
    out = []
    for key, m in raw:
        out.append(_model(tr, key, m, shared, shared_base, shared_key))
    if out:
        tr.put("llm.models", out)
    timeout = tr.number("llm", "timeout", positive=True)
    if timeout is not None:
        tr.put("llm.timeout", timeout)
    retries = tr.number("llm", "retries", integer=True)
    if retries is not None:
        tr.put("llm.max_retries", max(0, int(retries)))
    delay = tr.number("llm", "retry_delay")
    if delay is not None:
        tr.put("llm.backoff_base", max(0.0, delay))
        tr.approximate(("llm", "retry_delay"), "OpenEvolve waits a fixed delay; codeevo backs "
                       f"off exponentially from {delay:g} s (llm.backoff_base)")


def _model(tr: Translation, key: tuple[str, ...], m: dict[str, Any], shared: dict[str, Any],
           shared_base: str | None, shared_key: Any) -> dict[str, Any]:
    base = m.get("api_base") or shared_base
    out: dict[str, Any] = {"name": "openai/" + str(m["name"])}  # an OpenAI-compatible API
    if base and base.rstrip("/") != OPENAI_BASE:
        out["api_base"] = base
    if isinstance(m.get("weight"), int | float) and m["weight"] > 0:
        out["weight"] = float(m["weight"])
    for name in ("temperature", "max_tokens", "reasoning_effort"):
        value = m.get(name, shared[name])
        if value is None:
            continue
        if name == "reasoning_effort" and value not in ("low", "medium", "high"):
            tr.approximate((*key, name), f"{value!r} is not low/medium/high; not sent")
            continue
        out[name] = value
    key_value = m.get("api_key", shared_key)
    if isinstance(key_value, str) and key_value.strip():
        var = env_reference(key_value)
        if var:
            out["api_key_env"] = var
        else:  # never echo the key itself
            where = (*key, "api_key") if "api_key" in m else ("llm", "api_key")
            tr.skip(where, "a key written in a config file is never read (codeevo takes keys "
                           "from the environment only): export it (e.g. OPENAI_API_KEY) or "
                           "write api_key: ${VAR}")
    for ignored in sorted(set(m) - {"name", "weight", "api_base", "api_key", "temperature",
                                    "max_tokens", "reasoning_effort"}):
        reason = REASONS.get(f"llm.{ignored}", "not a per-model setting codeevo has")
        tr.skip((*key, ignored), reason)
    return out


def _prompt(tr: Translation, folder: Path) -> None:
    system = tr.text("prompt", "system_message")
    if system and system.strip() not in TEMPLATE_KEYS:
        tr.facts["task"] = system.strip()
    top = tr.number("prompt", "num_top_programs", integer=True)
    if top is not None:
        tr.put("population.num_top_programs", max(0, int(top)))
    diverse = tr.number("prompt", "num_diverse_programs", integer=True)
    if diverse is not None:
        tr.put("population.num_inspirations", max(0, int(diverse)))
    if tr.flag("prompt", "include_artifacts") is False:
        tr.skip(("prompt", "include_artifacts"), "codeevo always shows the parent's evaluator "
                                                  "artifacts to the model")
    tdir = tr.text("prompt", "template_dir")
    if tdir:
        path = Path(tdir) if Path(tdir).is_absolute() else folder / tdir
        if not path.is_dir():
            raise tr.fail(("prompt", "template_dir"), f"folder {path} not found")
        templates, notes = convert_template_dir(path)
        tr.facts["templates"] = templates
        for note in notes:
            tr.approximate(("prompt", "template_dir"), note)


def _database(tr: Translation) -> None:
    islands = tr.number("database", "num_islands", integer=True, positive=True)
    n = int(islands) if islands is not None else 5
    if islands is not None:
        tr.put("population.num_islands", n)
    archive = tr.number("database", "archive_size", integer=True, positive=True)
    size = int(archive) if archive is not None else 100
    explore = tr.number("database", "exploration_ratio")
    exploit = tr.number("database", "exploitation_ratio")
    if explore is not None or exploit is not None:
        e1 = 0.2 if explore is None else max(0.0, min(1.0, explore))
        e2 = 0.7 if exploit is None else max(0.0, min(1.0, exploit))
        tr.put("population.exploration_ratio", e1)
        tr.put("population.exploitation_ratio", e2)
        tr.put("population.fitness_proportional_ratio", round(max(0.0, 1.0 - e1 - e2), 6))
    elite = tr.number("database", "elite_selection_ratio")
    if elite is not None:
        tr.put("population.elite_count", max(1, round(elite * size)))
        tr.approximate(("database", "elite_selection_ratio"),
                       f"population.elite_count = {max(1, round(elite * size))} "
                       "(ratio x archive_size)")
    interval = tr.number("database", "migration_interval", integer=True, positive=True)
    if interval is not None:
        tr.put("population.migration_interval", int(interval) * n)
        tr.approximate(("database", "migration_interval"),
                       f"counted in evaluations: {int(interval)} generations x {n} islands")
    rate = tr.number("database", "migration_rate")
    if rate is not None:
        count = 0 if rate <= 0 else max(1, round(rate * size / n))
        tr.put("population.migration_count", count)
        tr.approximate(("database", "migration_rate"),
                       f"population.migration_count = {count} elites (rate x archive / islands)")
    if tr.peek("random_seed") is None:
        seed = tr.number("database", "random_seed", integer=True)
        if seed is not None:
            tr.put("seed", int(seed))
    else:
        tr.skip(("database", "random_seed"), "the top-level random_seed is used")
    dims = tr.strings("database", "feature_dimensions")
    bins = tr.get("database", "feature_bins")
    if bins is not None and not isinstance(bins, int | dict):
        raise tr.fail(("database", "feature_bins"), "expected a number or a mapping")
    tr.facts["feature_dimensions"] = ["complexity", "diversity"] if dims is None else dims
    tr.facts["feature_bins"] = 10 if bins is None else bins
    emb = tr.text("database", "embedding_model")
    if emb:
        tr.put("novelty.embedding_model", litellm_name(emb))
    sim = tr.number("database", "similarity_threshold")
    if sim is not None and emb:
        tr.put("novelty.threshold", max(0.0, min(1.0, sim)))
    elif sim is not None:
        tr.skip(("database", "similarity_threshold"),
                "meant for database.embedding_model, which is not set; codeevo's offline "
                "embedding uses its own novelty.threshold")


def _evaluator(tr: Translation) -> None:
    timeout = tr.number("evaluator", "timeout", positive=True)
    tr.facts["timeout"] = DEFAULT_TIMEOUT if timeout is None else timeout
    cascade = tr.flag("evaluator", "cascade_evaluation")
    tr.facts["cascade"] = True if cascade is None else cascade
    th = tr.get("evaluator", "cascade_thresholds")
    if th is not None:
        if not isinstance(th, list) or not all(
                isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x)
                for x in th):
            raise tr.fail(("evaluator", "cascade_thresholds"), "expected a list of numbers")
        tr.facts["thresholds"] = [float(x) for x in th]
    else:
        tr.facts["thresholds"] = list(DEFAULT_THRESHOLDS)
    slots = tr.number("evaluator", "parallel_evaluations", integer=True, positive=True)
    if slots is not None:
        tr.put("engine.eval_slots", int(slots))
    mem = tr.number("evaluator", "memory_limit_mb", integer=True, positive=True)
    if mem is not None:
        tr.put("sandbox.memory_mb", max(64, int(mem)))
    cpus = tr.number("evaluator", "cpu_limit", positive=True)
    if cpus is not None:
        tr.put("sandbox.cpus", cpus)
    if tr.flag("evaluator", "enable_artifacts") is False:
        tr.skip(("evaluator", "enable_artifacts"), "artifacts are always kept")


# ---------------------------------------------------------------- templates

# OpenEvolve placeholder -> codeevo section ($name in string.Template syntax)
_PLACEHOLDERS = {
    "current_program": "$parents",
    "artifacts": "$feedback",
    "evolution_history": "$top_programs\n\n$inspirations",
    "language": "python",
    "insights": "$insights",
}
_SHOWN_IN_PARENTS = ("metrics", "fitness_score", "feature_coords")
_DROPPED = ("improvement_areas", "feature_dimensions")
_FENCED_PROGRAM = re.compile(r"```\{language\}\s*\n\{current_program\}\s*\n```")
_FIELD = re.compile(r"\{(\w+)\}")


def convert_template(text: str) -> tuple[str, list[str]]:
    """An OpenEvolve prompt template ({placeholders}) as a codeevo one ($placeholders), and
    notes on placeholders that have no codeevo counterpart."""
    notes: list[str] = []
    out = text.replace("$", "$$")
    out = _FENCED_PROGRAM.sub("{current_program}", out)
    unknown: list[str] = []

    def field(m: re.Match[str]) -> str:
        name = m.group(1)
        if name in _PLACEHOLDERS:
            return _PLACEHOLDERS[name]
        if name in _SHOWN_IN_PARENTS:
            return ""  # codeevo prints the scores in the program's heading
        if name not in _DROPPED:
            unknown.append(name)
        return ""

    out = _FIELD.sub(field, out).replace("{{", "{").replace("}}", "}")
    dropped = sorted({m.group(1) for m in _FIELD.finditer(text)} & set(_DROPPED))
    if dropped:
        notes.append("{" + "}, {".join(dropped) + "} have no codeevo counterpart; left out")
    if unknown:
        notes.append("unknown placeholder(s) {" + "}, {".join(sorted(set(unknown)))
                     + "} left out")
    return out, notes


def convert_template_dir(path: Path) -> tuple[dict[str, str], list[str]]:
    """codeevo templates from an OpenEvolve template_dir: system_message.txt -> system;
    diff_user.txt / full_rewrite_user.txt -> user_diff / user_rewrite (the user message of the
    diff / rewrite operator). Other files are reported."""
    mapping = {"system_message": "system", "diff_user": "user_diff",
               "full_rewrite_user": "user_rewrite"}
    out: dict[str, str] = {}
    notes: list[str] = []
    for file in sorted(path.glob("*.txt")):
        target = mapping.get(file.stem)
        if target is None:
            notes.append(f"{file.name}: no codeevo template of that role; not used")
            continue
        text, why = convert_template(file.read_text())
        out[target] = text
        notes += [f"{file.name}: {w}" for w in why]
    return out, notes
