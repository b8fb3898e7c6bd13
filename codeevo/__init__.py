"""codeevo: LLM-driven code evolution with MAP-Elites islands, sandboxes and a git lineage."""

from __future__ import annotations

__version__ = "0.1.0"
__all__ = ["__version__"]
