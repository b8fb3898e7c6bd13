"""Helpers: small OpenEvolve- and ShinkaEvolve-format folders written per test."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OE_EXAMPLE = ROOT / "problems" / "openevolve_knapsack"
SHINKA_EXAMPLE = ROOT / "problems" / "shinka_spread"

OE_SEED = '''#!/usr/bin/env python3
"""A toy OpenEvolve program without EVOLVE-BLOCK markers."""

X = 1.0


def value():
    return X
'''

# imports the candidate into its own process, as most OpenEvolve evaluators do
OE_EVALUATOR = '''import importlib.util

from openevolve.evaluation_result import EvaluationResult


def _load(path):
    spec = importlib.util.spec_from_file_location("program", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def evaluate(program_path):
    x = _load(program_path).value()
    return EvaluationResult(metrics={"combined_score": float(x), "note": "x=%s" % x},
                            artifacts={"detail": "value() returned %r" % x})
'''

# runs the candidate in a subprocess and never imports it
OE_SUBPROCESS_EVALUATOR = '''import json
import subprocess
import sys


def evaluate(program_path):
    code = "import runpy,json;print(json.dumps(runpy.run_path(%r)['value']()))" % program_path
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=20)
    return {"combined_score": float(json.loads(out.stdout))}
'''


def write(folder: Path, files: dict[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text)
    return folder


def codeevo(*args: str, cwd: Path = ROOT, timeout: float = 300
            ) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "codeevo", *args], capture_output=True,
                          text=True, timeout=timeout, cwd=cwd, env=env)


from tests.llm.conftest import llm_server  # noqa: E402,F401  (the loopback server fixture)
