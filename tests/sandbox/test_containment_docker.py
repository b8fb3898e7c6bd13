"""The hostile-program suite through the real DockerSandbox (fresh containers and the warm
pool): each attack contained with the status the manifest gives for ``docker``, no secret in
anything recorded, no process or container left, and a normal program still scores after."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from codeevo.candidate import Status
from codeevo.config import SandboxConfig
from codeevo.sandbox.docker import DockerSandbox
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

pytestmark = pytest.mark.docker

CFG = dict(memory_mb=256, file_size_mb=2, max_processes=32, cpu_time_s=10, timeout_slack_s=5,
           output_cap_bytes=16_000)


def bridge_gateway(client: Any) -> str:
    """The host's address as a bridged container sees it."""
    for cfg in client.api.inspect_network("bridge").get("IPAM", {}).get("Config") or []:
        if cfg.get("Gateway"):
            return str(cfg["Gateway"])
    return "172.17.0.1"


@pytest.fixture(scope="module")
def listener() -> Iterator[Listener]:
    lis = Listener('0.0.0.0')
    yield lis
    lis.sock.close()




def test_listener_is_reachable_from_a_bridged_container(cpu_image: str, docker_client: Any,
                                                       listener: Listener) -> None:
    """Control: with networking the listener is reachable, so `network` below means something."""
    before = listener.accepted
    code = (f"import socket; socket.create_connection(({bridge_gateway(docker_client)!r}, "
            f"{listener.port}), timeout=5)")
    docker_client.containers.run(cpu_image, ["python3", "-c", code], network_mode="bridge",
                                 remove=True)
    assert listener.accepted > before


@pytest.mark.parametrize("warm", [False, True], ids=["fresh", "warm"])
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
async def test_hostile_program_is_contained(
    case: Case, warm: bool, cpu_image: str, no_leaks: Any, host_dir: Path, listener: Listener,
    secret_env: None,
) -> None:
    expect = case.expect["docker"]
    sandbox = DockerSandbox(SandboxConfig(**CFG, warm_pool=warm), cpu_image, client=no_leaks)
    token = f"hostile_{case.name}_{uuid.uuid4().hex[:8]}"
    args = [a.format(host_dir=host_dir, host=bridge_gateway(no_leaks), port=listener.port,
            project=PROJECT)
            for a in case.args]
    before = listener.accepted
    try:
        result = await sandbox.evaluate(make_job(case.program, args, entry=f"{token}.py"))
        recorded = result.model_dump_json()
        observed = {
            "network": listener.accepted > before,
            "host_write": (host_dir / "pwned.txt").exists()
            or any(p.exists() for p in SCRATCH_FILES),
            "host_read": HOST_SECRET in recorded,
            "host_list": host_listed(recorded),
            "env": ENV_SECRET in recorded,
            "asset": ASSET_SECRET in recorded,
            "forge": result.score is not None and result.score > MAX_SCORE,
        }
        assert result.status.value in expect.statuses, (result.status, result.reason,
                                                        result.artifacts)
        if case.threat:
            assert observed[case.threat] == (not expect.contained), (
                f"{case.name}: threat {case.threat!r} observed={observed[case.threat]}, expected "
                f"contained={expect.contained} ({expect.note}); recorded: {recorded[:2000]}"
            )
        for threat, got in observed.items():
            if threat != case.threat:
                assert not got, f"{case.name}: unexpected {threat}: {recorded[:2000]}"
        assert len(recorded) < 200_000, "recorded output is not capped"
        assert processes_mentioning(token) == [], "candidate processes outlived the evaluation"
        # The run goes on: the same sandbox still scores a normal program.
        normal = await sandbox.evaluate(make_job((PROBLEM_DIR / "initial.py").read_text()))
        assert normal.status == Status.OK and normal.score == 1.0, normal
    finally:
        (host_dir / "pwned.txt").unlink(missing_ok=True)
        for p in SCRATCH_FILES:
            p.unlink(missing_ok=True)
        await sandbox.close()
