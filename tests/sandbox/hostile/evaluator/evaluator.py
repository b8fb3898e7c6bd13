"""Tiny evaluator for the hostile-program suite: run `main(*args)`, score 1.0 if it returned.

Stage `run` runs the candidate; stage `check` recomputes the score from what `run` stored, so a
candidate that patches this module (or its file) cannot raise it. The score is never above 1.
"""

from __future__ import annotations

import json
import os
from typing import Any


def setup(ctx: Any) -> None:
    # Read the secret asset into memory; the runner deletes the files before candidates run.
    ctx.state["asset_len"] = len((ctx.assets / "secret.txt").read_text())


def run(ctx: Any) -> dict[str, Any]:
    r = ctx.run_candidate("main", args=ctx.config.get("args", []),
                          timeout=float(ctx.config.get("timeout", 2.0)))
    arts = {"stdout": r.stdout, "stderr": r.stderr, "error": r.error}
    # Outputs a candidate may have replaced with links: read the way evaluators must.
    for name in ("output.txt", "sub/world.txt", "hard.txt"):
        if r.output_dir is not None and os.path.lexists(os.path.join(r.output_dir, name)):
            try:
                arts[f"read {name}"] = r.read_bytes(name, 1000).decode("utf-8", "replace")
            except (OSError, ValueError) as exc:
                arts[f"read {name}"] = f"refused: {exc}"
    if r.status != "ok":
        status = {"timeout": "timeout", "oom": "oom"}.get(r.status, "failed")
        return {"score": 0.0, "status": status, "reason": f"candidate {r.status}: {r.error}",
                "artifacts": arts}
    ctx.state["ran"] = True
    arts["value"] = json.dumps(r.value)
    return {"score": 1.0, "artifacts": arts, "metrics": {"asset_len": ctx.state["asset_len"]}}


def check(ctx: Any) -> dict[str, Any]:
    return {"score": 1.0 if ctx.state.get("ran") else 0.0}
