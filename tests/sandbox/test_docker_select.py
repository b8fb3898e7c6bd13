"""make_sandbox: which sandbox `--sandbox auto|local|docker|docker-gpu` gives, and why."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from codeevo.config import RunConfig
from codeevo.problem import Problem, load_problem
from codeevo.sandbox.docker import DockerSandbox, DockerUnavailableError, gpu_runtime
from codeevo.sandbox.select import make_sandbox
from tests.sandbox.conftest import bwrap_missing, our_containers
from tests.sandbox.hostile import PROBLEM_DIR

pytestmark = pytest.mark.docker


def problem(**config: Any) -> Problem:
    p = load_problem(PROBLEM_DIR)
    return dataclasses.replace(p, config=p.config.model_copy(update=config))


def run_cfg(kind: str, **sandbox: Any) -> RunConfig:
    return RunConfig.model_validate({"sandbox": {"kind": kind, **sandbox}})


async def test_local_when_asked() -> None:
    bwrap_missing()
    sb, how = make_sandbox(run_cfg("local"), problem())
    assert sb.name == "local" and how.startswith("sandbox: local (--sandbox local; ")
    # The first lines say what confines candidates (here: root + bubblewrap, as in CI).
    assert "bubblewrap: minimal read-only filesystem" in how
    await sb.close()


async def test_docker_when_asked(cpu_image: str, no_leaks: Any) -> None:
    sb, how = make_sandbox(run_cfg("docker", warm_pool=True), problem(image="codeevo-cpu"))
    assert isinstance(sb, DockerSandbox) and sb.name == "docker"
    assert how == ("sandbox: docker (--sandbox docker; image codeevo-cpu, warm runners, "
                   "100 uses each)")
    await sb.close()


async def test_auto_prefers_docker_when_the_image_is_there(cpu_image: str, no_leaks: Any) -> None:
    sb, how = make_sandbox(run_cfg("auto"), problem(image="codeevo-cpu"))
    assert sb.name == "docker" and how.startswith("sandbox: docker (auto; image codeevo-cpu")
    await sb.close()


async def test_auto_falls_back_to_local_without_the_image(docker_client: Any) -> None:
    sb, how = make_sandbox(run_cfg("auto"), problem(image="codeevo-nonexistent-image"))
    assert sb.name == "local"
    assert how.startswith("sandbox: local (auto: Docker image codeevo-nonexistent-image not "
                          "built; ")
    await sb.close()
    sb, how = make_sandbox(run_cfg("auto", image="codeevo-cpu:nonexistent-tag"), problem())
    assert sb.name == "local" and "build it with `codeevo sandbox build cpu --offline`" in how
    await sb.close()


async def test_auto_falls_back_to_local_without_an_engine(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
    sb, how = make_sandbox(run_cfg("auto"), problem())
    assert sb.name == "local"
    assert how.startswith("sandbox: local (auto: Docker engine not reachable")
    await sb.close()


def test_docker_asked_but_unavailable_is_a_clear_error(docker_client: Any,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(DockerUnavailableError, match="image codeevo-nonexistent-image not found"):
        make_sandbox(run_cfg("docker"), problem(image="codeevo-nonexistent-image"))
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
    with pytest.raises(DockerUnavailableError, match="Docker engine not reachable"):
        make_sandbox(run_cfg("docker"), problem())


def test_docker_gpu_without_runtime_fails_at_once(cpu_image: str, no_leaks: Any) -> None:
    if gpu_runtime(no_leaks):
        pytest.skip("this engine has an NVIDIA runtime")
    with pytest.raises(DockerUnavailableError, match="NVIDIA Container Toolkit"):
        make_sandbox(run_cfg("docker-gpu"), problem(image="codeevo-cpu"))
    assert our_containers(no_leaks) == []


async def test_auto_gpu_problem_without_runtime_uses_the_cpu_profile(cpu_image: str,
                                                                     no_leaks: Any) -> None:
    if gpu_runtime(no_leaks):
        pytest.skip("this engine has an NVIDIA runtime")
    sb, how = make_sandbox(run_cfg("auto"), problem(sandbox_profile="docker-gpu",
                                                    image="codeevo-cpu"))
    assert sb.name == "docker", how
    await sb.close()
