"""Shared machinery for translating a foreign config file into codeevo settings.

A `Translation` walks the foreign mapping: handlers read keys (`get`, `number`, ...), write
codeevo settings (`put`, as a run-config layer) and explain what cannot be carried over
(`skip`). Whatever no handler read is reported too, so no key is ever dropped silently: the
result is one list of ``file:line: key: why`` lines.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from codeevo.errors import ConfigError

Key = tuple[str, ...]


class Translation:
    """One foreign config being translated: the codeevo layer, facts and warnings."""

    def __init__(self, label: str, source: Path | None, data: dict[str, Any],
                 lines: dict[Key, int] | None = None) -> None:
        self.label = label
        self.source = source
        self.data = data
        self.lines = lines or {}
        self.run: dict[str, Any] = {}  # a run-config layer (same shape as --config)
        self.facts: dict[str, Any] = {}  # problem-level facts (timeouts, task text, ...)
        self.warnings: list[str] = []
        self._used: set[Key] = set()

    # -- reading
    def where(self, key: Key) -> str:
        name = self.source.name if self.source else self.label
        for cut in range(len(key), 0, -1):
            if key[:cut] in self.lines:
                return f"{name}:{self.lines[key[:cut]]}"
        return name

    def has(self, *key: str) -> bool:
        return _lookup(self.data, key)[0]

    def peek(self, *key: str) -> Any:
        """The value at `key` (None when absent) without counting it as read."""
        return _lookup(self.data, key)[1]

    def get(self, *key: str, default: Any = None) -> Any:
        found, value = _lookup(self.data, key)
        if found:
            self._used.add(key)
            return value
        return default

    def fail(self, key: Key, message: str) -> ConfigError:
        return ConfigError(f"{self.where(key)}: {'.'.join(key)}: {message}")

    def number(self, *key: str, integer: bool = False, positive: bool = False,
               default: float | None = None) -> float | None:
        """A numeric value (None when absent or null); a bad value is a ConfigError."""
        value = self.get(*key)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(
                float(value)):
            raise self.fail(key, f"expected a number, got {value!r}")
        if integer and float(value) != int(value):
            raise self.fail(key, f"expected a whole number, got {value!r}")
        if positive and value <= 0:
            raise self.fail(key, f"must be positive, got {value!r}")
        return int(value) if integer else float(value)

    def text(self, *key: str) -> str | None:
        value = self.get(*key)
        if value is None:
            return None
        if not isinstance(value, str):
            raise self.fail(key, f"expected text, got {value!r}")
        return value

    def flag(self, *key: str) -> bool | None:
        value = self.get(*key)
        if value is None:
            return None
        if not isinstance(value, bool):
            raise self.fail(key, f"expected true or false, got {value!r}")
        return value

    def strings(self, *key: str) -> list[str] | None:
        value = self.get(*key)
        if value is None:
            return None
        if isinstance(value, str):
            return [value]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.fail(key, f"expected a list of names, got {value!r}")
        return list(value)

    # -- writing
    def put(self, dotted: str, value: Any) -> None:
        """Set a codeevo run-config field, e.g. ``put("population.num_islands", 3)``."""
        parts = dotted.split(".")
        node = self.run
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value

    def skip(self, key: Key, why: str) -> None:
        """Report `key` (present in the file) as not carried over, with the reason."""
        self._used.add(key)
        if self.has(*key):
            self.warnings.append(f"{self.where(key)}: {'.'.join(key)}: {why}")

    def approximate(self, key: Key, why: str) -> None:
        """Report a key translated only approximately (it is used, but differently)."""
        self._used.add(key)
        self.warnings.append(f"{self.where(key)}: {'.'.join(key)}: approximated: {why}")

    def leftovers(self, reasons: dict[str, str]) -> None:
        """Report every key no handler read. `reasons` maps a dotted key (or a section ending
        in ``.*``) to why codeevo has no use for it; other keys are unknown to the format."""
        for key in _keys(self.data, ()):
            if any(key[:n] in self._used for n in range(1, len(key) + 1)):
                continue
            dotted = ".".join(key)
            why = reasons.get(dotted)
            for n in range(len(key) - 1, 0, -1):
                prefix = ".".join(key[:n])
                why = why or reasons.get(prefix + ".*") or reasons.get(prefix)
            self.skip(key, why or f"not a setting {self.label} documents (a typo?); ignored")


def _lookup(data: Any, key: Key) -> tuple[bool, Any]:
    node = data
    for part in key:
        if not isinstance(node, dict) or part not in node:
            return False, None
        node = node[part]
    return True, node


def _keys(data: dict[str, Any], prefix: Key) -> Iterator[Key]:
    """Leaf keys (a mapping's keys are walked into; lists and scalars are leaves)."""
    for name, value in data.items():
        key = (*prefix, str(name))
        if isinstance(value, dict) and value:
            yield from _keys(value, key)
        else:
            yield key


# ---------------------------------------------------------------- model names

_PROVIDER_PREFIXES = (
    (("gpt-", "o1", "o3", "o4", "chatgpt", "text-embedding", "codex"), "openai"),
    (("claude",), "anthropic"),
    (("gemini", "gemma"), "gemini"),
    (("deepseek",), "deepseek"),
    (("grok",), "xai"),
    (("mistral", "codestral"), "mistral"),
)


def litellm_name(name: str) -> str:
    """A bare provider model name (``gpt-4.1-mini``) as a litellm model string."""
    if "/" in name:
        return name
    low = name.lower()
    for prefixes, provider in _PROVIDER_PREFIXES:
        if low.startswith(prefixes):
            return f"{provider}/{name}"
    return name


def env_reference(value: str) -> str | None:
    """``VAR`` for a ``${VAR}`` reference, else None."""
    value = value.strip()
    if value.startswith("${") and value.endswith("}") and len(value) > 3:
        return value[2:-1]
    return None
