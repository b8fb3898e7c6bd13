"""The example folders scored in the real Docker sandbox (codeevo-cpu): the adapter, the
stand-ins and the folder's files travel with the job; the foreign evaluator and the candidate
run in the container's confined child process."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from codeevo.candidate import Status
from codeevo.config import RunConfig
from codeevo.evaluate import evaluate_program
from codeevo.problem import load_problem
from tests.sandbox.conftest import cpu_image, docker_client  # noqa: F401  (fixtures)
from tests.sandbox.hostile.harness import Listener

from .conftest import OE_EXAMPLE, SHINKA_EXAMPLE

pytestmark = pytest.mark.docker
DOCKER = RunConfig.model_validate({"sandbox": {"kind": "docker"}})
LOCAL = RunConfig.model_validate({"sandbox": {"kind": "local"}})


@pytest.mark.parametrize("folder", [OE_EXAMPLE, SHINKA_EXAMPLE], ids=["openevolve", "shinka"])
def test_example_folder_scores_the_same_in_docker(folder: Path, cpu_image: str) -> None:  # noqa: F811
    problem = load_problem(folder)
    boxed = asyncio.run(evaluate_program(problem, problem.seed_program, DOCKER))
    local = asyncio.run(evaluate_program(problem, problem.seed_program, LOCAL))
    assert boxed.status == Status.OK, (boxed.reason, boxed.artifacts)
    assert boxed.score == pytest.approx(local.score)
    assert set(boxed.metrics) == set(local.metrics)


def test_hostile_candidate_cannot_reach_the_network_in_docker(
        cpu_image: str, docker_client: Any, tmp_path: Path) -> None:  # noqa: F811
    """Even sharing the scorer's process, a candidate in Docker has no network: a listener on
    the host (at the bridge gateway, where a bridged container would reach it) gets nothing."""
    gateway = "172.17.0.1"
    for cfg in docker_client.api.inspect_network("bridge").get("IPAM", {}).get("Config") or []:
        gateway = str(cfg.get("Gateway") or gateway)
    listener = Listener("0.0.0.0")
    try:
        folder = tmp_path / "oe"
        folder.mkdir()
        (folder / "initial_program.py").write_text(
            "import socket\n\ndef value():\n    try:\n"
            f"        socket.create_connection(({gateway!r}, {listener.port}), timeout=2)\n"
            "        return 1.0\n    except OSError:\n        return 0.5\n")
        (folder / "evaluator.py").write_text(
            "import importlib.util\n\ndef evaluate(path):\n"
            "    spec = importlib.util.spec_from_file_location('p', path)\n"
            "    m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)\n"
            "    return {'combined_score': m.value()}\n")
        problem = load_problem(folder)
        result: Any = asyncio.run(evaluate_program(problem, problem.seed_program, DOCKER))
    finally:
        listener.sock.close()
    assert result.status == Status.OK and result.score == 0.5
    assert listener.accepted == 0
