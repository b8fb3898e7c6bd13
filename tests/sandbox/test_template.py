"""Candidates start from the template, never from the runner: a candidate cannot read the
runner's memory, file descriptors or environment, finds no evaluator state or asset in its own
memory (inherited from its parent), and sees nothing an earlier candidate of the same warm
runner left. Local and Docker (warm), through the real sandboxes."""

from __future__ import annotations

import json
import textwrap
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from codeevo.candidate import Status
from codeevo.config import SandboxConfig, StageConfig
from codeevo.sandbox.base import Sandbox, SandboxJob

SECRET = "state-secret-9c1e"  # what setup keeps in memory (and the asset file holds)

EVALUATOR = f'''
import json
CACHE = []
def setup(ctx):
    ctx.state["secret"] = (ctx.assets / "secret.txt").read_text()
    CACHE.append(ctx.state["secret"] * 3)
def run(ctx):
    r = ctx.run_candidate("main", args=[{SECRET!r}[:9]])
    return {{"score": 1.0 if r.status == "ok" else 0.0,
            "artifacts": {{"value": json.dumps(r.value), "error": r.error}}}}
'''

PROBE = r'''
import os
def main(prefix):
    me = os.getpid()
    out = {"ppid_cmd": "", "opened": [], "in_memory": False}
    try:
        with open("/proc/%d/cmdline" % os.getppid(), "rb") as f:
            out["ppid_cmd"] = f.read()[:200].decode("latin1")
    except OSError:
        pass
    for pid in os.listdir("/proc"):
        if not pid.isdigit() or int(pid) == me:
            continue
        for what in ("mem", "environ", "fd"):
            path = "/proc/%s/%s" % (pid, what)
            try:
                if what == "fd":
                    os.listdir(path)
                else:
                    with open(path, "rb") as f:
                        f.read(1)
                out["opened"].append(path)
            except OSError:
                pass
    # Our own memory: everything inherited from the parent we were forked from (read with
    # ctypes: we are not dumpable, so /proc/self/mem is root's).
    import ctypes
    # The secret is never built here (we would find our own copy): its halves are matched.
    head, tail = prefix.encode(), "ret-9c1e".encode()
    out["regions"] = 0
    with open("/proc/self/maps") as maps:
        for line in maps:
            parts = line.split()
            addr, perms = parts[:2]
            name = parts[5] if len(parts) > 5 else ""
            if "r" not in perms or name.startswith("[v"):
                continue
            lo, hi = (int(x, 16) for x in addr.split("-"))
            if hi - lo > 1 << 28:
                continue
            out["regions"] += 1
            chunk = ctypes.string_at(lo, hi - lo)
            i = chunk.find(tail)
            while i >= 0:
                if chunk[i - len(head):i] == head:
                    out["in_memory"] = True
                i = chunk.find(tail, i + 1)
    return out
'''

LEAVE = r'''
import os
def main(prefix):
    for path in ("left.txt", "/tmp/left.txt"):
        with open(path, "w") as f:
            f.write("left-by-first")
    return os.getcwd()
'''

FIND = r'''
import os
def main(prefix):
    found = []
    for root in ("/tmp", "/work", "/var/tmp", os.path.dirname(os.getcwd())):
        for dirpath, _, files in os.walk(root):
            found += [os.path.join(dirpath, f) for f in files if f == "left.txt"]
    return found
'''


@pytest.fixture(scope="module")
def folders(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("template")
    (root / "ev").mkdir()
    (root / "ev" / "evaluator.py").write_text(textwrap.dedent(EVALUATOR))
    (root / "assets").mkdir()
    (root / "assets" / "secret.txt").write_text(SECRET)
    return root / "ev", root / "assets"


def job(folders: tuple[Path, Path], program: str) -> SandboxJob:
    return SandboxJob(program=program, entry="program.py", evaluator_dir=folders[0],
                      evaluator_module="evaluator", assets_dir=folders[1],
                      stages=(StageConfig(name="run", function="run", timeout=30),))


@pytest.fixture(params=["local", "docker"])
async def sandbox(request: pytest.FixtureRequest) -> AsyncIterator[Sandbox]:
    cfg = SandboxConfig(memory_mb=512, warm_pool=True)
    sb: Sandbox
    if request.param == "local":
        from codeevo.sandbox.local import LocalSandbox

        sb = LocalSandbox(cfg)
    else:
        cpu_image: str = request.getfixturevalue("cpu_image")
        from codeevo.sandbox.docker import DockerSandbox

        sb = DockerSandbox(cfg, cpu_image)
    yield sb
    await sb.close()


def value(res: Any) -> Any:
    assert res.status == Status.OK, res
    return json.loads(res.artifacts["value"])


async def test_candidate_reaches_nothing_of_the_runner(sandbox: Sandbox,
                                                       folders: tuple[Path, Path]) -> None:
    got = value(await sandbox.evaluate(job(folders, PROBE)))
    # Its parent is the template (started with template.py's source), not the runner.
    assert "codeevo-template" in got["ppid_cmd"], got["ppid_cmd"]
    assert got["opened"] == [], "a candidate opened another process's memory/environ/fds"
    assert got["regions"] > 10  # it did look
    assert got["in_memory"] is False, "evaluator state reached the candidate's memory"


async def test_later_candidate_finds_nothing_of_an_earlier_one(
    sandbox: Sandbox, folders: tuple[Path, Path]
) -> None:
    first = value(await sandbox.evaluate(job(folders, LEAVE)))
    assert first
    found = value(await sandbox.evaluate(job(folders, FIND)))
    assert found == []
