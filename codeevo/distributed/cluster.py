"""Connecting to a Ray cluster and listing its nodes."""

from __future__ import annotations

import logging
import os
from typing import Any

import ray

from codeevo.distributed.demand import ClusterError, NodeInfo


def describe_address(address: str | None) -> str:
    if address:
        return address
    env = os.environ.get("RAY_ADDRESS")
    return f"{env} (RAY_ADDRESS)" if env else "a private Ray instance on this machine"


def connect(address: str | None) -> bool:
    """Connect this process to Ray; True when this call made the connection (so the caller
    disconnects at the end), False when the process was connected already."""
    if ray.is_initialized():
        return False
    kwargs: dict[str, Any] = {"logging_level": logging.WARNING, "log_to_driver": False}
    if not address and not os.environ.get("RAY_ADDRESS"):
        kwargs["include_dashboard"] = False
    try:
        ray.init(address=address or None, **kwargs)
    except Exception as exc:  # ConnectionError, ValueError, RuntimeError, grpc errors...
        hint = ("; start one with `ray start --head`, or name it with --ray-address"
                if address == "auto" else "")
        raise ClusterError(
            f"cannot connect to the Ray cluster at {describe_address(address)}: "
            f"{type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc) else ''}{hint}"
        ) from exc
    return True


def list_nodes() -> list[NodeInfo]:
    """Every node Ray knows, alive or not."""
    rows: list[dict[str, Any]] = ray.nodes()  # type: ignore[no-untyped-call]
    return [NodeInfo.from_ray(row) for row in rows]
