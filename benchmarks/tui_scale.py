"""TUI at scale: time to open a 10,000-candidate run, and to apply 1,000 live events.

    PYTHONPATH=. python benchmarks/tui_scale.py [N] [WORKDIR]

Builds a recorded run of N candidates (default 10,000) through the real git lineage store (the
fixture generator of tests/tui, so it takes a while the first time; a WORKDIR is reused), then
drives the real app headless and prints:
  open      from app start to the dashboard drawn with its index (store read, index, draw),
            wall and CPU time (a loaded machine stretches wall time), and when the header and
            feed (from the event log's tail) were up
  lineage   from pressing `l` to the tree shown
  reveal    `b` (jump to best: reveal + ancestry highlight) and revealing the deepest candidate,
            with their depth in generations and the tree nodes built so far
  chain     the same on a synthetic lineage holding a 1,500-generation chain (no git)
  events    applying 1,000 `evaluated`+`progress` events in batches of 50 and redrawing
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from codeevo.tui.app import CodeevoApp  # noqa: E402
from codeevo.tui.screens.dashboard import DashboardScreen  # noqa: E402
from codeevo.tui.screens.lineage import LineageScreen  # noqa: E402
from codeevo.tui.widgets.lineage_tree import LineageTree  # noqa: E402
from tests.tui.fixtures.recorded_run import make_workspace  # noqa: E402


def _cpu() -> float:
    """CPU seconds of this process (all threads) and its finished children (git)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def build(root: Path, n: int) -> Path:
    run = root / "runs" / "toy-run"
    if (run / "events.jsonl").is_file() and (run / "lineage.git" / "refs" / "tags").is_dir():
        if any((run / "lineage.git" / "refs" / "tags").iterdir()):
            return run
    t = time.perf_counter()
    make_workspace(root, n=n)
    print(f"built {n} candidates in {time.perf_counter() - t:.1f} s")
    return run


async def measure(root: Path, run: Path, n: int) -> None:
    app = CodeevoApp(run, runs_root=root / "runs", problem_roots=[root / "problems"])
    t0, c0 = time.perf_counter(), _cpu()
    async with app.run_test(size=(160, 50)) as pilot:
        t_shown = None
        while not (isinstance(app.screen, DashboardScreen) and app.screen.loaded):
            if t_shown is None and isinstance(app.screen, DashboardScreen) and app.screen.shown:
                t_shown = time.perf_counter() - t0
            await pilot.pause(0.01)
        dash = app.screen
        await pilot.pause()
        t_open, c_open = time.perf_counter() - t0, _cpu() - c0
        print(f"open      {t_open:.2f} s wall, {c_open:.2f} s CPU (this process + git) to the "
              f"drawn dashboard ({len(dash.index)} candidates); header and feed after "
              f"{t_shown or t_open:.2f} s")

        t1 = time.perf_counter()
        await pilot.press("l")
        while not isinstance(app.screen, LineageScreen):
            await pilot.pause(0.01)
        await pilot.pause()
        tree = app.screen.query_one(LineageTree)
        print(f"lineage   {time.perf_counter() - t1:.2f} s to show the tree")
        depth = {cid: len(dash.index.path_to_root(cid)) for cid in dash.index.order}
        deepest = max(depth, key=lambda c: (depth[c], c))
        best = dash.index.best()
        assert best is not None
        t3 = time.perf_counter()
        await pilot.press("b")
        await pilot.pause()
        assert tree.selected_id() == best.id
        print(f"reveal    {time.perf_counter() - t3:.3f} s jump to best, {depth[best.id]} "
              f"generations deep ({len(tree.nodes_by_id)} candidate nodes built)")
        t4 = time.perf_counter()
        tree.reveal(deepest)
        await pilot.pause()
        assert tree.selected_id() == deepest
        print(f"reveal    {time.perf_counter() - t4:.3f} s deepest, {depth[deepest]} generations "
              f"deep ({len(tree.nodes_by_id)} candidate nodes built)")
        await pilot.press("escape")
        await pilot.pause()

        parents = [c.id for c in dash.index.top(20)]
        events = []
        for i in range(500):
            cid = f"c{n + i:06d}"
            events.append({"t": 0.0, "kind": "evaluated", "id": cid, "seq": n + i,
                           "cost": 0.001, "tokens": {"input": 900, "output": 300},
                           "parents": [parents[i % 20]],
                           "operator": "diff", "model": None, "island": i % 2, "status": "ok",
                           "stage": "score", "score": 1.0 + i * 0.01, "cell": [i % 4, (i // 4) % 4],
                           "inserted": i % 3 == 0})
            events.append({"t": 0.0, "kind": "progress", "evaluations": n + i,
                           "best_score": 1.0 + i * 0.01, "best_id": cid, "rate": 60.0})
        t2 = time.perf_counter()
        for k in range(0, len(events), 50):
            dash.apply_events(events[k:k + 50])
            await pilot.pause()
        dt = time.perf_counter() - t2
        print(f"events    {dt:.2f} s for 1000 events in 20 batches "
              f"({dt / 1000 * 1e3:.2f} ms/event, redraws included)")


async def chain(length: int) -> None:
    """Reveal the tip of a `length`-generation chain (with failed side shoots) in a tree."""
    from textual.app import App, ComposeResult

    from tests.tui.test_lineage_tree import chain_index

    index = chain_index(length)
    tip = index.order[-1]

    class Host(App[None]):
        def compose(self) -> ComposeResult:
            yield LineageTree(index)

    app = Host()
    async with app.run_test(size=(120, 40)) as pilot:
        tree = app.query_one(LineageTree)
        t = time.perf_counter()
        tree.reveal(tip)
        await pilot.pause()
        assert tree.selected_id() == tip
        print(f"chain     {time.perf_counter() - t:.3f} s to reveal the tip of a {length}-deep "
              f"chain ({len(index)} candidates, {len(tree.nodes_by_id)} candidate nodes built)")


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    root = Path(sys.argv[2]) if len(sys.argv) > 2 else Path(tempfile.mkdtemp(prefix="tui-scale-"))
    run = build(root, n)
    asyncio.run(measure(root, run, n))
    asyncio.run(chain(1500))


if __name__ == "__main__":
    main()
