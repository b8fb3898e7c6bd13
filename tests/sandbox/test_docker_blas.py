"""The sandbox images do linear algebra with an optimised BLAS, not Debian's reference build
(with it, the merge problem's scoring took 20x the CPU in Docker that it took on the host)."""

from __future__ import annotations

from typing import Any

import pytest

pytestmark = pytest.mark.docker

PROBE = """
import numpy as np
a = np.ones((64, 64))
a @ a
{extra}
maps = open("/proc/self/maps").read()
print(sorted({{line.split()[-1].rsplit("/", 1)[-1] for line in maps.splitlines()
               if "blas" in line}}))
"""


def _libraries(client: Any, image: str, extra: str = "") -> str:
    out = client.containers.run(image, ["python3", "-c", PROBE.format(extra=extra)],
                                network_disabled=True, remove=True)
    return bytes(out).decode()


def test_cpu_image_numpy_uses_openblas(docker_client: Any, cpu_image: str) -> None:
    libs = _libraries(docker_client, cpu_image)
    assert "openblas" in libs, libs


def test_torch_image_numpy_and_torch_use_openblas(docker_client: Any, torch_image: str) -> None:
    libs = _libraries(docker_client, torch_image,
                      "import torch\nt = torch.ones(64, 64)\nt @ t")
    assert "openblas" in libs, libs
