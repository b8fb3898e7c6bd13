"""A toy problem for executor tests: a seed with X and Y, an evaluator that may sleep."""

from __future__ import annotations

from pathlib import Path

from tests.doubles import TOY_SEED

EVALUATOR = '''
import ast, os, time

def setup(ctx):
    # Secret assets arrive (and are read here, before the runner deletes them).
    secret = ctx.assets / "secret.txt" if ctx.assets is not None else None
    ctx.state["secret_seen"] = float(bool(secret and secret.read_text().startswith("CANARY")))

def full(ctx):
    time.sleep(float(ctx.config.get("sleep", 0)))
    mode = ctx.config.get("candidate")
    extra = {}
    if mode:
        run = ctx.run_candidate(mode)
        if run.status != "ok":
            return {"score": 0.0, "status": "failed", "reason": f"candidate: {run.error}"}
        extra["candidate"] = float(run.value)
    vals = {}
    for node in ast.parse(ctx.program_path.read_text()).body:
        if isinstance(node, ast.Assign):
            vals[node.targets[0].id] = float(ast.literal_eval(node.value))
    x, y = vals["X"], vals["Y"]
    return {"score": min(x, 5) * min(y, 5) - (x - 3) ** 2,
            "metrics": {"secret_seen": ctx.state["secret_seen"], **extra}}
'''

PREPARE = '''
from pathlib import Path

def prepare(config, cache_dir):
    out = Path(cache_dir) / "toy-assets"
    out.mkdir(parents=True, exist_ok=True)
    (out / "secret.txt").write_text(config["canary"])
    return out
'''

CANDIDATE_FUNCTIONS = '''

def assets_visible():
    import os
    return float(any(os.path.exists(p) for p in ("assets", "../assets", "../../assets")))

def linger():
    # A daemon that leaves the candidate's session; only a sweep from above can find it.
    import os, time
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            time.sleep(1000)
        os._exit(0)
    time.sleep(1000)
'''


def make_toy(root: Path, *, sleep: float = 0.0, candidate: str | None = None,
             canary: str | None = None, profile: str = "local", timeout: float = 120) -> Path:
    """A problem folder (and its evaluator) under `root`; returns the problem folder."""
    problem = root / "problems" / "toy"
    problem.mkdir(parents=True)
    ev = root / "evaluators" / "toy"
    ev.mkdir(parents=True)
    (ev / "evaluator.py").write_text(EVALUATOR)
    config = f"{{sleep: {sleep}"
    if candidate:
        config += f", candidate: {candidate}"
    if canary:
        (ev / "prepare.py").write_text(PREPARE)
        config += f", canary: {canary}"
    config += "}"
    (problem / "initial.py").write_text(TOY_SEED + CANDIDATE_FUNCTIONS)
    (problem / "prompt.md").write_text("maximise\n")
    (problem / "problem.yaml").write_text(
        f"name: toy\nevaluator: {{config: {config}}}\n"
        f"stages:\n  - {{name: full, function: full, timeout: {timeout}}}\n"
        f"sandbox_profile: {profile}\n"
    )
    return problem
