"""The hostile-program suite through the real LocalSandbox: each attack contained (or, where the
local sandbox cannot contain it, shown to get through, as docs/security.md says), nothing
leaked, nothing left running, and a normal program still scores afterwards."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from codeevo.candidate import Status
from codeevo.config import SandboxConfig
from codeevo.sandbox.local import LocalSandbox
from tests.sandbox.conftest import bwrap_missing
from tests.sandbox.hostile import (
    ASSET_SECRET,
    CASES,
    ENV_SECRET,
    HOST_SECRET,
    MAX_SCORE,
    PROBLEM_DIR,
    Case,
    make_job,
)
from tests.sandbox.hostile.harness import (  # noqa: F401  (fixtures)
    PROJECT,
    SCRATCH_FILES,
    Listener,
    host_dir,
    host_listed,
    processes_mentioning,
    secret_env,
)

CFG = SandboxConfig(memory_mb=256, file_size_mb=2, max_processes=32, cpu_time_s=10,
                    timeout_slack_s=5, output_cap_bytes=16_000)
# Root with bubblewrap: "local". Without root and without bubblewrap: "local-unconfined".
KIND = "local" if os.geteuid() == 0 else "local-unconfined"


@pytest.fixture(autouse=True)
def _confinement_known() -> None:
    if os.geteuid() == 0 or shutil.which("bwrap"):
        bwrap_missing()  # root needs it for "local"; a non-root bwrap host has no column yet
        if os.geteuid() != 0:
            pytest.skip("non-root with bubblewrap: no expectations recorded for this host")


@pytest.fixture(scope="module")
def listener() -> Iterator[Listener]:
    lis = Listener('127.0.0.1')
    yield lis
    lis.sock.close()




def _host_written(host_dir: Path) -> bool:
    return (host_dir / "pwned.txt").exists() or any(p.exists() for p in SCRATCH_FILES)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
async def test_hostile_program_is_contained(
    case: Case, host_dir: Path, listener: Listener, secret_env: None
) -> None:
    expect = case.expect[KIND]
    sandbox = LocalSandbox(CFG)
    token = f"hostile_{case.name}_{uuid.uuid4().hex[:8]}"
    args = [a.format(host_dir=host_dir, host="127.0.0.1", port=listener.port,
            project=PROJECT) for a in case.args]
    before = listener.accepted
    try:
        result = await sandbox.evaluate(make_job(case.program, args, entry=f"{token}.py"))
        recorded = result.model_dump_json()
        observed = {
            "network": listener.accepted > before,
            "host_write": _host_written(host_dir),
            "host_read": HOST_SECRET in recorded,
            "host_list": host_listed(recorded),
            "env": ENV_SECRET in recorded,
            "asset": ASSET_SECRET in recorded,
            "forge": result.score is not None and result.score > MAX_SCORE,
        }
    finally:
        (host_dir / "pwned.txt").unlink(missing_ok=True)
        for p in SCRATCH_FILES:
            p.unlink(missing_ok=True)

    assert result.status.value in expect.statuses, (result.status, result.reason,
                                                    result.artifacts)
    if case.threat:
        assert observed[case.threat] == (not expect.contained), (
            f"{case.name} on {KIND}: threat {case.threat!r} observed={observed[case.threat]}, "
            f"expected contained={expect.contained} ({expect.note}); recorded: {recorded[:2000]}"
        )
    # Every other threat stays contained whatever the case.
    for threat, got in observed.items():
        if threat != case.threat:
            assert not got, f"{case.name}: unexpected {threat}: {recorded[:2000]}"
    assert len(recorded) < 200_000, "recorded output is not capped"
    assert processes_mentioning(token) == [], "candidate processes outlived the evaluation"

    # The run goes on: the same sandbox still scores a normal program.
    normal = await sandbox.evaluate(make_job((PROBLEM_DIR / "initial.py").read_text()))
    assert normal.status == Status.OK and normal.score == 1.0, normal
    await sandbox.close()


async def test_root_driver_confines_the_runner_with_a_fresh_uid() -> None:
    """On this root machine the runner must not keep root (else no fork bomb is contained)."""
    sandbox = LocalSandbox(CFG)
    conf = await sandbox.confinement()
    if os.geteuid() == 0:
        assert conf.drop, "running as root but the local sandbox did not drop privileges"
        program = "import os\ndef main():\n    return [os.getuid(), os.getgid(), os.getgroups()]\n"
        try:
            result = await sandbox.evaluate(make_job(program))
        finally:
            await sandbox.close()  # its warm runner must not outlive the test's event loop
        assert result.status == Status.OK, result
        uid, gid, groups = __import__("json").loads(result.artifacts["value"])
        assert uid != 0 and gid != 0 and groups == []
    else:
        assert not conf.drop
