"""Insight memory: what helped and what failed, distilled every few evaluations, versioned in
the run's lineage.git (branch ``insights``) and shown to the model in prompts (``$insights``).
"""

from __future__ import annotations

from codeevo.insights.memory import InsightMemory
from codeevo.insights.store import Insight, InsightStore

__all__ = ["Insight", "InsightMemory", "InsightStore"]
