"""LocalSandbox end to end: real runner processes, real deadlines, real cleanup."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import stat
import tempfile
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from codeevo.candidate import Status
from codeevo.config import SandboxConfig, StageConfig
from codeevo.sandbox.base import Sandbox, SandboxJob
from codeevo.sandbox.local import LocalSandbox

CFG = SandboxConfig(memory_mb=256, timeout_slack_s=1.0)


@pytest.fixture
def scratch(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Evaluation folders are made here, so a test can see what was left behind."""
    d = Path(tempfile.mkdtemp(prefix="codeevo-test-local-"))
    d.chmod(0o755)  # the sandbox's fresh uid must be able to enter it
    monkeypatch.setattr(tempfile, "tempdir", str(d))
    yield d
    shutil.rmtree(d)


def job(tmp_path: Path, evaluator: str, timeout: float = 5.0, program: str = "x = 1\n",
        config: dict[str, object] | None = None, entry: str = "prog.py") -> SandboxJob:
    ev = tmp_path / "ev"
    ev.mkdir(exist_ok=True)
    (ev / "evaluator.py").write_text(textwrap.dedent(evaluator))
    return SandboxJob(program=program, entry=entry, evaluator_dir=ev,
                      evaluator_module="evaluator",
                      stages=(StageConfig(name="main", function="main", timeout=timeout),),
                      evaluator_config=config or {})


def test_local_sandbox_satisfies_the_protocol() -> None:
    assert isinstance(LocalSandbox(CFG), Sandbox)
    assert LocalSandbox.name == "local"


async def test_runner_env_is_allow_listed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                          scratch: Path) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-secret")
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy:3128")
    monkeypatch.setenv("MY_TOKEN", "tok")
    sandbox = LocalSandbox(CFG)
    result = await sandbox.evaluate(job(tmp_path, """
        import json, os
        def main(ctx):
            return {"score": 1, "artifacts": {"env": json.dumps(dict(os.environ))}}
    """))
    env = json.loads(result.artifacts["env"])
    assert set(env) == {"PATH", "LANG", "HOME", "TMPDIR", "PYTHONDONTWRITEBYTECODE",
                        "OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"}
    assert "sk-test-secret" not in result.model_dump_json()
    await sandbox.close()
    assert list(scratch.iterdir()) == [], "runner folder not removed"


async def test_deadline_kills_a_runner_that_ignores_its_stage_timeout(
    tmp_path: Path, scratch: Path
) -> None:
    sandbox = LocalSandbox(CFG)
    result = await sandbox.evaluate(job(tmp_path, """
        import signal, time
        def main(ctx):
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, signal.SIG_IGN)
            while True:
                time.sleep(0.01)
    """, timeout=0.5))
    assert result.status == Status.TIMEOUT and "deadline" in (result.reason or "")
    assert result.stage == "main"
    assert 1.4 < result.elapsed < 5 + result.timings.get("startup", 0)
    assert list(scratch.iterdir()) == [], "a timed-out runner is not kept"
    await sandbox.close()


async def test_runner_dying_without_a_line_is_crashed_with_stderr(tmp_path: Path) -> None:
    sandbox = LocalSandbox(CFG)
    result = await sandbox.evaluate(job(tmp_path, """
        import os, sys
        def main(ctx):
            sys.stderr.write("last words\\n")
            sys.stderr.flush()
            os._exit(3)
    """))
    await sandbox.close()
    assert result.status == Status.CRASHED and "code 3" in (result.reason or "")
    assert result.stage == "main"
    assert "last words" in result.artifacts["sandbox_stderr"]


async def test_cancel_kills_everything_and_cleans_up(tmp_path: Path, scratch: Path) -> None:
    sandbox = LocalSandbox(CFG)
    task = asyncio.create_task(sandbox.evaluate(job(tmp_path, """
        def main(ctx):
            r = ctx.run_candidate("main")
            return {"score": 0}
    """, program="import time\ndef main():\n    time.sleep(60)\n", timeout=30,
        entry="cancel_probe_3f9.py")))
    for _ in range(600):  # until the candidate runs (runner start-up varies with load)
        if _running("cancel_probe_3f9.py") or task.done():
            break
        await asyncio.sleep(0.1)
    assert list(scratch.iterdir()), "evaluation did not start"
    assert _running("cancel_probe_3f9.py"), "candidate did not start"
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert list(scratch.iterdir()) == [], "a cancelled runner is not kept"
    assert not _running("cancel_probe_3f9.py"), "candidate survived the cancel"
    await sandbox.close()


async def test_close_kills_running_evaluations(tmp_path: Path) -> None:
    sandbox = LocalSandbox(CFG)
    task = asyncio.create_task(sandbox.evaluate(job(tmp_path, """
        import time
        def main(ctx):
            time.sleep(30)
    """, timeout=30)))
    await asyncio.sleep(0.8)
    await sandbox.close()
    result = await asyncio.wait_for(task, 5)
    assert result.status == Status.CRASHED


async def test_concurrent_evaluations_do_not_interfere(tmp_path: Path) -> None:
    sandbox = LocalSandbox(CFG)
    jobs = [job(tmp_path / str(i), f"""
        def main(ctx):
            r = ctx.run_candidate("f", args=[{i}])
            return {{"score": r.value}}
    """, program="def f(x):\n    return x * 10\n") for i in range(4) if not
        (tmp_path / str(i)).mkdir()]
    results = await asyncio.gather(*(sandbox.evaluate(j) for j in jobs))
    await sandbox.close()
    assert [r.score for r in results] == [0.0, 10.0, 20.0, 30.0]


def _running(needle: str) -> bool:
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                with open(f"/proc/{entry.name}/cmdline", "rb") as f:
                    if needle.encode() in f.read():
                        return True
            except OSError:
                continue
    return False


def test_removing_a_run_folder_never_changes_the_shared_tmp(tmp_path: Path) -> None:
    """Clean-up of an evaluation folder that is already gone (or holds locked files) must
    not chmod its parent: that parent is /tmp, shared by every user of the machine."""
    from codeevo.sandbox.local import _remove

    parent = tmp_path / "shared"
    parent.mkdir(mode=0o777)
    parent.chmod(0o1777)
    gone = parent / "codeevo-local-gone"
    _remove(gone)  # rmtree reports the missing root to its error handler
    locked = parent / "codeevo-local-locked"
    (locked / "sub").mkdir(parents=True)
    (locked / "sub" / "f").write_text("x")
    (locked / "sub").chmod(0o000)
    _remove(locked)
    assert not locked.exists()
    assert stat.S_IMODE(parent.stat().st_mode) == 0o1777


@pytest.mark.parametrize(("settings", "fails"),
                         [({}, False), ({"warm_pool": False}, False),
                          ({"warm_pool_max_uses": 1}, False), ({}, True)],
                         ids=["warm", "fresh", "recycled", "failed"])
def test_every_runner_closes_its_transport(tmp_path: Path, scratch: Path,
                                           settings: dict[str, Any], fails: bool) -> None:
    # A subprocess transport left open is closed by the garbage collector at some later
    # moment, after its event loop has closed: its close() then raises inside whatever Python
    # code runs at that moment (seen in CI: an ast.parse in another test failed with CPython
    # 3.11's "AST constructor recursion depth mismatch"). Every runner closes its own.
    # recycled: each runner is ended in the background after its job and a new one started
    # ahead; close() comes while both are under way.
    from codeevo.sandbox.local import LocalRunner

    runners: list[LocalRunner] = []
    spawn = LocalRunner.spawn

    async def spy(self: LocalRunner, *args: Any) -> None:
        runners.append(self)
        await spawn(self, *args)

    # failed: a runner whose job failed is ended in the background; close() comes at once.
    evaluator = """
    def main(ctx):
        if ctx.config.get("fail"):
            raise ValueError("no")
        return {"score": 1.0}
    """

    async def main() -> None:
        sb = LocalSandbox(SandboxConfig(memory_mb=256, **settings))
        try:
            for _ in range(3):
                r = await sb.evaluate(job(tmp_path, evaluator, config={"fail": fails}))
                assert (r.status == Status.OK) != fails, r
        finally:
            await sb.close()

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(LocalRunner, "spawn", spy)
        asyncio.run(main())
    assert runners
    for runner in runners:
        assert runner.proc is not None
        assert runner.proc._transport.is_closing(), "transport left for the GC"  # type: ignore[attr-defined]
