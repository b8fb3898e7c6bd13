"""Errors a user can act on. The CLI turns each into a message and an exit code."""

from __future__ import annotations


class CodeevoError(Exception):
    """Base for errors shown to the user without a traceback."""

    exit_code = 1


class ConfigError(CodeevoError):
    """A bad config file, flag or problem folder; the message names the field path or file:line."""

    exit_code = 2


class RunDirError(CodeevoError):
    """A run directory that is missing, not a run, or not resumable."""

    exit_code = 2


class ProviderError(CodeevoError):
    """Every configured LLM provider keeps failing; the run stops with this reason."""

    exit_code = 3


class BudgetError(CodeevoError):
    """A budget was already spent before any work could start."""

    exit_code = 2
