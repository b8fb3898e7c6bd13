"""codeevo's stand-in for the parts of OpenEvolve an evaluator imports."""

from __future__ import annotations

from .evaluation_result import EvaluationResult

__all__ = ["EvaluationResult"]
