"""Record/replay store of LLM exchanges, content-addressed, one JSON file per exchange.

Key = sha256 of (model, messages, params, occurrence), where `occurrence` counts earlier
identical requests in this run: the same prompt asked twice gets two different replies, and a
replay hands them back in the same order. Failed requests are stored too, so a replay
reproduces the failures (and the models given up on) of the recorded run.

Layout: ``<dir>/<key[:2]>/<key>.json``. Writes are atomic (temp file + rename), so a killed
run leaves whole files or none.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from codeevo.llm.base import Message


def request_hash(model: str, messages: Sequence[Message], params: dict[str, Any]) -> str:
    """sha256 of the request's canonical JSON (the occurrence is not part of it)."""
    canon = json.dumps(
        {"model": model, "messages": [dict(m) for m in messages], "params": params},
        sort_keys=True, ensure_ascii=False, separators=(",", ":"),
    )
    return hashlib.sha256(canon.encode("utf-8")).hexdigest()


class ExchangeStore:
    """Reads exchanges from `read_dirs` (then `directory`) and writes them to `directory`."""

    def __init__(self, directory: Path, read_dirs: Sequence[Path] = ()) -> None:
        self.directory = Path(directory)
        self.read_dirs = [Path(d) for d in read_dirs]
        self._seen: dict[str, int] = {}
        self._lock = threading.Lock()

    def next_key(self, model: str, messages: Sequence[Message], params: dict[str, Any]) -> str:
        """The key of this request: its hash and how many times it was asked before."""
        base = request_hash(model, messages, params)
        with self._lock:
            occurrence = self._seen.get(base, 0)
            self._seen[base] = occurrence + 1
        return hashlib.sha256(f"{base}:{occurrence}".encode()).hexdigest()

    def _path(self, root: Path, key: str) -> Path:
        return root / key[:2] / f"{key}.json"

    def get(self, key: str) -> dict[str, Any] | None:
        """The stored exchange, or None. An unreadable file counts as missing."""
        for root in [*self.read_dirs, self.directory]:
            path = self._path(root, key)
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue
            if isinstance(data, dict):
                return data
        return None

    def put(self, key: str, value: dict[str, Any]) -> Path:
        """Write one exchange atomically; return its path."""
        path = self._path(self.directory, key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump({"key": key, **value}, fh, indent=1, sort_keys=True)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return path

    def count(self) -> int:
        """Exchanges written to `directory`."""
        return sum(1 for _ in self.directory.glob("*/*.json"))
