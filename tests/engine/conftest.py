from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from codeevo.config import RunConfig
from codeevo.engine import Engine
from codeevo.events import EventLog
from codeevo.lineage.store import GitLineageStore
from codeevo.problem import Problem, load_problem
from tests.doubles import TOY_SEED, LiteralSandbox, NudgeOperator


@pytest.fixture
def toy_problem(tmp_path: Path) -> Problem:
    root = tmp_path / "problems" / "toy"
    root.mkdir(parents=True)
    ev = tmp_path / "evaluators" / "toy"
    ev.mkdir(parents=True)
    (ev / "evaluator.py").write_text("def full(ctx):\n    return {'score': 0.0}\n")
    (root / "initial.py").write_text(TOY_SEED)
    (root / "prompt.md").write_text("maximise\n")
    (root / "problem.yaml").write_text(
        "name: toy\nstages:\n  - {name: full, function: full}\n"
        "features:\n  - {name: code_length, bins: 4, low: 0, high: 200}\n"
    )
    return load_problem(root)


EngineFactory = Callable[..., Engine]


@pytest.fixture
def make_engine(tmp_path: Path, toy_problem: Problem) -> EngineFactory:
    def factory(run: str = "run", *, resume: bool = False, sandbox: Any = None,
                executor: Any = None, operator: Any = None, on_event: Any = None,
                executor_config: dict[str, Any] | None = None, **cfg: Any) -> Engine:
        if executor_config is not None:  # `executor` names the object, this its settings
            cfg["executor"] = executor_config
        config = RunConfig.model_validate(cfg)
        path = tmp_path / run
        path.mkdir(exist_ok=True)
        lineage = path / "lineage.git"
        store = GitLineageStore.open(lineage) if resume else GitLineageStore.create(lineage)
        engine = Engine(
            toy_problem, config,
            sandbox=None if executor is not None else sandbox or LiteralSandbox(),
            executor=executor,
            operators={"nudge": operator or NudgeOperator()},
            mix={"nudge": 1.0},
            store=store,
            events=EventLog(path / "events.jsonl"),
            on_event=on_event,
        )
        if resume:
            engine.restore()
        return engine

    return factory
