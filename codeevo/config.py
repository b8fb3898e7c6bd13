"""Pydantic models for every setting, YAML loading with line numbers, CLI overrides.

Every model forbids unknown keys, so a typo in a config file is an error that names the field
path (and, for YAML files, the line) instead of a setting silently ignored.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from codeevo.errors import ConfigError


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


# ---------------------------------------------------------------- problem


class StageConfig(_Model):
    """One cascade stage: the evaluator function to call and the bar to pass before the next."""

    name: str
    function: str = Field(description="function in the evaluator module, called as f(ctx)")
    threshold: float | None = Field(
        default=None, description="stop the cascade when the stage's score is below this"
    )
    timeout: float = Field(default=60.0, gt=0, description="seconds for this stage")


class FeatureConfig(_Model):
    """One MAP-Elites dimension: a feature value binned into `bins` cells over [low, high]."""

    name: str = Field(description="evaluator feature, or a built-in: code_length, code_lines")
    bins: int = Field(default=8, ge=1, le=1000)
    low: float = 0.0
    high: float = 1.0

    @model_validator(mode="after")
    def _range(self) -> FeatureConfig:
        if self.high <= self.low:
            raise ValueError(
                f"feature {self.name!r}: high ({self.high}) must exceed low ({self.low})"
            )
        return self


class EvaluatorConfig(_Model):
    """Where the scoring code lives and what it is given."""

    path: str | None = Field(
        default=None,
        description="evaluator folder, relative to the problem folder "
        "(default: ../../evaluators/<problem name>)",
    )
    module: str = Field(default="evaluator", description="module inside the folder")
    config: dict[str, Any] = Field(default_factory=dict, description="passed to the evaluator")
    shares_candidate_process: bool = Field(
        default=False,
        description="the evaluator runs the candidate inside its own process (a translated "
        "OpenEvolve / ShinkaEvolve evaluator): the run says so and recommends Docker")


class ProblemConfig(_Model):
    """The contents of a problem's `problem.yaml`."""

    name: str
    description: str = ""
    entry: str = Field(default="initial.py", description="seed program file")
    prompt: str = Field(default="prompt.md")
    language: Literal["python"] = "python"
    evaluator: EvaluatorConfig = Field(default_factory=EvaluatorConfig)
    stages: list[StageConfig] = Field(min_length=1)
    features: list[FeatureConfig] = Field(default_factory=list)
    sandbox_profile: Literal["local", "docker", "docker-gpu"] = "local"
    image: str = Field(default="codeevo-cpu", description="Docker image for this problem")
    baselines: list[str] = Field(
        default_factory=list, description="programs (relative paths) that may seed the population"
    )
    fixed_constants: list[str] = Field(
        default_factory=list,
        description="names whose literal values the tune operator never changes",
    )
    warm_imports: list[str] = Field(
        default_factory=list,
        description="modules the candidate template imports once per runner (e.g. numpy, "
        "torch), so each candidate process starts with them already loaded",
    )
    defaults: dict[str, Any] = Field(
        default_factory=dict, description="run config defaults for this problem (same shape)"
    )
    requires: list[str] = Field(
        default_factory=list,
        description="Python modules the host needs for this problem (its prepare hook, the "
        "local sandbox), e.g. [torch]; checked before a run or an evaluation starts",
    )
    extra: str | None = Field(
        default=None, description="the codeevo extra that installs `requires` (e.g. merge)"
    )


# ---------------------------------------------------------------- run settings


class PopulationConfig(_Model):
    num_islands: int = Field(default=4, ge=1)
    migration_interval: int = Field(default=50, ge=1, description="evaluations between migrations")
    migration_count: int = Field(default=2, ge=0, description="elites sent to the next island")
    exploitation_ratio: float = Field(default=0.5, ge=0, le=1)
    exploration_ratio: float = Field(default=0.3, ge=0, le=1)
    fitness_proportional_ratio: float = Field(default=0.2, ge=0, le=1)
    elite_count: int = Field(default=5, ge=1, description="size of the 'top elites' pool")
    num_inspirations: int = Field(default=3, ge=0)
    num_top_programs: int = Field(default=2, ge=0)
    seed_baselines: bool = Field(default=False, description="evaluate the problem's baselines too")

    @model_validator(mode="after")
    def _ratios(self) -> PopulationConfig:
        total = self.exploitation_ratio + self.exploration_ratio + self.fitness_proportional_ratio
        if total <= 0:
            raise ValueError("selection ratios must not all be zero")
        return self


class OperatorConfig(_Model):
    """Operator mix: name → weight. Names: ast, tune, diff, rewrite, crossover.

    Without an LLM only the offline operators (ast, tune) run: their weights from `mix` when it
    names one of them, else the default offline mix (`OFFLINE_MIX`)."""

    mix: dict[str, float] = Field(
        default_factory=lambda: {"diff": 0.6, "rewrite": 0.2, "crossover": 0.2}
    )
    repair_turns: int = Field(default=2, ge=0, description="times a bad reply is sent back")
    ast_crossover_rate: float = Field(default=0.2, ge=0, le=1)
    ast_max_edits: int = Field(default=3, ge=1)
    tune_sigma: float = Field(
        default=0.3, gt=0, le=10,
        description="tune: initial CMA-ES step, relative to each literal's starting magnitude",
    )
    tune_population: int | None = Field(
        default=None, ge=2, description="tune: CMA-ES population (default 4 + 3 ln n, >= 6)"
    )

    @model_validator(mode="after")
    def _mix(self) -> OperatorConfig:
        known = {"ast", "tune", "diff", "rewrite", "crossover"}
        for name, w in self.mix.items():
            if name not in known:
                raise ValueError(f"unknown operator {name!r} (known: {', '.join(sorted(known))})")
            if w < 0:
                raise ValueError(f"operator {name!r} has a negative weight")
        if not any(w > 0 for w in self.mix.values()):
            raise ValueError("operator mix has no positive weight")
        return self


class ModelConfig(_Model):
    """One model of the ensemble. Keys are read from the environment, never from here."""

    name: str = Field(description="litellm model string, e.g. openai/gpt-4.1-mini")
    weight: float = Field(default=1.0, gt=0)
    api_base: str | None = None
    api_key_env: str | None = Field(
        default=None, description="environment variable that holds the key (not the key)"
    )
    temperature: float | None = Field(default=0.8, ge=0)
    max_tokens: int | None = Field(default=4096, gt=0)
    reasoning_effort: Literal["low", "medium", "high"] | None = None
    input_price_per_mtok: float | None = Field(default=None, ge=0)
    output_price_per_mtok: float | None = Field(default=None, ge=0)

    @model_validator(mode="before")
    @classmethod
    def _no_keys(cls, data: Any) -> Any:
        if isinstance(data, dict) and ("api_key" in data or "key" in data):
            raise ValueError(
                "API keys are not accepted in config; set api_key_env to the name of an "
                "environment variable instead"
            )
        return data


class LLMConfig(_Model):
    models: list[ModelConfig] = Field(default_factory=list)
    timeout: float = Field(default=120.0, gt=0, description="seconds per request")
    max_retries: int = Field(default=4, ge=0)
    backoff_base: float = Field(default=1.0, ge=0)
    backoff_max: float = Field(default=60.0, ge=0)
    provider_failure_limit: int = Field(
        default=10, ge=1, description="consecutive failed calls before a model is given up on"
    )
    cache: Literal["off", "record", "replay", "cache"] = Field(
        default="record",
        description="record: store every exchange; replay: only stored replies, no network; "
        "cache: reuse stored replies, call the model on a miss",
    )
    cache_dir: str | None = Field(default=None, description="store to read (default: run's llm/)")
    max_concurrency: int | None = Field(
        default=None, ge=1,
        description="LLM requests in flight at once, across the ensemble "
        "(default: engine.proposal_slots)",
    )
    transport: Literal["process", "inline"] = Field(
        default="process",
        description="process: litellm runs in worker processes (its CPU off the driver's loop); "
        "inline: on the driver's event loop",
    )
    workers: int | None = Field(
        default=None, ge=1, le=16,
        description="LLM worker processes (transport: process); default one per 8 request "
        "slots, at most 4 and the CPU count",
    )


class SandboxConfig(_Model):
    kind: Literal["auto", "local", "docker", "docker-gpu"] = "auto"
    image: str | None = Field(default=None, description="overrides the problem's image")
    memory_mb: int = Field(default=2048, ge=64)
    cpu_time_s: int = Field(default=300, ge=1)
    cpus: float = Field(default=1.0, gt=0)
    file_size_mb: int = Field(default=64, ge=1)
    disk_mb: int | None = Field(
        default=None, ge=1,
        description="total MB a candidate may write in its run folder (default 8 × file_size_mb)",
    )
    max_files: int = Field(
        default=10_000, ge=16, description="files and folders a candidate may create"
    )
    max_processes: int = Field(default=64, ge=4)
    max_open_files: int = Field(default=256, ge=16)
    output_cap_bytes: int = Field(default=64_000, ge=1024)
    timeout_slack_s: float = Field(default=10.0, ge=0)
    warm_pool: bool = Field(
        default=True,
        description="warm runners: a runner (process or container) imports the evaluator and "
        "runs its setup once, then scores many candidates; false = a fresh runner per candidate",
    )
    warm_pool_size: int = Field(default=2, ge=1, description="idle warm runners kept per problem")
    warm_pool_max_uses: int = Field(
        default=100, ge=1, description="evaluations before a warm runner is replaced"
    )
    raw_artifacts: bool = Field(
        default=False,
        description="keep control bytes (ESC, NUL, BEL...) in recorded artifacts; by default "
        "they are escaped so `git show` or the TUI cannot be driven by a candidate's output",
    )
    gpu_devices: list[str] | None = Field(default=None, description="device ids; None = all")
    gpu_concurrency: int = Field(default=1, ge=1, description="candidates at a time per GPU")
    shm_size_mb: int = Field(default=1024, ge=64)


class BudgetConfig(_Model):
    max_evaluations: int | None = Field(default=300, ge=1)
    max_wall_seconds: float | None = Field(default=None, gt=0)
    max_tokens: int | None = Field(default=None, ge=1)
    max_cost: float | None = Field(default=None, gt=0, description="dollars")


class EngineConfig(_Model):
    proposal_slots: int = Field(
        default=4, ge=1,
        description="LLM requests in flight (unless llm.max_concurrency says otherwise); "
        "offline operators: proposals in flight",
    )
    eval_slots: int | Literal["auto"] = Field(
        default=2, description="evaluations in flight; auto = usable cores (GPUs for "
        "docker-gpu), see codeevo.sandbox.slots.resolve_eval_slots"
    )

    @model_validator(mode="after")
    def _slots(self) -> EngineConfig:
        if isinstance(self.eval_slots, int) and self.eval_slots < 1:
            raise ValueError("eval_slots must be at least 1 (or auto)")
        return self
    max_in_flight: int | None = Field(
        default=None,
        ge=1,
        description="candidates between selection and record; default proposal+eval slots. "
        "1 makes a run reproducible commit for commit",
    )


class ExecutorConfig(_Model):
    """Where evaluations run: this machine (local) or the nodes of a Ray cluster (ray)."""

    kind: Literal["local", "ray"] = Field(
        default="local", description="local: this machine's sandbox; ray: a Ray cluster's nodes"
    )
    ray_address: str | None = Field(
        default=None,
        description="auto (the cluster this machine belongs to), HOST:PORT, or ray://HOST:10001; "
        "default: RAY_ADDRESS, else a private single-machine Ray instance",
    )
    slots_per_node: int | None = Field(
        default=None, ge=1,
        description="evaluations at a time per node (default: the node's CPUs / sandbox.cpus, "
        "or its GPUs / GPUs per job for GPU jobs)",
    )
    gpus_per_job: float | None = Field(
        default=None, ge=0,
        description="GPUs a job asks of Ray (default: 1 / sandbox.gpu_concurrency for "
        "docker-gpu, else 0)",
    )
    prefetch_per_node: int = Field(
        default=1, ge=0,
        description="jobs sent to a node beyond its slots, waiting there, so a freed slot "
        "starts the next job without a round trip to the driver",
    )
    max_retries: int = Field(
        default=3, ge=0, description="times a job whose node died is re-issued on another node"
    )
    node_wait_s: float = Field(
        default=300.0, gt=0,
        description="seconds a job waits while no node can take it before it fails as infra",
    )
    max_consecutive_infra: int = Field(
        default=10, ge=1,
        description="infrastructure failures in a row before the run stops (resume continues)",
    )
    ready_timeout_s: float = Field(
        default=180.0, gt=0, description="seconds a node's evaluator may take to start"
    )
    rpc_margin_s: float = Field(
        default=120.0, gt=0,
        description="seconds past a job's own deadline (stage timeouts + slack, once more for "
        "each job it may wait behind on its node) before its node counts as unresponsive and "
        "the job is re-issued",
    )


Auto = Literal["auto"]


class NoveltyConfig(_Model):
    """Novelty screening: a child too similar to its island's archive or recent candidates is
    rejected (stage "novelty") before it costs a sandbox run. docs/population.md."""

    enabled: bool | Auto = Field(
        default="auto",
        description="auto: on when LLM operators propose (off for the offline AST operator, "
        "whose small literal nudges are its search)",
    )
    threshold: float | None = Field(
        default=None, ge=0, le=1,
        description="cosine similarity at or above which a child is too similar; default "
        "0.999 with the offline embedding (cosmetic variants: reworded comments, formatting), "
        "0.99 with an embedding model (as OpenEvolve and ShinkaEvolve use)")
    embedding_model: str | None = Field(
        default=None, description="litellm embedding model (e.g. openai/text-embedding-3-small);"
        " None: the offline token n-gram embedding (no model, no network)")
    api_base: str | None = Field(default=None, description="server for embedding_model")
    api_key_env: str | None = Field(default=None, description="variable holding its key")
    recent: int = Field(default=32, ge=0, description="recent candidates per island compared "
                        "besides the island's archive")
    judge: bool = Field(default=False, description="ask an LLM whether a too-similar child is "
                        "still novel instead of rejecting it outright")
    judge_model: str | None = Field(default=None, description="one of llm.models (default: "
                                    "the first)")

    @model_validator(mode="before")
    @classmethod
    def _no_keys(cls, data: Any) -> Any:
        if isinstance(data, dict) and "api_key" in data:
            raise ValueError("API keys are not accepted in config; set api_key_env")
        return data

    def effective_threshold(self, offline: bool) -> float:
        if self.threshold is not None:
            return self.threshold
        return OFFLINE_NOVELTY_THRESHOLD if offline else MODEL_NOVELTY_THRESHOLD


OFFLINE_NOVELTY_THRESHOLD = 0.999
MODEL_NOVELTY_THRESHOLD = 0.99


class BanditConfig(_Model):
    """Adaptive choice of (model, operator): replaces the fixed weights. docs/llm.md."""

    enabled: bool | Auto = Field(default="auto",
                                 description="auto: on when the LLM ensemble has 2+ models")
    kind: Literal["thompson", "ucb"] = "thompson"
    exploration: float = Field(default=1.0, ge=0, description="UCB exploration coefficient")
    cost_weight: float = Field(default=1.0, ge=0, description="0: ignore cost; 1: reward per "
                               "dollar (relative to the cheapest arm)")
    report_every: int = Field(default=10, ge=1, description="proposals between bandit events")


class InsightsConfig(_Model):
    """Insight memory: every `interval` evaluations a summary of what helped and what failed
    is written into the run (versioned in lineage.git) and shown in prompts. docs/llm.md."""

    enabled: bool | Auto = Field(default="auto",
                                 description="auto: on when LLM operators propose")
    interval: int = Field(default=25, ge=1, description="evaluations between summaries")
    model: str | None = Field(default=None, description="summarising model, one of llm.models "
                              "(default the first); offline runs use a deterministic digest")
    use_llm: bool = Field(default=True, description="false: always the offline digest")
    max_items: int = Field(default=5, ge=1, le=50, description="insights kept")
    max_chars: int = Field(default=2500, ge=200, description="cap on the text put in prompts")


class RunEvaluatorConfig(_Model):
    """This run's changes to the problem's evaluator settings (kept in the run's config.yaml,
    so resume, report and the TUI see the same evaluator)."""

    config: dict[str, Any] = Field(
        default_factory=dict,
        description="deep-merged into the problem's evaluator.config for this run, e.g. "
        "--set evaluator.config.preset=transformer")


class RunConfig(_Model):
    """Everything a run needs besides the problem folder; saved as the run's config.yaml."""

    seed: int = 0
    population: PopulationConfig = Field(default_factory=PopulationConfig)
    operators: OperatorConfig = Field(default_factory=OperatorConfig)
    llm: LLMConfig = Field(default_factory=LLMConfig)
    sandbox: SandboxConfig = Field(default_factory=SandboxConfig)
    budget: BudgetConfig = Field(default_factory=BudgetConfig)
    engine: EngineConfig = Field(default_factory=EngineConfig)
    executor: ExecutorConfig = Field(default_factory=ExecutorConfig)
    novelty: NoveltyConfig = Field(default_factory=NoveltyConfig)
    bandit: BanditConfig = Field(default_factory=BanditConfig)
    insights: InsightsConfig = Field(default_factory=InsightsConfig)
    evaluator: RunEvaluatorConfig = Field(default_factory=RunEvaluatorConfig)

    @model_validator(mode="after")
    def _models_named(self) -> RunConfig:
        names = [m.name for m in self.llm.models]
        for field, value in (("insights.model", self.insights.model),
                             ("novelty.judge_model", self.novelty.judge_model)):
            if value is not None and names and value not in names:
                raise ValueError(f"{field}: {value!r} is not one of llm.models "
                                 f"({', '.join(names)})")
        return self


# ---------------------------------------------------------------- loading


def load_yaml(path: Path) -> tuple[Any, dict[tuple[str, ...], int]]:
    """Parse a YAML file; also return the line of every mapping key (by key path)."""
    try:
        text = path.read_text()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark is not None else str(path)
        raise ConfigError(f"{where}: invalid YAML: {getattr(exc, 'problem', exc)}") from exc
    lines: dict[tuple[str, ...], int] = {}
    if node is not None:
        _key_lines(node, (), lines)
    return data, lines


def _key_lines(node: yaml.Node, prefix: tuple[str, ...], out: dict[tuple[str, ...], int]) -> None:
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            path = (*prefix, str(key.value))
            out[path] = key.start_mark.line + 1
            _key_lines(value, path, out)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            path = (*prefix, str(i))
            out[path] = item.start_mark.line + 1
            _key_lines(item, path, out)


def validation_error(
    exc: ValidationError,
    source: str,
    lines: dict[tuple[str, ...], int] | None = None,
    prefix: tuple[str, ...] = (),
) -> ConfigError:
    """Turn a pydantic error into one message naming each field path (and line, if known)."""
    parts = []
    for err in exc.errors():
        loc = tuple(str(p) for p in err["loc"])
        full = (*prefix, *loc)
        line = None
        if lines:
            for cut in range(len(full), 0, -1):
                if full[:cut] in lines:
                    line = lines[full[:cut]]
                    break
        where = f"{source}:{line}" if line else source
        field = ".".join(full) or "(top level)"
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            msg = "unknown key"
        parts.append(f"{where}: {field}: {msg}")
    return ConfigError("\n".join(parts))


def deep_merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def load_run_config(
    layers: list[tuple[str, dict[str, Any], dict[tuple[str, ...], int] | None]],
) -> RunConfig:
    """Validate each layer alone (so errors name their source), then the merged result."""
    merged: dict[str, Any] = {}
    for source, data, lines in layers:
        if not isinstance(data, dict):
            got = type(data).__name__
            raise ConfigError(f"{source}: expected a mapping of settings, got {got}")
        try:
            RunConfig.model_validate(deep_merge(merged, data))
        except ValidationError as exc:
            raise validation_error(exc, source, lines) from exc
        merged = deep_merge(merged, data)
    return RunConfig.model_validate(merged)


def load_config_file(path: Path) -> tuple[dict[str, Any], dict[tuple[str, ...], int]]:
    data, lines = load_yaml(path)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}:1: expected a mapping of settings")
    return data, lines


def dump_yaml(model: BaseModel) -> str:
    return yaml.safe_dump(model.model_dump(mode="json"), sort_keys=False)
