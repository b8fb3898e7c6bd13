"""The population package's public surface, and that it stays pure (no I/O libraries)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import codeevo.population as population


def test_public_names_are_pinned() -> None:
    assert sorted(population.__all__) == [
        "Cell",
        "EmptyPopulationError",
        "IslandModel",
        "MapElitesArchive",
        "Migration",
        "bin_index",
        "fitness_weights",
        "inspirations",
        "rank_key",
        "select_parent",
        "select_second_parent",
        "top_programs",
    ]
    for name in population.__all__:
        assert hasattr(population, name)


def test_population_and_offline_operator_import_no_heavy_or_io_libraries() -> None:
    code = (
        "import sys, codeevo.population, codeevo.mutation.ast_ops, codeevo.mutation.screen\n"
        "bad = [m for m in ('textual', 'litellm', 'docker', 'git', 'networkx', 'numpy')"
        " if m in sys.modules]\n"
        "print(','.join(bad))\n"
    )
    root = str(Path(__file__).resolve().parents[2])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([root, os.environ.get("PYTHONPATH", "")])}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
    )
    assert out.stdout.strip() == ""
