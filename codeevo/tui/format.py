"""Small text formatters shared by the TUI's screens (numbers, ages, statuses)."""

from __future__ import annotations

from codeevo.candidate import Candidate, Status
from codeevo.tui.run_index import CandidateRow

STATUS_STYLE = {
    Status.OK: "green",
    Status.REJECTED: "yellow",
    Status.FAILED: "red",
    Status.TIMEOUT: "magenta",
    Status.OOM: "magenta",
    Status.CRASHED: "red",
    Status.TAMPERED: "bold red",
}


def score(value: float | None) -> str:
    return "—" if value is None else f"{value:.4f}"


def money(value: float) -> str:
    return f"${value:.4f}" if value < 10 else f"${value:,.2f}"


def count(value: int) -> str:
    if value >= 1_000_000:
        return f"{value / 1_000_000:.1f}M"
    if value >= 10_000:
        return f"{value / 1000:.0f}k"
    return str(value)


def age(seconds: float | None) -> str:
    """`seconds` ago as a short human age: 45s, 12m, 3h, 2d."""
    if seconds is None:
        return "—"
    s = max(0.0, seconds)
    if s < 60:
        return f"{s:.0f}s"
    if s < 3600:
        return f"{s / 60:.0f}m"
    if s < 86400:
        return f"{s / 3600:.0f}h"
    return f"{s / 86400:.0f}d"


def elapsed(seconds: float) -> str:
    s = int(max(0.0, seconds))
    h, rem = divmod(s, 3600)
    m, sec = divmod(rem, 60)
    return f"{h}:{m:02d}:{sec:02d}" if h else f"{m:02d}:{sec:02d}"


def outcome(cand: Candidate | CandidateRow) -> str:
    """`ok 0.8123` or `failed@stage2` — what happened to a candidate, in a few characters."""
    if cand.status == Status.OK:
        return score(cand.score)
    return f"{cand.status.value}@{cand.stage or '-'}"
