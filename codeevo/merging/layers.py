"""Check a method's layer-aware knobs against a checkpoint's tensor names before merging.

A program may define ``layer_index(name) -> int | None`` (the seed's fixed scaffolding does:
it reads ``layers.<i>.``, ``encoder.layer.<i>.``, ``h.<i>.`` and ``blocks.<i>.`` names) and
``LAYER_KNOBS``, the names of the constants that act through it. When no tensor name of the
checkpoint gives a layer index, those knobs silently do nothing; `codeevo merge` says so.

The program is hostile: it is imported in a ``python -I`` child with rlimits, a scrubbed
environment and a private folder, like the merge itself (``export.py``); only JSON comes back.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

PROBE = r"""
import ast, importlib.util, json, os, sys
out = os.fdopen(os.dup(1), "w"); os.dup2(2, 1)
spec = importlib.util.spec_from_file_location("candidate", sys.argv[1])
mod = importlib.util.module_from_spec(spec); sys.modules["candidate"] = mod
spec.loader.exec_module(mod)
for k, v in json.loads(sys.argv[2]).items():
    setattr(mod, k, ast.literal_eval(v))
names = json.loads(sys.stdin.read())
fn = getattr(mod, "layer_index", None)
found = {"has": callable(fn), "matched": 0, "knobs": {}}
if callable(fn):
    found["matched"] = sum(isinstance(fn(n), int) for n in names)
    knobs = getattr(mod, "LAYER_KNOBS", ())
    for k in knobs if isinstance(knobs, (list, tuple)) else ():
        found["knobs"][str(k)] = repr(getattr(mod, str(k), None))
out.write(json.dumps(found)); out.flush()
"""


def _limits(memory_mb: int) -> None:
    mem = memory_mb * 2**20
    resource.setrlimit(resource.RLIMIT_AS, (mem, mem))
    resource.setrlimit(resource.RLIMIT_CPU, (120, 121))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def layer_warnings(program: Path, names: list[str], params: dict[str, str] | None = None,
                   memory_mb: int = 4096) -> list[str]:
    """Warnings for layer-aware knobs that match no tensor name (empty when all is well or
    the program has no `layer_index`). A program that fails to import here fails the merge
    itself with a clear error, so a failed probe is silent."""
    try:
        if "layer_index" not in program.read_text(errors="replace"):
            return []  # nothing to check: no child process (and no torch import) needed
    except OSError:
        return []
    with tempfile.TemporaryDirectory(prefix="codeevo-probe-") as tmp:
        env = {"PATH": "/usr/bin:/bin", "HOME": tmp, "TMPDIR": tmp, "LANG": "C.UTF-8",
               "OMP_NUM_THREADS": "1", "PYTHONDONTWRITEBYTECODE": "1"}
        try:
            done = subprocess.run(
                [sys.executable, "-I", "-c", PROBE, str(program.resolve()),
                 json.dumps(params or {})],
                input=json.dumps(names), capture_output=True, text=True, cwd=tmp, env=env,
                timeout=120, preexec_fn=lambda: _limits(memory_mb), start_new_session=True,
            )
            found = json.loads(done.stdout) if done.returncode == 0 else None
        except (subprocess.TimeoutExpired, ValueError):
            found = None
    if not isinstance(found, dict) or not found.get("has") or found.get("matched"):
        return []
    knobs = found.get("knobs") or {}
    which = ", ".join(f"{k} = {v}" for k, v in knobs.items()) or "its layer-aware knobs"
    example = names[0] if names else "?"
    return [f"{which}: the method reads each tensor's layer from its name (layer_index), but no "
            f"tensor of these checkpoints matched (e.g. {example!r}; understood: 'layers.<i>.', "
            "'encoder.layer.<i>.', 'h.<i>.', 'blocks.<i>.'), so they have no effect here"]
