"""Stand-in for ``shinka.core``: only ``run_shinka_eval`` (what an evaluate.py imports)."""

from __future__ import annotations

from .wrap_eval import load_program, run_shinka_eval, save_json_results

__all__ = ["load_program", "run_shinka_eval", "save_json_results"]
