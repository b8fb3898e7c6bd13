"""A toy problem (really evaluated in a sandbox) and a loopback-server responder that plays a
sensible model for the diff, rewrite and crossover prompts. Shared by the end-to-end tests and
benchmarks/throughput.py."""

from __future__ import annotations

import itertools
import re
import threading
from pathlib import Path

from .server import LoggedRequest, Reply, ok

SEED = """# toy: score = min(X, 5) * min(Y, 5) - (X - 3) ** 2
# EVOLVE-BLOCK-START
X = 1.0
Y = 2.0
# EVOLVE-BLOCK-END


def value():
    return [min(X, 5) * min(Y, 5) - (X - 3) ** 2, X]
"""

EVALUATOR = """import os


def full(ctx):
    run = ctx.run_candidate("value")
    leaked = float(any("SECRET" in v for v in os.environ.values()))
    if run.status != "ok":
        return {"score": 0.0, "status": "failed", "reason": str(run.error),
                "artifacts": {"traceback": run.traceback or ""}}
    score, x = run.value
    return {"score": float(score), "metrics": {"key_visible": leaked},
            "features": {"x": float(x)}}
"""

EVALUATOR_SLEEPING = """import time


def full(ctx):
    time.sleep(float(ctx.config.get("sleep", 0.0)))
    return {"score": 1.0}
"""


def make_toy_problem(root: Path, evaluator: str = EVALUATOR, config: str = "") -> Path:
    """problems/toy + evaluators/toy under `root`; returns the problem folder."""
    prob = root / "problems" / "toy"
    prob.mkdir(parents=True)
    ev = root / "evaluators" / "toy"
    ev.mkdir(parents=True)
    (ev / "evaluator.py").write_text(evaluator)
    (prob / "initial.py").write_text(SEED)
    (prob / "prompt.md").write_text("Maximise value() by choosing X and Y.\n")
    (prob / "problem.yaml").write_text(
        "name: toy\nstages:\n  - {name: full, function: full, timeout: 20}\n"
        "features:\n  - {name: x, bins: 20, low: 0, high: 5}\n" + config
    )
    return prob


_PROGRAM = re.compile(r"```python\n(.*?)```", re.DOTALL)


def _value(program: str, name: str) -> tuple[str, float]:
    m = re.search(rf"^{name} = ([^#\n]*)(#.*)?$", program, re.MULTILINE)
    if m is None:
        return f"{name} = 1.0", 1.0
    try:
        return m.group(0), float(m.group(1).strip())
    except ValueError:
        return m.group(0), 1.0


class ToyModel:
    """Answers like a model: a diff nudging X, a rewrite of both values, a crossover taking
    X from program A and Y from program B. `counter` makes every answer distinct (a diff's
    new line carries it in a comment, so two parents can never yield the same child)."""

    def __init__(self) -> None:
        self._counter = itertools.count(1)
        self._lock = threading.Lock()

    def __call__(self, req: LoggedRequest) -> Reply:
        with self._lock:
            n = next(self._counter)
        messages = req.body.get("messages", [])
        user = next((m.get("content", "") for m in messages if m.get("role") == "user"), "")
        if isinstance(user, list):  # Anthropic content blocks
            user = "".join(str(b.get("text", "")) for b in user if isinstance(b, dict))
        programs = _PROGRAM.findall(str(user))
        first = programs[0] if programs else ""
        step = 0.01 * n
        if "Combine the best ideas" in user and len(programs) > 1:
            _, x = _value(first, "X")
            _, y = _value(programs[1], "Y")
            return ok(f"Taking X from A and Y from B.\n```python\nX = {x}\n"
                      f"Y = {y + step}  # variant {n}\n```", tokens_in=900, tokens_out=60)
        if "SEARCH/REPLACE" in user:
            line, x = _value(first, "X")
            return ok(f"Move X towards 3.\n<<<<<<< SEARCH\n{line}\n=======\n"
                      f"X = {round(x + 0.1 + step / 10, 6)}  # variant {n}\n>>>>>>> REPLACE\n",
                      tokens_in=800, tokens_out=40)
        _, x = _value(first, "X")
        _, y = _value(first, "Y")
        return ok(f"```python\nX = {round(x + step, 6)}\n"
                  f"Y = {round(y + 0.2, 6)}  # variant {n}\n```", tokens_in=700, tokens_out=50)
