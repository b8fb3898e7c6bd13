"""TUI and lineage views at scale: a 10,000-candidate run, opened, browsed, grown and exported.

    PYTHONPATH=. python benchmarks/tui_scale.py [N] [WORKDIR]

Builds a recorded run of N candidates (default 10,000) through the real git lineage store (the
fixture generator of tests/tui, so it takes a while the first time; a WORKDIR is reused), then
drives the real app headless at 160 x 48 and prints each figure next to its target. Figures
are CPU seconds of this process and its children (git): other jobs on the machine stretch wall
time, not CPU time; the wall time is printed beside it.


  open       app start to the dashboard drawn with its read model (store read, index, draw):
             wall and CPU (this process + git); header and feed come from the log's tail first
  lineage    `l` to the commit graph drawn (layout of every candidate)
  reveal     `b` (jump to best + ancestry), `/`-style reveal of the deepest candidate
  scroll     20 page-downs through the graph (only the rows in view are drawn)
  filter     an island filter, then clearing it (a layout each)
  fold       folding single-child chains on and off
  plots      the progress plot and the outcome bars drawn from the read model
  events     1,000 evaluated+progress events in 20 batches, dashboard redraws included, then
             the same with the lineage graph open (it relays out at most twice a second)
  chain      the tip of a 1,500-generation chain (no git)
  html       `codeevo lineage RUN --export html`: time and size of the page
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from codeevo.candidate import Status  # noqa: E402
from codeevo.lineage.index import LineageIndex, Row  # noqa: E402
from codeevo.tui.app import CodeevoApp  # noqa: E402
from codeevo.tui.screens.dashboard import DashboardScreen  # noqa: E402
from codeevo.tui.screens.lineage import LineageScreen  # noqa: E402
from codeevo.tui.widgets.lineage_graph import LineageGraph  # noqa: E402
from codeevo.tui.widgets.outcome_bars import OutcomeBars  # noqa: E402
from codeevo.tui.widgets.score_plot import ScorePlot  # noqa: E402
from tests.tui.fixtures.recorded_run import make_workspace  # noqa: E402

# Targets in CPU seconds (ms per event for events) on the 2-core reference machine.
TARGETS = {"open": 2.0, "lineage": 0.5, "best": 0.25, "deepest": 0.25, "scroll": 1.0,
           "filter": 0.5, "fold": 0.5, "plots": 0.25, "events": 3.0, "events+graph": 4.0,
           "chain": 0.25, "html": 5.0}


def _cpu() -> float:
    """CPU seconds of this process (all threads) and its finished children (git)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def report(name: str, value: float, unit: str, detail: str, wall: float | None = None) -> None:
    target = TARGETS[name]
    mark = "ok  " if value <= target else "MISS"
    shown = f"{value:.3f} {unit} CPU"
    if wall is not None:
        shown += f" ({wall:.2f} s wall)"
    print(f"{name:<13}{shown:<34} target ≤ {target:g} {unit:<8} {mark} {detail}")


def build(root: Path, n: int) -> Path:
    run = root / "runs" / "toy-run"
    if (run / "events.jsonl").is_file() and (run / "lineage.git" / "refs" / "tags").is_dir():
        if any((run / "lineage.git" / "refs" / "tags").iterdir()):
            return run
    t = time.perf_counter()
    make_workspace(root, n=n)
    print(f"built {n} candidates in {time.perf_counter() - t:.1f} s")
    return run


class Clock:
    """CPU (this process and its children) and wall time since it was made."""

    def __init__(self) -> None:
        self.cpu, self.wall = _cpu(), time.perf_counter()

    def took(self) -> tuple[float, float]:
        return _cpu() - self.cpu, time.perf_counter() - self.wall


async def timed(pilot: Any, action: Callable[[], Any]) -> tuple[float, float]:
    clock = Clock()
    result = action()
    if asyncio.iscoroutine(result):
        await result
    await pilot.pause()
    return clock.took()


def live_events(n: int, parents: list[str]) -> list[dict[str, Any]]:
    events = []
    for i in range(500):
        cid = f"c{n + i:06d}"
        events.append({"t": 0.0, "kind": "evaluated", "id": cid, "seq": n + i, "cost": 0.001,
                       "tokens": {"input": 900, "output": 300},
                       "parents": [parents[i % len(parents)]], "operator": "diff",
                       "model": None, "island": i % 2, "status": "ok", "stage": "score",
                       "score": 1.0 + i * 0.01, "cell": [i % 4, (i // 4) % 4],
                       "inserted": i % 3 == 0})
        events.append({"t": 0.0, "kind": "progress", "evaluations": n + i,
                       "best_score": 1.0 + i * 0.01, "best_id": cid, "rate": 60.0})
    return events


async def measure(root: Path, run: Path, n: int) -> None:
    app = CodeevoApp(run, runs_root=root / "runs", problem_roots=[root / "problems"])
    t0, c0 = time.perf_counter(), _cpu()
    async with app.run_test(size=(160, 48)) as pilot:
        t_shown = None
        while not (isinstance(app.screen, DashboardScreen) and app.screen.loaded):
            if t_shown is None and isinstance(app.screen, DashboardScreen) and app.screen.shown:
                t_shown = time.perf_counter() - t0
            await pilot.pause(0.01)
        dash = app.screen
        await pilot.pause()
        t_open, c_open = time.perf_counter() - t0, _cpu() - c0
        report("open", c_open, "s", f"{len(dash.index)} candidates; header and feed after "
               f"{t_shown or t_open:.2f} s wall", t_open)

        clock = Clock()
        await pilot.press("2")
        await pilot.pause()
        plot = dash.query_one(ScorePlot)
        await pilot.press("3")
        await pilot.pause()
        bars = dash.query_one(OutcomeBars)
        cpu, wall = clock.took()
        report("plots", cpu, "s", f"{sum(len(s.points) for s in plot.series)} curve points, "
               f"{len(bars.sections[0][1])} operators", wall)
        await pilot.press("1")

        clock = Clock()
        await pilot.press("l")
        while not isinstance(app.screen, LineageScreen):
            await pilot.pause(0.01)
        graph = app.screen.query_one(LineageGraph)
        while not graph.laid_out:  # at its real width (the first Resize)
            await pilot.pause(0.01)
        await pilot.pause()
        lay = graph.graph_layout
        cpu, wall = clock.took()
        report("lineage", cpu, "s",
               f"{len(lay)} rows in {lay.lanes} lanes, {lay.band} merge lanes, "
               f"{sum(1 for m in lay.merges if m.lane is not None)}/{len(lay.merges)} "
               "crossover edges drawn", wall)
        index = dash.index
        depth = {cid: len(index.primary_line(cid)) for cid in index.order[-2000:]}
        deepest = max(depth, key=lambda c: (depth[c], c))
        best = index.best()
        assert best is not None
        cpu, wall = await timed(pilot, lambda: pilot.press("b"))
        assert graph.selected_id() == best.id
        report("best", cpu, "s", f"{len(index.primary_line(best.id))} generations deep", wall)
        cpu, wall = await timed(pilot, lambda: graph.reveal(deepest))
        assert graph.selected_id() == deepest
        report("deepest", cpu, "s", f"{depth[deepest]} generations deep", wall)
        cpu, wall = await timed(pilot, lambda: pilot.press(*["pagedown"] * 20))
        report("scroll", cpu, "s", "20 pages of 48 rows", wall)
        clock = Clock()
        screen = app.screen
        assert isinstance(screen, LineageScreen)
        await pilot.press("f")
        screen.query_one("#f-island").value = 1  # type: ignore[attr-defined]
        await pilot.pause()
        shown = len(graph.graph_layout)
        screen.query_one("#f-island").clear()  # type: ignore[attr-defined]
        await pilot.pause()
        cpu, wall = clock.took()
        report("filter", cpu, "s", f"island 1: {shown} rows, then all", wall)
        graph.focus()
        cpu, wall = await timed(pilot, lambda: pilot.press("c", "c"))
        report("fold", cpu, "s", "chains folded and unfolded", wall)

        parents = [r.id for r in index.top(20)]
        events = live_events(len(index), parents)
        clock = Clock()
        for k in range(0, len(events), 50):
            dash.apply_events(events[k:k + 50])
            await pilot.pause()
        while graph.stale:  # its next relayout (twice a second at most)
            await pilot.pause(0.05)
        cpu, wall = clock.took()
        report("events+graph", cpu / 1000 * 1e3, "ms/event",
               f"{len(graph.graph_layout)} rows after; graph open, relaid out "
               "at most twice a second", wall)
        await pilot.press("escape")
        await pilot.pause()
        more = live_events(len(index), parents)
        clock = Clock()
        for k in range(0, len(more), 50):
            dash.apply_events(more[k:k + 50])
            await pilot.pause()
        cpu, wall = clock.took()
        report("events", cpu / 1000 * 1e3, "ms/event", "20 batches, dashboard redraws included",
               wall)


async def chain(length: int) -> None:
    """Reveal the tip of a `length`-generation chain (with failed side shoots)."""
    from textual.app import App, ComposeResult

    rows = [Row.make("c000000", 0, [], "seed", None, 0, None, Status.OK, None, None, 0.0,
                     0.0, 0, False, None, "")]
    seq, prev = 1, 0
    for gen in range(1, length + 1):
        rows.append(Row.make(f"c{seq:06d}", seq, [f"c{prev:06d}"], "diff", None, 0, None,
                             Status.OK, None, None, float(gen), 0.0, 0, False, None, ""))
        prev = seq
        seq += 1
        if gen % 10 == 0:
            for _ in range(3):
                rows.append(Row.make(f"c{seq:06d}", seq, [f"c{prev - 1:06d}"], "diff", None,
                                     0, None, Status.FAILED, "s", None, None, 0.0, 0, False,
                                     None, ""))
                seq += 1
    index = LineageIndex.from_rows(rows)
    tip = f"c{prev:06d}"

    class Host(App[None]):
        def compose(self) -> ComposeResult:
            yield LineageGraph(index)

    app = Host()
    async with app.run_test(size=(160, 48)) as pilot:
        graph = app.query_one(LineageGraph)
        cpu, wall = await timed(pilot, lambda: graph.reveal(tip))
        assert graph.selected_id() == tip
        report("chain", cpu, "s", f"tip of a {length}-deep chain, {len(index)} candidates, "
               f"{graph.graph_layout.lanes} lanes", wall)


def html(run: Path) -> None:
    from codeevo.cli import main

    out = run / "lineage.html"
    clock = Clock()
    main(["lineage", str(run), "--export", "html", "--output", str(out)])
    cpu, wall = clock.took()
    report("html", cpu, "s", f"{out.stat().st_size / 1e6:.1f} MB page", wall)


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    root = Path(sys.argv[2]) if len(sys.argv) > 2 else Path(tempfile.mkdtemp(prefix="tui-scale-"))
    run = build(root, n)
    asyncio.run(measure(root, run, n))
    asyncio.run(chain(1500))
    html(run)


if __name__ == "__main__":
    main()
