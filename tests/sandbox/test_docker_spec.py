"""The container spec DockerSandbox hands to docker-py (CPU and GPU), checked as plain data
and through docker-py's own HostConfig builder (no engine needed)."""

from __future__ import annotations

import docker
import pytest

from codeevo.config import SandboxConfig
from codeevo.sandbox.docker import COMMAND, GPU_CACHE_ENV, container_spec
from codeevo.sandbox.reaper import LABEL, driver_labels

MIB = 1024 * 1024


def test_cpu_spec_is_hardened() -> None:
    cfg = SandboxConfig(memory_mb=512, cpus=1.5, max_processes=32, max_open_files=128,
                        file_size_mb=16)
    labels = driver_labels("run1", "docker")
    spec = container_spec(cfg, "codeevo-cpu:latest", labels)
    host = spec["host_config"]
    assert spec["command"] == COMMAND
    assert spec["user"] == "0:0"  # the runner drops to 1000 after starting the template
    assert spec["stdin_open"] and not spec["detach"] and not spec["tty"]
    assert spec["labels"][LABEL] == "docker" and spec["labels"]["org.codeevo.run-id"] == "run1"
    assert host["network_mode"] == "none"
    assert host["read_only"] is True
    assert host["cap_drop"] == ["ALL"]
    assert host["cap_add"] == ["SETUID", "SETGID", "KILL"]  # the template's: candidates' uids
    assert host["security_opt"] == ["no-new-privileges"]
    assert host["mem_limit"] == host["memswap_limit"] == 512 * MIB
    assert host["nano_cpus"] == 1_500_000_000
    assert host["pids_limit"] == 32 + 16  # candidates' NPROC is 32: headroom to clean up
    assert host["init"] is False  # the runner is pid 1: docker-init would hold its stdout
    assert host["auto_remove"] is True
    ulimits = {u["name"]: (u["soft"], u["hard"]) for u in host["ulimits"]}
    assert ulimits["nofile"] == (128, 128)
    assert ulimits["fsize"] == (16 * MIB, 16 * MIB)
    assert ulimits["core"] == (0, 0)
    work = host["tmpfs"]["/work"]
    assert "uid=1000" in work and "gid=1000" in work and "mode=711" in work
    assert "size=64m" in work
    assert f"nr_inodes={cfg.max_files + 1024}" in work  # inodes bounded: disk fills end here
    assert "/tmp" in host["tmpfs"]
    assert host["log_config"]["config"]["max-size"] == "1m"
    assert "device_requests" not in host
    assert not set(GPU_CACHE_ENV) & set(spec["environment"])


def test_gpu_spec_all_devices() -> None:
    cfg = SandboxConfig(shm_size_mb=2048)
    spec = container_spec(cfg, "codeevo-gpu:latest", {}, gpu=True)
    host = spec["host_config"]
    assert host["device_requests"] == [{"capabilities": [["gpu"]], "count": -1}]
    assert host["shm_size"] == 2048 * MIB
    for key, path in GPU_CACHE_ENV.items():
        assert spec["environment"][key] == path
        assert path.startswith("/tmp/")  # the root is read-only: caches live on the tmpfs
    # Still hardened: the GPU profile only adds to the CPU spec.
    assert host["network_mode"] == "none" and host["read_only"] and host["cap_drop"] == ["ALL"]


def test_gpu_spec_named_devices() -> None:
    cfg = SandboxConfig(gpu_devices=["0", "GPU-abc"])
    host = container_spec(cfg, "img", {}, gpu=True)["host_config"]
    assert host["device_requests"] == [{"capabilities": [["gpu"]], "device_ids": ["0", "GPU-abc"]}]


@pytest.mark.parametrize("gpu", [False, True])
def test_docker_py_accepts_the_spec(gpu: bool) -> None:
    api = docker.APIClient(base_url="unix:///nonexistent.sock", version="1.41")
    spec = container_spec(SandboxConfig(), "img", {"a": "b"}, gpu=gpu)
    host = api.create_host_config(**spec["host_config"])
    assert host["NetworkMode"] == "none"
    assert host["ReadonlyRootfs"] is True
    assert host["Memory"] == host["MemorySwap"]
    assert host["Init"] is False and host["AutoRemove"] is True
    assert host["CapAdd"] == ["SETUID", "SETGID", "KILL"]
    if gpu:
        req = host["DeviceRequests"][0]
        assert req["Count"] == -1 and req["Capabilities"] == [["gpu"]]
    from docker.types import ContainerConfig

    config = ContainerConfig("1.41", **{**spec, "host_config": host})
    assert config["OpenStdin"] and config["StdinOnce"] and config["AttachStdin"]
    assert config["User"] == "0:0"
