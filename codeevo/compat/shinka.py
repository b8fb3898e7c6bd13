"""ShinkaEvolve's run config (``shinka*.yaml``: ``evo_config``, ``db_config``, job counts) and
``run_evo.py`` (read, never run) translated to codeevo settings. See docs/migrating.md."""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any

from codeevo.compat.translate import Translation, env_reference, litellm_name

LABEL = "ShinkaEvolve"
DEFAULT_TIMEOUT = 600.0  # seconds; Shinka's local jobs have no limit unless `time` is set
DEFAULT_TASK = ("You are an expert optimization and algorithm design assistant. Improve the "
                "program while preserving correctness and immutable regions.")
_OPS = {"diff": "diff", "full": "rewrite", "cross": "crossover"}
_EFFORTS = ("low", "medium", "high")
_LOCAL = re.compile(r"^local/(?P<model>[^@]+)@(?P<url>https?://[^?]+)(?:\?(?P<query>.*))?$")

REASONS = {
    "max_db_workers": "codeevo has one lineage writer; no database workers",
    "db_config.db_path": "the run's lineage.git is the database",
    "db_config.archive_size": "the MAP-Elites grid bounds the archive (features and bins)",
    "db_config.max_stdout_log_chars": "output is capped per artifact (sandbox.output_cap_bytes)",
    "db_config.island_elitism": "each island always keeps its elites",
    "db_config.enforce_island_separation": "islands exchange elites only by migration",
    "db_config.island_selection_strategy": "islands take turns (round robin)",
    "db_config.enable_dynamic_islands": "the number of islands is fixed",
    "db_config.stagnation_threshold": "the number of islands is fixed",
    "db_config.island_spawn_strategy": "the number of islands is fixed",
    "db_config.island_spawn_subtree_size": "the number of islands is fixed",
    "db_config.exploitation_alpha": "selection is by the population.*_ratio weights",
    "db_config.parent_selection_lambda": "selection is by the population.*_ratio weights",
    "db_config.num_beams": "selection is by the population.*_ratio weights",
    "db_config.archive_selection_strategy": "each MAP-Elites cell keeps its best program",
    "db_config.archive_criteria": "programs are ranked by combined_score only",
    "evo_config.max_patch_resamples": "a bad reply is repaired (operators.repair_turns), "
                                      "not resampled",
    "evo_config.llm_dynamic_selection_kwargs": "only exploration_coef and cost_aware_coef map",
    "evo_config.meta_llm_kwargs": "the summariser uses its model's llm.models settings",
    "evo_config.sample_single_meta_rec": "all insights are shown",
    "evo_config.novelty_llm_kwargs": "the judge uses its model's llm.models settings",
    "evo_config.max_novelty_attempts": "a child judged not novel is rejected, not resampled",
    "evo_config.results_dir": "the run goes to --out (default runs/<problem>-<time>)",
    "evo_config.inspiration_sort_order": "inspirations are spread over the MAP-Elites grid",
    "evo_config.enable_controlled_oversubscription": "engine.max_in_flight bounds the "
                                                     "candidates in flight",
    "evo_config.proposal_target_mode": "engine.proposal_slots / eval_slots are fixed",
    "evo_config.proposal_target_min_samples": "engine.proposal_slots / eval_slots are fixed",
    "evo_config.proposal_target_ratio_cap": "engine.proposal_slots / eval_slots are fixed",
    "evo_config.proposal_buffer_max": "engine.proposal_slots / eval_slots are fixed",
    "evo_config.proposal_target_hard_cap": "engine.proposal_slots / eval_slots are fixed",
    "evo_config.proposal_target_ewma_alpha": "engine.proposal_slots / eval_slots are fixed",
    "evo_config.evolve_prompts": "prompts are not evolved (templates are fixed per problem)",
    "evo_config.prompt_evolution_interval": "prompts are not evolved",
    "evo_config.prompt_patch_types": "prompts are not evolved",
    "evo_config.prompt_patch_type_probs": "prompts are not evolved",
    "evo_config.prompt_archive_size": "prompts are not evolved",
    "evo_config.prompt_llm_models": "prompts are not evolved",
    "evo_config.prompt_llm_kwargs": "prompts are not evolved",
    "evo_config.prompt_ucb_exploration_constant": "prompts are not evolved",
    "evo_config.prompt_epsilon": "prompts are not evolved",
    "evo_config.prompt_evo_top_k_programs": "prompts are not evolved",
    "evo_config.prompt_percentile_recompute_interval": "prompts are not evolved",
    "evo_config.enable_wandb_logging": "no W&B logging; events.jsonl and the TUI show a run",
    "job_config.*": "codeevo's sandboxes run the evaluator (sandbox.*)",
}


def translate(tr: Translation, folder: Path) -> None:
    """Fill `tr.run`, `tr.facts` and `tr.warnings` from a Shinka run config in `tr.data`."""
    evals = tr.number("max_evaluation_jobs", integer=True, positive=True)
    if evals is not None:
        tr.put("engine.eval_slots", int(evals))
    props = tr.number("max_proposal_jobs", integer=True, positive=True)
    if props is not None:
        tr.put("engine.proposal_slots", int(props))
    _db(tr)
    _evo(tr)
    _job(tr)
    for key in list(tr.data.get("evo_config") or {}):
        if str(key).startswith("wandb_"):
            tr.skip(("evo_config", str(key)), "no W&B logging; events.jsonl and the TUI "
                                              "show a run")
    tr.leftovers(REASONS)


def _db(tr: Translation) -> None:
    islands = tr.number("db_config", "num_islands", integer=True, positive=True)
    n = int(islands) if islands is not None else 2
    if islands is not None:
        tr.put("population.num_islands", n)
    size = int(tr.number("db_config", "archive_size", integer=True, positive=True) or 40)
    elite = tr.number("db_config", "elite_selection_ratio")
    if elite is not None:
        tr.put("population.elite_count", max(1, round(elite * size)))
        tr.approximate(("db_config", "elite_selection_ratio"),
                       f"population.elite_count = {max(1, round(elite * size))} "
                       "(ratio x archive_size)")
    insp = tr.number("db_config", "num_archive_inspirations", integer=True)
    if insp is not None:
        tr.put("population.num_inspirations", max(0, int(insp)))
    top = tr.number("db_config", "num_top_k_inspirations", integer=True)
    if top is not None:
        tr.put("population.num_top_programs", max(0, int(top)))
    interval = tr.number("db_config", "migration_interval", integer=True, positive=True)
    if interval is not None:
        tr.put("population.migration_interval", int(interval))
    rate = tr.number("db_config", "migration_rate")
    if rate is not None:
        count = 0 if rate <= 0 else max(1, round(rate * size / n))
        tr.put("population.migration_count", count)
        tr.approximate(("db_config", "migration_rate"),
                       f"population.migration_count = {count} elites (rate x archive / islands)")
    strategy = tr.text("db_config", "parent_selection_strategy")
    if strategy is not None:
        ratios = {"weighted": (0.3, 0.2, 0.5), "power_law": (0.6, 0.2, 0.2),
                  "hill_climbing": (1.0, 0.0, 0.0), "beam_search": (1.0, 0.0, 0.0)}.get(strategy)
        if ratios is None:
            tr.skip(("db_config", "parent_selection_strategy"),
                    f"unknown strategy {strategy!r}; codeevo's selection ratios are used")
        else:
            for name, value in zip(("exploitation", "exploration", "fitness_proportional"),
                                   ratios, strict=True):
                tr.put(f"population.{name}_ratio", value)
            if strategy == "hill_climbing":
                tr.put("population.elite_count", 1)
            tr.approximate(("db_config", "parent_selection_strategy"),
                           f"{strategy!r} as selection ratios exploitation/exploration/"
                           f"fitness-proportional = {ratios[0]}/{ratios[1]}/{ratios[2]}")
    exploit = tr.number("db_config", "exploitation_ratio")
    if exploit is not None:
        tr.put("population.exploitation_ratio", max(0.0, min(1.0, exploit)))


def _evo(tr: Translation) -> None:
    task = tr.text("evo_config", "task_sys_msg")
    if task:
        tr.facts["task"] = task.strip()
    language = tr.text("evo_config", "language")
    if language is not None and language.lower() != "python":
        raise tr.fail(("evo_config", "language"),
                      f"codeevo evolves Python programs; {language!r} is not supported")
    entry = tr.text("evo_config", "init_program_path")
    if entry:
        tr.facts["entry"] = entry
    _operators(tr)
    gens = tr.number("evo_config", "num_generations", integer=True, positive=True)
    if gens is not None:
        tr.put("budget.max_evaluations", int(gens))
    cost = tr.number("evo_config", "max_api_costs", positive=True)
    if cost is not None:
        tr.put("budget.max_cost", cost)
    attempts = tr.number("evo_config", "max_patch_attempts", integer=True, positive=True)
    if attempts is not None:
        tr.put("operators.repair_turns", int(attempts) - 1)
    job = tr.text("evo_config", "job_type")
    if job is not None and job != "local":
        tr.skip(("evo_config", "job_type"), f"{job!r}: codeevo's sandboxes run every "
                                            "evaluation (sandbox.kind; the Ray executor for "
                                            "clusters)")
    models = _models(tr)
    _selection(tr, len(models))
    _meta(tr, models)
    _novelty(tr, models)
    fb = tr.flag("evo_config", "use_text_feedback")
    tr.facts["text_feedback"] = bool(fb)


def _operators(tr: Translation) -> None:
    types = tr.strings("evo_config", "patch_types")
    probs = tr.get("evo_config", "patch_type_probs")
    if types is None:
        return
    if probs is None:
        probs = [1.0] * len(types)
    if not isinstance(probs, list) or len(probs) != len(types) or not all(
            isinstance(p, int | float) and not isinstance(p, bool) and p >= 0 for p in probs):
        raise tr.fail(("evo_config", "patch_type_probs"),
                      "expected one non-negative number per patch type")
    mix: dict[str, float] = {}
    for kind, p in zip(types, probs, strict=True):
        op = _OPS.get(kind)
        if op is None:
            tr.approximate(("evo_config", "patch_types"), f"patch type {kind!r} has no codeevo "
                                                          "operator; left out")
            continue
        mix[op] = mix.get(op, 0.0) + float(p)
    if mix and any(w > 0 for w in mix.values()):
        tr.put("operators.mix", mix)


def _models(tr: Translation) -> list[str]:
    names = tr.strings("evo_config", "llm_models")
    if not names:
        return []
    kwargs = tr.get("evo_config", "llm_kwargs") or {}
    if not isinstance(kwargs, dict):
        raise tr.fail(("evo_config", "llm_kwargs"), "expected a mapping")
    params: dict[str, Any] = {}
    temps = kwargs.get("temperatures", kwargs.get("temperature"))
    if isinstance(temps, int | float) and not isinstance(temps, bool):
        params["temperature"] = float(temps)
    elif isinstance(temps, list) and temps:
        mid = sorted(float(t) for t in temps)[len(temps) // 2]
        params["temperature"] = mid
        if len(temps) > 1:
            tr.approximate(("evo_config", "llm_kwargs", "temperatures"),
                           f"Shinka samples one per call; codeevo uses {mid:g} for every call")
    efforts = kwargs.get("reasoning_efforts", kwargs.get("reasoning_effort"))
    if isinstance(efforts, str):
        efforts = [efforts]
    if isinstance(efforts, list) and efforts:
        valid = [e for e in efforts if e in _EFFORTS]
        if valid:
            params["reasoning_effort"] = valid[len(valid) // 2]
        if len(efforts) > 1 or not valid:
            chosen = params.get("reasoning_effort", "none")
            tr.approximate(("evo_config", "llm_kwargs", "reasoning_efforts"),
                           f"one effort for every call: {chosen} (codeevo knows low/medium/high)")
    if isinstance(kwargs.get("max_tokens"), int):
        params["max_tokens"] = kwargs["max_tokens"]
    for other in sorted(set(kwargs) - {"temperatures", "temperature", "reasoning_efforts",
                                       "reasoning_effort", "max_tokens"}):
        tr.skip(("evo_config", "llm_kwargs", other), "not a sampling setting codeevo sends")
    out: list[dict[str, Any]] = []
    for name in names:
        model = model_config(name)
        if model is None:
            tr.skip(("evo_config", "llm_models"), f"{name!r}: headless agents are not "
                                                  "supported; left out")
            continue
        if any(m["name"] == model["name"] for m in out):
            continue
        out.append({**model, **params})
    if out:
        tr.put("llm.models", out)
    return [m["name"] for m in out]


def model_config(name: str) -> dict[str, Any] | None:
    """A Shinka model identifier as a codeevo llm.models entry (None: unsupported)."""
    local = _LOCAL.match(name)
    if local:
        out: dict[str, Any] = {"name": "openai/" + local.group("model"),
                               "api_base": local.group("url")}
        for part in (local.group("query") or "").split("&"):
            k, _, v = part.partition("=")
            if k == "api_key_env" and v:
                out["api_key_env"] = env_reference(v) or v
        return out
    if name.startswith("headless/"):
        return None
    if name.startswith("azure-"):
        return {"name": "azure/" + name[len("azure-"):]}
    return {"name": litellm_name(name)}


def _selection(tr: Translation, n_models: int) -> None:
    kind = tr.get("evo_config", "llm_dynamic_selection")
    key = ("evo_config", "llm_dynamic_selection")
    if kind is None and tr.has(*key):
        tr.put("bandit.enabled", False)
    elif isinstance(kind, str):
        low = kind.lower()
        if low in ("ucb", "ucb1", "asymmetric_ucb"):
            tr.put("bandit.enabled", True)
            tr.put("bandit.kind", "ucb")
        elif low in ("thompson", "thompson_sampling", "ts"):
            tr.put("bandit.enabled", True)
            tr.put("bandit.kind", "thompson")
        elif low in ("fixed", "none", "off", "uniform"):
            tr.put("bandit.enabled", False)
        else:
            tr.skip(key, f"unknown policy {kind!r}; codeevo's bandit default is used")
    kw = tr.peek("evo_config", "llm_dynamic_selection_kwargs")
    if isinstance(kw, dict):
        coef = kw.get("exploration_coef")
        if isinstance(coef, int | float) and not isinstance(coef, bool):
            tr.get("evo_config", "llm_dynamic_selection_kwargs", "exploration_coef")
            tr.put("bandit.exploration", max(0.0, float(coef)))
        cost = kw.get("cost_aware_coef")
        if isinstance(cost, int | float) and not isinstance(cost, bool):
            tr.get("evo_config", "llm_dynamic_selection_kwargs", "cost_aware_coef")
            tr.put("bandit.cost_weight", max(0.0, float(cost)))


def _pick(tr: Translation, key: tuple[str, ...], models: list[str]) -> str | None:
    names = tr.strings(*key)
    if not names:
        return None
    wanted = model_config(names[0])
    name = wanted["name"] if wanted else None
    if name in models:
        return str(name)
    if models:
        tr.approximate(key, f"{names[0]!r} is not among evo_config.llm_models; codeevo uses "
                            f"{models[0]} (calls go through the run's ensemble)")
        return models[0]
    tr.skip(key, "no llm_models: offline runs use the deterministic digest / no judge")
    return None


def _meta(tr: Translation, models: list[str]) -> None:
    interval = tr.get("evo_config", "meta_rec_interval")
    if interval is None and tr.has("evo_config", "meta_rec_interval"):
        tr.put("insights.enabled", False)
    elif interval is not None:
        if not isinstance(interval, int) or isinstance(interval, bool) or interval <= 0:
            raise tr.fail(("evo_config", "meta_rec_interval"), "expected a positive whole number")
        tr.put("insights.enabled", True)
        tr.put("insights.interval", interval)
    model = _pick(tr, ("evo_config", "meta_llm_models"), models)
    if model:
        tr.put("insights.model", model)
    most = tr.number("evo_config", "meta_max_recommendations", integer=True, positive=True)
    if most is not None:
        tr.put("insights.max_items", int(most))


def _novelty(tr: Translation, models: list[str]) -> None:
    emb = tr.text("evo_config", "embedding_model")
    if emb:
        tr.put("novelty.embedding_model", litellm_name(emb))
    sim = tr.number("evo_config", "code_embed_sim_threshold")
    if sim is not None and emb:
        tr.put("novelty.threshold", max(0.0, min(1.0, sim)))
    elif sim is not None:
        tr.skip(("evo_config", "code_embed_sim_threshold"),
                "meant for evo_config.embedding_model, which is not set; codeevo's offline "
                "embedding uses its own novelty.threshold")
    judge = _pick(tr, ("evo_config", "novelty_llm_models"), models)
    if judge:
        tr.put("novelty.judge", True)
        tr.put("novelty.judge_model", judge)


def _job(tr: Translation) -> None:
    time_text = tr.text("job_config", "time")
    if time_text:
        tr.facts["timeout"] = hms_seconds(time_text, tr, ("job_config", "time"))
    ev = tr.text("job_config", "eval_program_path")
    if ev:
        tr.facts["evaluator_file"] = ev


def hms_seconds(text: str, tr: Translation | None = None,
                key: tuple[str, ...] = ()) -> float:
    parts = text.split(":")
    try:
        h, m, s = (int(p) for p in parts)
    except ValueError:
        if tr is not None:
            raise tr.fail(key, f"expected hh:mm:ss, got {text!r}") from None
        raise
    return float(h * 3600 + m * 60 + s)


# ---------------------------------------------------------------- run_evo.py (read only)


def scan_run_script(path: Path) -> dict[str, Any]:
    """What a ``run_evo.py`` states as constants: the task system message, the job's time
    limit and evaluator file. The script is parsed, never run; anything computed is missed."""
    try:
        tree = ast.parse(path.read_text(), filename=str(path))
    except (OSError, SyntaxError, ValueError):
        return {}
    out: dict[str, Any] = {}
    strings: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant) and isinstance(
                node.value.value, str):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    strings[target.id] = node.value.value
        if isinstance(node, ast.Call) and getattr(node.func, "id", getattr(
                node.func, "attr", "")) in ("LocalJobConfig", "JobConfig"):
            for kw in node.keywords:
                if isinstance(kw.value, ast.Constant) and isinstance(kw.value.value, str):
                    if kw.arg == "time":
                        try:
                            out["timeout"] = hms_seconds(kw.value.value)
                        except ValueError:
                            pass
                    elif kw.arg == "eval_program_path":
                        out["evaluator_file"] = kw.value.value
    for name, value in strings.items():
        if "sys_msg" in name.lower() and value.strip() and not value.strip().startswith("<"):
            out["task"] = value.strip()
            out["task_source"] = name
            break
    return out
