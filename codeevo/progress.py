"""Headless output: a rich progress bar on a terminal, one line per N events otherwise."""

from __future__ import annotations

import sys
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from codeevo.executor.base import occupancy_text, per_node_usage


def _fmt_score(value: Any) -> str:
    return "-" if value is None else f"{value:.4f}"


def describe(p: dict[str, Any], width: int | None = None) -> str:
    """One progress line: best, rate, budget left, failures by stage, tokens and cost, cost by
    model. With `width`, the parts that do not fit are left out, least important first, so a
    terminal never cuts the line in the middle of a number."""
    fails = p.get("failures") or {}
    top = sorted(fails.items(), key=lambda kv: -kv[1])[:3]
    fail_txt = " ".join(f"{k}={v}" for k, v in top) or "none"
    left = p.get("budget_left") or {}
    parts = [  # (priority: lower is kept first, text)
        (0, f"best {_fmt_score(p.get('best_score'))}"),
        (1, f"{p.get('rate', 0):.1f}/min"),
        (3, f"fail {fail_txt}"),
    ]
    if isinstance(p.get("slots"), int):  # evaluation slots in use (on a cluster: its nodes)
        nodes = int(p.get("nodes") or 0)
        where = f" on {nodes} nodes" if nodes != 1 else ""
        parts.append((2 if where else 5, f"slots {p.get('busy', 0)}/{p['slots']}{where}"))
    per_node = per_node_usage(p.get("per_node"))
    if per_node:  # each node's occupancy: the first thing a narrow line leaves out
        parts.append((6, "nodes " + occupancy_text(per_node)))
    if p.get("infra"):
        parts.append((3, f"infra {p['infra']}"))
    if p.get("tokens"):
        parts.append((2, f"{p['tokens']} tok ${p.get('cost', 0):.4f}"))
        models = p.get("by_model") or {}
        parts += [(5, f"{m}:${t['cost']:.3f}") for m, t in models.items()]
    if left:
        parts.append((4, "left " + ",".join(f"{k}={v}" for k, v in left.items())))
    if width is None:
        return " | ".join(text for _, text in parts)
    kept: set[int] = set()
    used = 0
    for i, (_, text) in sorted(enumerate(parts), key=lambda ip: ip[1][0]):
        extra = len(text) + (3 if kept else 0)
        if used + extra > width:
            break  # strictly by importance: nothing less important fills the gap
        kept.add(i)
        used += extra
    return " | ".join(text for i, (_, text) in enumerate(parts) if i in kept)


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
                # bar (40) + counts + elapsed + gaps take about 70 columns of the line
                room = max(20, self.console.width - 70)
                self._progress.update(self._task, completed=event.get("evaluations", 0),
                                      description=describe(event, room))
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
