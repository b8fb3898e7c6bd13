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
from codeevo.executor.base import per_node_usage


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
    def create(cls, path: Path, problem_root: Path, config: RunConfig,
               extra_meta: dict[str, Any] | None = None) -> RunDir:
        """Make a new run directory; refuse one that already holds a run. `extra_meta` goes
        into run.json too (e.g. ``foreign``: where a translated problem came from)."""
        if path.exists() and any(path.iterdir()):
            raise RunDirError(
                f"{path}: already exists and is not empty (use `codeevo resume {path}` "
                "to continue it, or choose another --out)"
            )
        path.mkdir(parents=True, exist_ok=True)
        run = cls(path)
        meta = {"problem": str(problem_root.resolve()), "created": time.time(),
                "codeevo": __version__, **(extra_meta or {})}
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

    def problem_config_file(self) -> Path | None:
        """For a run of a translated OpenEvolve / ShinkaEvolve folder: the foreign config file
        the run was started with (None: the folder's default, or a codeevo problem)."""
        foreign = self.meta().get("foreign")
        name = foreign.get("config_file") if isinstance(foreign, dict) else None
        return Path(str(name)) if name else None

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
    """What a list of runs or a dashboard header shows, folded from events one at a time.

    ``apply(event)`` takes one event of events.jsonl (unknown kinds only move ``updated``);
    ``run_summary(path)`` folds a whole log and then settles the status with the pid file.
    """

    path: Path
    problem: str = ""
    # running | paused | finished | stopped | crashed | new ("running" while folding means
    # "started and not stopped"; run_summary turns it into "crashed" when no driver is alive)
    status: str = "unknown"
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
    rate: float | None = None  # evaluations per minute of the latest session, as reported
    budget_left: dict[str, Any] = field(default_factory=dict)
    nodes: int | None = None  # evaluation nodes, their slots and the slots in use (latest)
    slots: int | None = None
    busy: int | None = None
    per_node: dict[str, tuple[int, int]] = field(default_factory=dict)  # label → (busy, slots)

    def apply(self, event: dict[str, Any]) -> None:
        """Fold one event: start/stop/pause set the status, `progress` carries the totals."""
        kind = event.get("kind")
        t = event.get("t")
        if isinstance(t, int | float):
            self.updated = float(t)
        if kind == "started":
            self.status = "running"
            self.stop_reason = None
            if self.started is None and isinstance(t, int | float):
                self.started = float(t)
        elif kind == "progress":
            self._progress(event)
        elif kind == "stopped":
            self.stop_reason = str(event.get("reason", ""))
            self.status = "finished" if event.get("finished") else "stopped"
        elif kind == "paused":
            self.status = "paused"
        elif kind == "resumed":
            self.status = "running"

    def _progress(self, event: dict[str, Any]) -> None:
        self.evaluations = int(event.get("evaluations", self.evaluations))
        self.candidates = int(event.get("candidates", self.candidates))
        best = event.get("best_score")
        if isinstance(best, int | float):
            self.best_score = float(best)
            best_id = event.get("best_id")
            self.best_id = str(best_id) if best_id is not None else self.best_id
        rate = event.get("rate")
        if isinstance(rate, int | float):
            self.rate = float(rate)
        self.cost = float(event.get("cost", self.cost) or 0.0)
        tokens = event.get("tokens", self.tokens)
        if isinstance(tokens, dict):  # per-kind counts: the total is what a summary shows
            tokens = sum(int(v) for v in tokens.values() if isinstance(v, int | float))
        self.tokens = int(tokens or 0)
        failures = event.get("failures")
        if isinstance(failures, dict):
            self.failures = {str(k): int(v) for k, v in failures.items()}
        budget = event.get("budget_left")
        if isinstance(budget, dict):
            self.budget_left = dict(budget)
        for name in ("nodes", "slots", "busy"):
            value = event.get(name)
            if isinstance(value, int):
                setattr(self, name, value)
        if isinstance(event.get("per_node"), dict) or isinstance(event.get("nodes"), int):
            self.per_node = per_node_usage(event.get("per_node"))


def run_summary(path: Path) -> RunSummary:
    """Summarise a run from its event log (the lineage stays untouched)."""
    run = RunDir.open(path)
    summary = RunSummary(path=path, problem=Path(str(run.meta().get("problem", ""))).name)
    for event in read_events(run.events_path):
        summary.apply(event)
    if run.driver_pid() is not None:
        summary.status = "running"
        summary.stop_reason = None
    elif summary.status in ("running", "paused"):
        summary.status = "crashed"  # started, never stopped, and no driver is alive
    elif summary.status == "unknown":
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
