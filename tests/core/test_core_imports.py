"""The core never imports textual, litellm or docker (they load lazily, at the edges)."""

from __future__ import annotations

import subprocess
import sys

CORE = [
    "codeevo.config", "codeevo.problem", "codeevo.candidate", "codeevo.engine",
    "codeevo.population.islands", "codeevo.population.selection", "codeevo.mutation.ast_ops",
    "codeevo.mutation.screen", "codeevo.lineage.store", "codeevo.lineage.dag",
    "codeevo.session", "codeevo.cli", "codeevo.compat", "codeevo.compat.export",
    "codeevo.steering", "codeevo.mutation.novelty", "codeevo.mutation.bandit",
    "codeevo.insights",
]


def test_core_does_not_load_heavy_seams() -> None:
    code = (
        "import sys\n"
        + "".join(f"import {m}\n" for m in CORE)
        + "from codeevo.cli import build_parser\nbuild_parser()\n"
        + "bad = [m for m in ('textual', 'litellm', 'docker', 'torch', 'openai', 'anthropic')"
        " if m in sys.modules]\nprint(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "", f"core imported: {out.stdout.strip()}"
