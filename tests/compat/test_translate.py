"""Config translation: every key carried over, used, or reported in one warning block."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from codeevo.compat.config_file import config_format, translate_file
from codeevo.compat.shinka import model_config
from codeevo.config import RunConfig
from codeevo.errors import ConfigError
from codeevo.problem import load_problem

from .conftest import OE_EVALUATOR, OE_SEED, write

OE_CONFIG = """max_iterations: 12
checkpoint_interval: 5
random_seed: 3
diff_based_evolution: false
llm:
  api_base: http://127.0.0.1:9/v1
  temperature: 0.4
  top_p: 0.9
  max_tokens: 2048
  timeout: 30
  retries: 2
  api_key: sk-LITERAL-never-echo-me
  models:
    - name: small-model
      weight: 0.8
    - name: big-model
      weight: 0.2
      api_key: ${BIG_MODEL_KEY}
      temperature: 0.9
prompt:
  system_message: Make value() return a bigger number.
  num_top_programs: 4
  include_artifacts: true
  max_artifact_bytes: 4096
database:
  num_islands: 3
  exploitation_ratio: 0.5
  exploration_ratio: 0.4
  migration_interval: 10
  feature_dimensions: [complexity, diversity, accuracy]
  feature_bins: {complexity: 5, accuracy: 4}
  similarity_threshold: 0.97
  embedding_model: text-embedding-3-small
  populaton_size: 50
evaluator:
  timeout: 45
  cascade_thresholds: [0.3, 0.6]
  parallel_evaluations: 3
  use_llm_feedback: true
evolution_trace:
  enabled: true
"""


def _oe(tmp_path: Path, config: str = OE_CONFIG) -> Path:
    return write(tmp_path / "oe", {"initial_program.py": OE_SEED,
                                    "evaluator.py": OE_EVALUATOR, "config.yaml": config})


def test_openevolve_config_is_translated_and_the_rest_reported(tmp_path: Path) -> None:
    problem = load_problem(_oe(tmp_path))
    d = problem.config.defaults
    cfg = RunConfig.model_validate(d)
    assert cfg.budget.max_evaluations == 13  # 12 iterations + the seed
    assert cfg.seed == 3
    assert cfg.operators.mix == {"rewrite": 1.0}
    small, big = cfg.llm.models
    assert (small.name, small.api_base, small.weight, small.temperature, small.max_tokens) == (
        "openai/small-model", "http://127.0.0.1:9/v1", 0.8, 0.4, 2048)
    assert (big.name, big.api_key_env, big.temperature) == ("openai/big-model", "BIG_MODEL_KEY",
                                                              0.9)
    assert small.api_key_env is None  # the literal key is never used
    assert (cfg.llm.timeout, cfg.llm.max_retries) == (30, 2)
    assert cfg.population.num_islands == 3 and cfg.population.num_top_programs == 4
    assert cfg.population.migration_interval == 30  # 10 generations x 3 islands
    assert cfg.population.fitness_proportional_ratio == pytest.approx(0.1)
    assert cfg.engine.eval_slots == 3
    assert cfg.novelty.threshold == 0.97
    assert cfg.novelty.embedding_model == "openai/text-embedding-3-small"
    assert problem.prompt.strip() == "Make value() return a bigger number."
    assert [s.timeout for s in problem.config.stages] == [45.0]
    feats = {f.name: f.bins for f in problem.config.features}
    assert feats == {"code_length": 5, "accuracy": 4}

    origin = problem.origin
    assert origin is not None
    text = "\n".join(origin.warnings)
    for key in ("checkpoint_interval", "llm.top_p", "llm.api_key", "prompt.max_artifact_bytes",
                "database.populaton_size", "evaluator.use_llm_feedback",
                "evolution_trace.enabled", "database.feature_dimensions"):
        assert key in text, key
    assert "sk-LITERAL" not in text and "sk-LITERAL" not in str(d)
    assert "config.yaml:2: checkpoint_interval" in text  # file and line of each key
    assert "a typo?" in next(w for w in origin.warnings if "populaton_size" in w)
    block = origin.warning_block()
    assert block is not None and block.count("\n") == len(origin.warnings)
    # keys that mean what codeevo does are used silently
    assert "include_artifacts" not in text and "max_iterations" not in text


def test_a_bad_value_names_the_file_and_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"config.yaml:3: database.num_islands: must be "
                                          r"positive"):
        load_problem(_oe(tmp_path, "max_iterations: 5\ndatabase:\n  num_islands: 0\n"))
    with pytest.raises(ConfigError, match="Python programs"):
        load_problem(_oe(tmp_path / "b", "language: rust\n"))


def test_shinka_config_is_translated(tmp_path: Path) -> None:
    config = {
        "max_evaluation_jobs": 3, "max_proposal_jobs": 6, "max_db_workers": 2,
        "db_config": {"num_islands": 3, "archive_size": 30, "migration_rate": 0.2,
                      "num_archive_inspirations": 2, "enable_dynamic_islands": True},
        "evo_config": {
            "task_sys_msg": "Spread the points.", "patch_types": ["diff", "full", "cross"],
            "patch_type_probs": [0.5, 0.3, 0.2], "num_generations": 50,
            "llm_models": ["local/qwen@http://127.0.0.1:8000/v1?api_key_env=LOCAL_KEY",
                           "gpt-4.1-mini", "claude-sonnet-4-5"],
            "llm_kwargs": {"temperatures": [0.0, 0.5, 1.0], "max_tokens": 1024},
            "llm_dynamic_selection": "ucb1",
            "llm_dynamic_selection_kwargs": {"exploration_coef": 2.0, "cost_aware_coef": 0.5},
            "meta_rec_interval": 7, "meta_llm_models": ["gpt-4.1-mini"],
            "novelty_llm_models": ["o4-mini"], "code_embed_sim_threshold": 0.95,
            "max_api_costs": 3.0, "wandb_project": "x", "evolve_prompts": True,
        },
    }
    folder = write(tmp_path / "sh", {
        "initial.py": "# EVOLVE-BLOCK-START\nX = 1\n# EVOLVE-BLOCK-END\n",
        "evaluate.py": "from shinka.core import run_shinka_eval\n",
        "shinka.yaml": yaml.safe_dump(config)})
    problem = load_problem(folder)
    cfg = RunConfig.model_validate(problem.config.defaults)
    assert [m.name for m in cfg.llm.models] == ["openai/qwen", "openai/gpt-4.1-mini",
                                                 "anthropic/claude-sonnet-4-5"]
    local = cfg.llm.models[0]
    assert (local.api_base, local.api_key_env) == ("http://127.0.0.1:8000/v1", "LOCAL_KEY")
    assert {m.temperature for m in cfg.llm.models} == {0.5}
    assert cfg.operators.mix == {"diff": 0.5, "rewrite": 0.3, "crossover": 0.2}
    assert (cfg.engine.eval_slots, cfg.engine.proposal_slots) == (3, 6)
    assert cfg.budget.max_evaluations == 50 and cfg.budget.max_cost == 3.0
    assert cfg.bandit.enabled is True and cfg.bandit.kind == "ucb"
    assert (cfg.bandit.exploration, cfg.bandit.cost_weight) == (2.0, 0.5)
    assert cfg.insights.enabled is True and cfg.insights.interval == 7
    assert cfg.insights.model == "openai/gpt-4.1-mini"
    assert cfg.novelty.threshold is None and cfg.novelty.judge  # no embedding_model set
    assert cfg.novelty.judge_model == "openai/qwen"  # o4-mini is not in the ensemble
    assert cfg.population.migration_count == 2
    assert problem.prompt.strip() == "Spread the points."
    text = "\n".join(problem.origin.warnings if problem.origin else [])
    for key in ("max_db_workers", "db_config.enable_dynamic_islands", "evo_config.wandb_project",
                "evo_config.evolve_prompts", "llm_kwargs.temperatures",
                "evo_config.novelty_llm_models", "evo_config.code_embed_sim_threshold"):
        assert key in text, key


def test_shinka_model_names() -> None:
    assert model_config("gemini-2.5-flash") == {"name": "gemini/gemini-2.5-flash"}
    assert model_config("openrouter/qwen/qwen3") == {"name": "openrouter/qwen/qwen3"}
    assert model_config("azure-gpt-4o") == {"name": "azure/gpt-4o"}
    assert model_config("headless/claude") is None


def test_config_file_format_detection(tmp_path: Path) -> None:
    assert config_format({"seed": 1, "llm": {"models": []}}) is None
    assert config_format({"max_iterations": 5}) == "openevolve"
    assert config_format({"llm": {"primary_model": "gpt-4o"}}) == "openevolve"
    assert config_format({"evo_config": {}}) == "shinkaevolve"
    path = tmp_path / "oe.yaml"
    path.write_text("max_iterations: 9\nlog_level: DEBUG\nprompt:\n  system_message: hi there\n")
    layer, warnings = translate_file(path)
    assert layer == {"budget": {"max_evaluations": 10}}
    assert any("log_level" in w for w in warnings)
    assert any("system_message" in w and "not used" in w for w in warnings)


def test_openevolve_template_dir_becomes_codeevo_templates(tmp_path: Path) -> None:
    from codeevo.candidate import Candidate
    from codeevo.mutation.base import ParentView, ProposalRequest
    from codeevo.mutation.prompts import build_messages

    folder = _oe(tmp_path, "prompt:\n  template_dir: tpl\ndiff_based_evolution: true\n")
    (folder / "tpl").mkdir()
    (folder / "tpl" / "system_message.txt").write_text("You optimise {language} code. Cost: $5.")
    (folder / "tpl" / "diff_user.txt").write_text(
        "Fitness {fitness_score}; focus: {improvement_areas}\n{artifacts}\n"
        "```{language}\n{current_program}\n```\n{evolution_history}\n"
        "Answer with <<<<<<< SEARCH / ======= / >>>>>>> REPLACE blocks.")
    (folder / "tpl" / "evaluation.txt").write_text("unused")
    problem = load_problem(folder)
    assert set(problem.templates) == {"system", "user_diff"}
    notes = "\n".join(problem.origin.warnings if problem.origin else [])
    assert "{improvement_areas}" in notes and "evaluation.txt" in notes
    parent = ParentView(Candidate(id="c000000", seq=0, score=1.5), problem.seed_program,
                        {"stderr": "warning: slow"})
    request = ProposalRequest(problem=problem, parent=parent)
    system, user = build_messages(request, "diff")
    assert system["content"] == "You optimise python code. Cost: $5."
    text = user["content"]
    assert text.startswith("Fitness ; focus: \n")  # placeholders without a counterpart dropped
    assert "# Current program (score: 1.5)" in text and "X = 1.0" in text
    assert "warning: slow" in text  # {artifacts} -> the evaluator feedback section
    assert text.count("```python") == 1  # the template's own fence was folded into $parents
    _, rewrite = build_messages(request, "rewrite")  # other operators keep codeevo's template
    assert "Fitness" not in rewrite["content"]
