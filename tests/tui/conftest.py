"""Fixtures for TUI tests: a recorded run (real git lineage) and an app factory pinned in time.

Screens are driven at the two sizes we promise to work at: 80 x 24 and 160 x 48.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from codeevo.tui.app import CodeevoApp
from tests.tui.fixtures.recorded_run import NOW, make_workspace

SMALL = (80, 24)
LARGE = (160, 48)
SIZES = [SMALL, LARGE]
SIZE = LARGE  # tests about behaviour rather than layout run at one size


@pytest.fixture(scope="session")
def _recorded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("tui-ws")
    make_workspace(root, n=60)
    return root


@pytest.fixture
def workspace(_recorded: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private copy of the recorded workspace; the test runs with it as the cwd."""
    root = tmp_path / "ws"
    shutil.copytree(_recorded, root)
    # run.json names the problem by absolute path: point it at this copy.
    meta = root / "runs" / "toy-run" / "run.json"
    meta.write_text(meta.read_text().replace(str(_recorded), str(root)))
    monkeypatch.chdir(root)
    return root


@pytest.fixture
def run_dir(workspace: Path) -> Path:
    return Path("runs") / "toy-run"


@pytest.fixture
def make_app(workspace: Path) -> Callable[..., CodeevoApp]:
    def factory(run_path: Path | None = None, **kw: object) -> CodeevoApp:
        kw.setdefault("problem_roots", [Path("problems")])
        return CodeevoApp(run_path, runs_root=Path("runs"), now=lambda: NOW,
                          **kw)  # type: ignore[arg-type]

    return factory


@pytest.fixture(params=SIZES, ids=["80x24", "160x48"])
def size(request: pytest.FixtureRequest) -> tuple[int, int]:
    return request.param  # type: ignore[no-any-return]
