"""Headless output: a rich progress bar on a terminal, one line per N events otherwise."""

from __future__ import annotations

import sys
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn


def _fmt_score(value: Any) -> str:
    return "-" if value is None else f"{value:.4f}"


def describe(p: dict[str, Any]) -> str:
    """One progress line: best, rate, failures by stage, cost, tokens, budget left."""
    fails = p.get("failures") or {}
    top = sorted(fails.items(), key=lambda kv: -kv[1])[:3]
    fail_txt = " ".join(f"{k}={v}" for k, v in top) or "none"
    parts = [
        f"best {_fmt_score(p.get('best_score'))}",
        f"{p.get('rate', 0):.1f}/min",
        f"fail {fail_txt}",
    ]
    if isinstance(p.get("slots"), int):
        nodes = int(p.get("nodes") or 0)
        where = f" on {nodes} nodes" if nodes != 1 else ""
        parts.append(f"slots {p.get('busy', 0)}/{p['slots']}{where}")
    if p.get("infra"):
        parts.append(f"infra {p['infra']}")
    if p.get("tokens"):
        parts.append(f"{p['tokens']} tok ${p.get('cost', 0):.4f}")
        models = p.get("by_model") or {}
        if models:
            parts.append(" ".join(f"{m}:${t['cost']:.3f}" for m, t in models.items()))
    left = p.get("budget_left") or {}
    if left:
        parts.append("left " + ",".join(f"{k}={v}" for k, v in left.items()))
    return " | ".join(parts)


class ProgressView:
    """Consumes engine events; draws a bar (tty), prints sparse lines (pipe), or nothing."""

    def __init__(self, total: int | None, quiet: bool = False) -> None:
        self.quiet = quiet
        self.console = Console(stderr=True)
        self.tty = self.console.is_terminal and not quiet
        self._progress: Progress | None = None
        self._task: Any = None
        self._last_line = 0
        self.total = total
        if self.tty:
            self._progress = Progress(
                TextColumn("[bold]evals"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                TimeElapsedColumn(), TextColumn("{task.description}"),
                console=self.console, transient=False,
            )
            self._task = self._progress.add_task("", total=total)
            self._progress.start()

    def __call__(self, event: dict[str, Any]) -> None:
        kind = event.get("kind")
        if kind == "progress":
            if self._progress is not None:
                self._progress.update(self._task, completed=event.get("evaluations", 0),
                                      description=describe(event))
            elif not self.quiet:
                n = int(event.get("evaluations", 0))
                if n - self._last_line >= 25 or (self.total and n >= self.total):
                    self._last_line = n
                    print(f"[{n}/{self.total or '-'}] {describe(event)}", file=sys.stderr)
        elif kind == "warning" and not self.quiet:
            self.console.print(f"[yellow]warning:[/] {event.get('message')}")

    def close(self) -> None:
        if self._progress is not None:
            self._progress.stop()
