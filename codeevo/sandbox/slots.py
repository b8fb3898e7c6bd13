"""How many evaluations to run at once: ``engine.eval_slots: auto`` resolved to a number.

A plain function, so the engine and any executor (local or on a cluster node) decide alike:
CPU sandboxes get the cores this process may use (affinity and cgroup quota respected), the
GPU profile one slot per GPU times ``sandbox.gpu_concurrency``.
"""

from __future__ import annotations

import glob
from typing import Literal

from codeevo.config import SandboxConfig
from codeevo.sandbox.base import cpu_count


def gpu_count(cfg: SandboxConfig) -> int:
    """GPUs the docker-gpu profile would use: the configured ids, else the NVIDIA device
    nodes of this machine (0 when there are none)."""
    if cfg.gpu_devices:
        return len(cfg.gpu_devices)
    return len([p for p in glob.glob("/dev/nvidia[0-9]*") if p[len("/dev/nvidia"):].isdigit()])


def resolve_eval_slots(value: int | Literal["auto"], cfg: SandboxConfig,
                       kind: str | None = None) -> int:
    """`value` as a number of evaluation slots; `kind` is the sandbox in use (its name:
    local, docker, docker-gpu), default ``cfg.kind``."""
    if value != "auto":
        return int(value)
    if (kind or cfg.kind) == "docker-gpu":
        return max(1, gpu_count(cfg) * cfg.gpu_concurrency)
    return cpu_count()
