"""The in-sandbox runner, driven through the real wire protocol in a real subprocess."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import tarfile
import textwrap
from pathlib import Path
from typing import Any

import pytest

from codeevo.candidate import EvalResult, Status
from codeevo.config import SandboxConfig, StageConfig
from codeevo.sandbox import runner
from codeevo.sandbox.base import BOOTSTRAP, SandboxJob, build_payload, parse_result

CFG = SandboxConfig(memory_mb=256, output_cap_bytes=2048, timeout_slack_s=2)


def run_job(
    tmp_path: Path,
    evaluator: str,
    program: str = "def main():\n    return 1\n",
    stages: list[tuple[str, str, float | None, float]] | None = None,
    config: dict[str, Any] | None = None,
    assets: dict[str, str] | None = None,
) -> tuple[EvalResult, subprocess.CompletedProcess[bytes]]:
    """Write an evaluator folder, run the runner on a job through stdin, parse its line."""
    ev = tmp_path / "ev"
    ev.mkdir(exist_ok=True)
    (ev / "evaluator.py").write_text(textwrap.dedent(evaluator))
    assets_dir = None
    if assets:
        assets_dir = tmp_path / "assets"
        assets_dir.mkdir()
        for name, text in assets.items():
            (assets_dir / name).write_text(text)
    job = SandboxJob(
        program=program,
        entry="prog.py",
        evaluator_dir=ev,
        evaluator_module="evaluator",
        stages=tuple(
            StageConfig(name=n, function=f, threshold=t, timeout=to)
            for n, f, t, to in (stages or [("main", "main", None, 10.0)])
        ),
        evaluator_config=config or {},
        assets_dir=assets_dir,
    )
    payload, nonce = build_payload(job, CFG)
    work = tmp_path / "work"
    work.mkdir()
    proc = talk(payload, nonce, work)
    result = parse_result(proc.stdout, nonce)
    assert result is not None, proc.stderr.decode()[-3000:]
    return result, proc


def talk(payload: bytes, nonce: str, cwd: Path) -> subprocess.CompletedProcess[bytes]:
    """Run a runner on `payload`, keeping its stdin open until its result line came (end of
    input means "the driver is gone": the runner would stop at once)."""
    proc = subprocess.Popen([sys.executable, "-u", "-I", "-c", BOOTSTRAP],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, cwd=cwd)
    assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
    proc.stdin.write(payload)
    proc.stdin.flush()
    out = b""
    marker = nonce.encode() + b" {"
    for line in iter(proc.stdout.readline, b""):
        out += line
        if line.startswith(marker):
            break
    proc.stdin.close()
    out += proc.stdout.read()
    err = proc.stderr.read()
    proc.wait(timeout=60)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


# ---------------------------------------------------------------- protocol and unpacking


def _tar(*members: tarfile.TarInfo) -> tarfile.TarFile:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for m in members:
            tar.addfile(m, io.BytesIO(b"x" * m.size) if m.isreg() else None)
    buf.seek(0)
    return tarfile.open(fileobj=buf, mode="r")


@pytest.mark.parametrize(
    "name,kind",
    [("/etc/evil", tarfile.REGTYPE), ("program/../../evil", tarfile.REGTYPE),
     ("elsewhere/x", tarfile.REGTYPE), ("program/link", tarfile.SYMTYPE),
     ("program/hard", tarfile.LNKTYPE), ("program/dev", tarfile.CHRTYPE)],
)
def test_safe_extract_refuses_members_that_could_escape(tmp_path: Path, name: str,
                                                        kind: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = "/etc/passwd"
    info.size = 1 if kind == tarfile.REGTYPE else 0
    with pytest.raises(runner.UnsafeArchive):
        runner.safe_extract(_tar(info), tmp_path)
    assert not (tmp_path / "program" / "link").exists()


def test_safe_extract_writes_regular_files(tmp_path: Path) -> None:
    info = tarfile.TarInfo("evaluator/pkg/mod.py")
    info.size = 3
    runner.safe_extract(_tar(info), tmp_path)
    assert (tmp_path / "evaluator/pkg/mod.py").read_bytes() == b"xxx"


def test_exactly_one_result_line_and_evaluator_prints_stay_off_stdout(tmp_path: Path) -> None:
    result, proc = run_job(tmp_path, """
        def main(ctx):
            print("noise from the evaluator")
            return {"score": 2.5, "metrics": {"m": 1}, "features": {"f": 0.5},
                    "artifacts": {"note": "hi"}}
    """)
    assert result.status == Status.OK and result.score == 2.5
    assert result.metrics == {"m": 1.0} and result.features == {"f": 0.5}
    assert result.artifacts == {"note": "hi"}
    lines = proc.stdout.splitlines()
    assert lines[0].startswith(b"ready ")
    assert [line[33:39] for line in lines[1:]] == [b"stage ", b"{\"stat"]  # one result line
    assert b"noise from the evaluator" in proc.stderr


# ---------------------------------------------------------------- the cascade


def test_cascade_stops_below_threshold_and_says_why(tmp_path: Path) -> None:
    result, _ = run_job(tmp_path, """
        def cheap(ctx):
            return {"score": 0.3, "metrics": {"a": 1}}
        def full(ctx):
            raise AssertionError("must not run")
    """, stages=[("cheap", "cheap", 0.5, 5.0), ("full", "full", None, 5.0)])
    assert result.status == Status.OK
    assert result.stage == "cheap" and result.score == 0.3
    assert "below its threshold" in (result.reason or "")
    assert [s["name"] for s in result.stages] == ["cheap"]


def test_cascade_runs_every_stage_and_merges(tmp_path: Path) -> None:
    result, _ = run_job(tmp_path, """
        def cheap(ctx):
            ctx.state["x"] = 4
            return {"score": 1.0, "metrics": {"a": 1}}
        def full(ctx):
            return {"score": ctx.state["x"] * 2, "metrics": {"b": 2}}
    """, stages=[("cheap", "cheap", 0.5, 5.0), ("full", "full", None, 5.0)])
    assert result.status == Status.OK and result.stage == "full" and result.score == 8.0
    assert result.metrics == {"a": 1.0, "b": 2.0}
    assert [s["name"] for s in result.stages] == ["cheap", "full"]
    assert all(s["time"] >= 0 for s in result.stages)


def test_stage_reporting_failure_stops_the_cascade(tmp_path: Path) -> None:
    result, _ = run_job(tmp_path, """
        def a(ctx):
            return {"score": 0.0, "status": "oom", "reason": "candidate oom"}
        def b(ctx):
            raise AssertionError("must not run")
    """, stages=[("a", "a", None, 5.0), ("b", "b", None, 5.0)])
    assert result.status == Status.OOM and result.reason == "candidate oom" and result.stage == "a"


def test_evaluator_exception_is_failed_with_traceback(tmp_path: Path) -> None:
    result, _ = run_job(tmp_path, """
        def main(ctx):
            return helper()
        def helper():
            raise KeyError("boom")
    """)
    assert result.status == Status.FAILED and result.stage == "main"
    assert "KeyError" in (result.reason or "")
    assert "helper" in result.artifacts["traceback"]


def test_stage_running_past_its_timeout_is_timeout(tmp_path: Path) -> None:
    result, _ = run_job(tmp_path, """
        import time
        def main(ctx):
            time.sleep(30)
    """, stages=[("main", "main", None, 0.5)])
    assert result.status == Status.TIMEOUT and "timeout" in (result.reason or "")


def test_bad_stage_output_is_failed(tmp_path: Path) -> None:
    result, _ = run_job(tmp_path, """
        def main(ctx):
            return {"score": float("nan")}
    """)
    assert result.status == Status.FAILED and "finite" in (result.reason or "")


def test_artifacts_are_capped(tmp_path: Path) -> None:
    result, _ = run_job(tmp_path, """
        def main(ctx):
            return {"score": 1, "artifacts": {"big": "y" * 100_000}}
    """)
    assert len(result.artifacts["big"]) < CFG.output_cap_bytes + 100
    assert "more bytes cut" in result.artifacts["big"]


# ---------------------------------------------------------------- ctx.run_candidate


CANDIDATE_EVALUATOR = """
    import json
    def main(ctx):
        r = ctx.run_candidate(ctx.config["function"], args=ctx.config.get("args", []),
                              timeout=ctx.config.get("timeout"), memory_mb=ctx.config.get("mem"))
        return {"score": 1.0, "artifacts": {"run": json.dumps({
            "status": r.status, "value": r.value, "error": r.error, "tb": r.traceback,
            "stdout": r.stdout[-200:], "stdout_len": len(r.stdout), "stderr": r.stderr[-200:],
            "rc": r.returncode})}}
"""

CANDIDATE = """
import os, signal, sys, time
def ok(n):
    import numpy as np
    return {"arr": np.arange(n), "scalar": np.float64(1.5), "tup": (1, 2)}
def boom():
    raise ValueError("bad candidate")
def forever():
    while True:
        pass
def sleepy():
    time.sleep(60)
def hog():
    x = []
    while True:
        x.append(bytearray(2**25))
def suicide():
    os.kill(os.getpid(), signal.SIGKILL)
def loud():
    sys.stdout.write("z" * 500_000)
    return 7
def quits():
    sys.exit(0)
def unsendable():
    return object()
"""


def candidate_run(tmp_path: Path, function: str, **config: Any) -> dict[str, Any]:
    result, _ = run_job(tmp_path, CANDIDATE_EVALUATOR, program=CANDIDATE,
                        config={"function": function, **config})
    assert result.status == Status.OK, result
    out: dict[str, Any] = json.loads(result.artifacts["run"])
    return out


def test_run_candidate_returns_plain_data(tmp_path: Path) -> None:
    run = candidate_run(tmp_path, "ok", args=[3])
    assert run["status"] == "ok"
    assert run["value"] == {"arr": [0, 1, 2], "scalar": 1.5, "tup": [1, 2]}


@pytest.mark.parametrize(
    "function,status,needle",
    [("boom", "error", "ValueError: bad candidate"), ("forever", "timeout", "deadline"),
     ("sleepy", "timeout", "deadline"), ("hog", "oom", "MemoryError"),
     ("suicide", "killed", "SIGKILL"), ("quits", "error", "without a result"),
     ("missing", "error", "no function"), ("unsendable", "error", "cannot send")],
)
def test_run_candidate_statuses(tmp_path: Path, function: str, status: str, needle: str) -> None:
    run = candidate_run(tmp_path, function, timeout=1.0, mem=128)
    assert run["status"] == status, run
    assert needle in run["error"], run


def test_run_candidate_cpu_limit_is_timeout(tmp_path: Path) -> None:
    # A deadline longer than the CPU limit: SIGXCPU ends it first.
    result, _ = run_job(tmp_path, CANDIDATE_EVALUATOR, program=CANDIDATE,
                        config={"function": "forever", "timeout": 8.0})
    run = json.loads(result.artifacts["run"])
    assert run["status"] == "timeout"


def test_run_candidate_output_is_capped_while_streaming(tmp_path: Path) -> None:
    run = candidate_run(tmp_path, "loud")
    assert run["status"] == "ok" and run["value"] == 7
    assert run["stdout_len"] < CFG.output_cap_bytes + 100
    assert "more bytes not kept" in run["stdout"]


DRIVER = """
import json
cand = load_candidate()
data = json.load(open("input.json"))
out = [cand.double(x) for x in data]
open("out/result.json", "w").write(json.dumps(out))
emit(len(out))
"""


def test_custom_driver_with_files(tmp_path: Path) -> None:
    result, _ = run_job(tmp_path, """
        import json
        def main(ctx):
            r = ctx.run_candidate(driver=ctx.config["driver"],
                                  files={"input.json": b"[1, 2, 3]", "out/.keep": b""})
            written = json.loads((r.output_dir / "out" / "result.json").read_text())
            return {"score": sum(written), "metrics": {"n": r.value},
                    "artifacts": {"status": r.status}}
    """, program="def double(x):\n    return 2 * x\n", config={"driver": DRIVER})
    assert result.status == Status.OK, result
    assert result.score == 12.0 and result.metrics == {"n": 3.0}


def test_secret_assets_are_deleted_before_candidates_run(tmp_path: Path) -> None:
    result, _ = run_job(tmp_path, """
        import json
        def setup(ctx):
            ctx.state["secret"] = (ctx.assets / "key.txt").read_text()
        def main(ctx):
            r = ctx.run_candidate("look")
            return {"score": 1.0, "artifacts": {"seen": json.dumps(r.value),
                    "assets_attr": str(ctx.assets),
                    "kept": str(ctx.state["secret"] == "hush-123")}}
    """, program=textwrap.dedent("""
        import os
        def look():
            return [os.path.exists("../assets"), os.path.exists("../assets/key.txt"),
                    sorted(os.listdir(".."))]
    """), assets={"key.txt": "hush-123"})
    assert result.status == Status.OK, result
    exists_dir, exists_file, listing = json.loads(result.artifacts["seen"])
    assert not exists_dir and not exists_file and "assets" not in listing
    assert result.artifacts["assets_attr"] == "None"
    assert result.artifacts["kept"] == "True"
    assert "hush-123" not in result.model_dump_json()


def test_candidate_env_is_scrubbed_and_marked(tmp_path: Path) -> None:
    result, _ = run_job(tmp_path, CANDIDATE_EVALUATOR,
                        program="import os\ndef env():\n    return dict(os.environ)\n",
                        config={"function": "env"})
    env = json.loads(result.artifacts["run"])["value"]
    assert set(env) == {"PATH", "HOME", "TMPDIR", "LANG", "OMP_NUM_THREADS", "MKL_NUM_THREADS",
                        "OPENBLAS_NUM_THREADS", "PYTHONDONTWRITEBYTECODE", runner.MARKER_VAR}
    assert env["HOME"].endswith("/runs/0-1") and env["HOME"] == env["TMPDIR"]


def test_evaluator_modules_cannot_be_rewritten_by_candidates(tmp_path: Path) -> None:
    (tmp_path / "ev").mkdir()
    (tmp_path / "ev" / "helper.py").write_text("def score():\n    return 1.0\n")
    result, _ = run_job(tmp_path, """
        def main(ctx):
            r = ctx.run_candidate("tamper")
            import helper  # imported only after the candidate ran
            return {"score": helper.score(), "artifacts": {"r": str(r.value)}}
    """, program=textwrap.dedent("""
        import glob
        def tamper():
            for path in glob.glob("../../evaluator/helper.py"):
                with open(path, "w") as f:
                    f.write("def score():\\n    return 1e9\\n")
                return "rewrote"
    """))
    assert result.status == Status.OK and result.artifacts["r"] == "rewrote", result
    assert result.score == 1.0
