"""A run directory on disk, and summaries of runs for the CLI and the TUI.

```
runs/<name>/
  run.json       problem folder, creation time, codeevo version
  config.yaml    the effective, resolved RunConfig
  lineage.git/   one commit per candidate (the store of record)
  events.jsonl   append-only event log
  llm/           record/replay store of LLM exchanges
  driver.pid     present while a driver process writes the run
```
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from codeevo import __version__
from codeevo.config import RunConfig, dump_yaml, load_config_file, validation_error
from codeevo.errors import RunDirError
from codeevo.events import EVENTS_FILE, read_events


@dataclass(frozen=True)
class RunDir:
    """Paths of one run directory."""

    path: Path

    @property
    def config_path(self) -> Path:
        return self.path / "config.yaml"

    @property
    def meta_path(self) -> Path:
        return self.path / "run.json"

    @property
    def lineage_path(self) -> Path:
        return self.path / "lineage.git"

    @property
    def events_path(self) -> Path:
        return self.path / EVENTS_FILE

    @property
    def llm_dir(self) -> Path:
        return self.path / "llm"

    @property
    def pid_path(self) -> Path:
        return self.path / "driver.pid"

    @classmethod
    def create(cls, path: Path, problem_root: Path, config: RunConfig) -> RunDir:
        """Make a new run directory; refuse one that already holds a run."""
        if path.exists() and any(path.iterdir()):
            raise RunDirError(
                f"{path}: already exists and is not empty (use `codeevo resume {path}` "
                "to continue it, or choose another --out)"
            )
        path.mkdir(parents=True, exist_ok=True)
        run = cls(path)
        meta = {"problem": str(problem_root.resolve()), "created": time.time(),
                "codeevo": __version__}
        run.meta_path.write_text(json.dumps(meta, indent=1) + "\n")
        run.config_path.write_text(dump_yaml(config))
        run.llm_dir.mkdir(exist_ok=True)
        return run

    @classmethod
    def open(cls, path: Path) -> RunDir:
        run = cls(path)
        if not path.is_dir():
            raise RunDirError(f"{path}: run directory not found")
        if not run.meta_path.is_file() or not run.lineage_path.exists():
            raise RunDirError(f"{path}: not a codeevo run (no run.json or lineage.git)")
        return run

    def meta(self) -> dict[str, Any]:
        try:
            data = json.loads(self.meta_path.read_text())
        except (OSError, ValueError) as exc:
            raise RunDirError(f"{self.meta_path}: unreadable: {exc}") from exc
        if not isinstance(data, dict):
            raise RunDirError(f"{self.meta_path}: not a JSON object")
        return data

    def problem_path(self) -> Path:
        return Path(str(self.meta().get("problem", "")))

    def load_config(self) -> RunConfig:
        data, lines = load_config_file(self.config_path)
        try:
            return RunConfig.model_validate(data)
        except ValidationError as exc:
            raise validation_error(exc, str(self.config_path), lines) from exc

    def save_config(self, config: RunConfig) -> None:
        tmp = self.config_path.with_suffix(".yaml.tmp")
        tmp.write_text(dump_yaml(config))
        tmp.replace(self.config_path)

    # -- driver lock: one writer per run
    def acquire(self) -> None:
        pid = self.driver_pid()
        if pid is not None and pid != os.getpid():
            raise RunDirError(f"{self.path}: a driver (pid {pid}) is already writing this run")
        self.pid_path.write_text(str(os.getpid()))

    def release(self) -> None:
        try:
            if self.pid_path.read_text().strip() == str(os.getpid()):
                self.pid_path.unlink()
        except OSError:
            pass

    def driver_pid(self) -> int | None:
        """The pid of a live driver writing this run, or None (a stale pid file counts as none)."""
        try:
            pid = int(self.pid_path.read_text().strip())
        except (OSError, ValueError):
            return None
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        except PermissionError:
            return pid
        return pid


@dataclass
class RunSummary:
    """What a list of runs shows; built from events.jsonl (cheap) and the pid file."""

    path: Path
    problem: str = ""
    status: str = "unknown"  # running | finished | stopped | crashed | new
    evaluations: int = 0
    candidates: int = 0
    best_score: float | None = None
    best_id: str | None = None
    cost: float = 0.0
    tokens: int = 0
    started: float | None = None
    updated: float | None = None
    stop_reason: str | None = None
    failures: dict[str, int] = field(default_factory=dict)


def run_summary(path: Path) -> RunSummary:
    """Summarise a run from its event log (the lineage stays untouched)."""
    run = RunDir.open(path)
    summary = RunSummary(path=path, problem=Path(str(run.meta().get("problem", ""))).name)
    last_stop: dict[str, Any] | None = None
    saw_start = False
    for event in read_events(run.events_path):
        kind = event.get("kind")
        summary.updated = event.get("t", summary.updated)
        if kind == "started":
            saw_start = True
            last_stop = None
            if summary.started is None:
                summary.started = event.get("t")
        elif kind == "progress":
            summary.evaluations = int(event.get("evaluations", summary.evaluations))
            summary.candidates = int(event.get("candidates", summary.candidates))
            summary.best_score = event.get("best_score", summary.best_score)
            summary.best_id = event.get("best_id", summary.best_id)
            summary.cost = float(event.get("cost", summary.cost))
            summary.tokens = int(event.get("tokens", summary.tokens))
            summary.failures = dict(event.get("failures", summary.failures))
        elif kind == "stopped":
            last_stop = event
    if run.driver_pid() is not None:
        summary.status = "running"
    elif last_stop is not None:
        summary.stop_reason = str(last_stop.get("reason", ""))
        summary.status = "finished" if last_stop.get("finished") else "stopped"
    elif saw_start:
        summary.status = "crashed"
    else:
        summary.status = "new"
    return summary


def list_runs(root: Path) -> list[RunSummary]:
    """Summaries of every run directly under `root`, newest first."""
    if not root.is_dir():
        return []
    out = []
    for child in root.iterdir():
        if (child / "run.json").is_file() and (child / "lineage.git").exists():
            try:
                out.append(run_summary(child))
            except RunDirError:
                continue
    out.sort(key=lambda s: s.updated or s.started or 0.0, reverse=True)
    return out
