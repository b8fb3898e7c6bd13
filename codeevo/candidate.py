"""Value types for candidates and evaluation results (persisted, so pydantic)."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from codeevo.lineage.rules import is_ok


class Status(StrEnum):
    """Outcome of a candidate. Only OK candidates enter an archive."""

    OK = "ok"  # evaluated; score is meaningful (may be 0 for an invalid answer)
    REJECTED = "rejected"  # stopped before the sandbox (stage: propose/parse/blocks/duplicate)
    FAILED = "failed"  # evaluator reported failure or raised (stage: the cascade stage)
    TIMEOUT = "timeout"  # a deadline was hit (candidate or whole sandbox)
    OOM = "oom"  # memory limit hit
    CRASHED = "crashed"  # the sandbox/runner died without a result
    TAMPERED = "tampered"  # the result channel carried more or other than one result line
    INFRA = "infra"  # the evaluation infrastructure failed (node lost, retries spent): not the
    # candidate's fault, so it is counted apart from evaluations and failures, never inserted


class EvalResult(BaseModel):
    """What a sandbox returns for one program."""

    model_config = ConfigDict(extra="forbid")

    status: Status
    score: float | None = None
    metrics: dict[str, float] = Field(default_factory=dict)
    features: dict[str, float] = Field(default_factory=dict)
    artifacts: dict[str, str] = Field(default_factory=dict)
    stage: str | None = Field(default=None, description="last stage run (or the one that stopped)")
    reason: str | None = None
    stages: list[dict[str, Any]] = Field(default_factory=list, description="per-stage score/time")
    elapsed: float = 0.0
    timings: dict[str, float] = Field(
        default_factory=dict,
        description="seconds: startup (runner start, when this job paid it), setup (evaluator "
        "import + setup), score (the stages), runner (all of it inside the runner)",
    )


class Candidate(BaseModel):
    """One candidate as recorded in its commit's candidate.json (program stored beside it)."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(description="run-unique, ordered: c000001, c000002, ...")
    seq: int = Field(description="order of recording in the run")
    parents: list[str] = Field(default_factory=list, description="candidate ids, primary first")
    operator: str = "seed"
    model: str | None = None
    island: int = 0
    cell: list[int] | None = None
    status: Status = Status.OK
    stage: str | None = None
    reason: str | None = None
    score: float | None = None
    metrics: dict[str, float] = Field(default_factory=dict)
    features: dict[str, float] = Field(default_factory=dict)
    timings: dict[str, float] = Field(default_factory=dict)
    tokens: dict[str, int] = Field(default_factory=dict, description="input/output tokens")
    cost: float = 0.0
    program_hash: str = ""
    entry: str = Field(default="program.py", description="program file name in the commit tree")
    inserted: bool = False
    extra: dict[str, Any] = Field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """Evaluated successfully (the read model's rule, ``codeevo.lineage.rules.is_ok``)."""
        return is_ok(self.status, self.score)


def candidate_id(seq: int) -> str:
    return f"c{seq:06d}"
