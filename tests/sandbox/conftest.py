"""Docker fixtures: a real engine and the offline-built image, or a skip (a failure in CI).

With ``CODEEVO_REQUIRE_DOCKER=1`` (set by ``.ci/run``) a missing engine or image fails the test
instead of skipping it, so CI cannot pass by silently not testing containment.
Images are never built here: ``.ci/docker-setup.sh`` (or ``codeevo sandbox build cpu
--offline``) builds them.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

REQUIRE = os.environ.get("CODEEVO_REQUIRE_DOCKER") == "1"
REQUIRE_BWRAP = os.environ.get("CODEEVO_REQUIRE_BWRAP") == "1"


def bwrap_missing() -> None:
    """The local sandbox's filesystem confinement needs bubblewrap: skip without it, or fail
    when CI requires it (``CODEEVO_REQUIRE_BWRAP=1``, set by ``.ci/run``)."""
    import shutil

    if shutil.which("bwrap") is None:
        why = "bubblewrap is not installed (apt install bubblewrap)"
        if REQUIRE_BWRAP:
            pytest.fail(f"CODEEVO_REQUIRE_BWRAP=1 but {why}", pytrace=False)
        pytest.skip(why)


def docker_missing(reason: str) -> None:
    """Skip, or fail when Docker is required."""
    if REQUIRE:
        pytest.fail(f"CODEEVO_REQUIRE_DOCKER=1 but {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def docker_client() -> Any:
    from codeevo.sandbox.docker import DockerUnavailableError, connect

    try:
        return connect(timeout=30)
    except DockerUnavailableError as exc:
        docker_missing(str(exc))


def _image(client: Any, flavor: str) -> str:
    from codeevo.sandbox.docker import image_version
    from codeevo.sandbox.images import RECIPES

    rec = RECIPES[flavor]
    have = image_version(client, rec.tag)
    if have is None:
        docker_missing(f"image {rec.tag} not built (run .ci/docker-setup.sh)")
    if have != rec.version:
        docker_missing(f"image {rec.tag} is stale (version {have!r}, recipes at {rec.version})")
    return rec.tag


@pytest.fixture(scope="session")
def cpu_image(docker_client: Any) -> str:
    """``codeevo-cpu:latest`` at the current recipe version."""
    return _image(docker_client, "cpu")


@pytest.fixture(scope="session")
def torch_image(docker_client: Any) -> str:
    """``codeevo-torch:latest`` at the current recipe version."""
    return _image(docker_client, "torch")


def containers_of(client: Any, pid: int) -> list[str]:
    """Ids of codeevo containers whose labels name `pid` as their driver."""
    from codeevo.sandbox import reaper

    return [
        c["Id"]
        for c in client.api.containers(all=True, filters={"label": reaper.LABEL})
        if (c.get("Labels") or {}).get(reaper.LABEL_PID) == str(pid)
    ]


def our_containers(client: Any) -> list[str]:
    """Ids of codeevo containers owned by this test process."""
    return containers_of(client, os.getpid())


@pytest.fixture
def no_leaks(docker_client: Any) -> Iterator[Any]:
    """Asserts the test left no codeevo container of this process behind."""
    yield docker_client
    left = our_containers(docker_client)
    for cid in left:
        docker_client.api.remove_container(cid, force=True)
    assert not left, f"containers left behind: {[cid[:12] for cid in left]}"
