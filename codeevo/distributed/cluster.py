"""Connecting to a Ray cluster and listing its nodes."""

from __future__ import annotations

import logging
import os
from typing import Any, NoReturn

import ray

from codeevo.distributed.demand import ClusterError, NodeInfo


def describe_address(address: str | None) -> str:
    if address:
        return address
    env = os.environ.get("RAY_ADDRESS")
    return f"{env} (RAY_ADDRESS)" if env else "a private Ray instance on this machine"


# A Ray Client (ray://) server forks one server process per client, and that child can die
# at birth (gRPC's fork handlers racing its poller: ray-project/ray#63202); the client then
# gets "Initialization failure from server". A new connection forks a new one.
CLIENT_ATTEMPTS = 3


def _client_spawn_failed(exc: BaseException, address: str | None) -> bool:
    return (bool(address) and str(address).startswith("ray://")
            and isinstance(exc, ConnectionAbortedError)
            and "Initialization failure from server" in str(exc))


def connect(address: str | None) -> bool:
    """Connect this process to Ray; True when this call made the connection (so the caller
    disconnects at the end), False when the process was connected already."""
    if ray.is_initialized():
        return False
    kwargs: dict[str, Any] = {"logging_level": logging.WARNING, "log_to_driver": False}
    if not address and not os.environ.get("RAY_ADDRESS"):
        kwargs["include_dashboard"] = False
    attempt = 1
    while True:
        try:
            ray.init(address=address or None, **kwargs)
            return True
        except Exception as exc:  # ConnectionError, ValueError, RuntimeError, grpc errors...
            if attempt < CLIENT_ATTEMPTS and _client_spawn_failed(exc, address):
                attempt += 1  # (a failed client connection has disconnected itself)
                continue
            _failed(address, exc, attempt)


def _failed(address: str | None, exc: BaseException, attempts: int) -> NoReturn:
    hint = ("; start one with `ray start --head`, or name it with --ray-address"
            if address == "auto" else "")
    if attempts > 1:
        hint += f" ({attempts} attempts; see ray_client_server*.err in the head node's Ray logs)"
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    raise ClusterError(f"cannot connect to the Ray cluster at {describe_address(address)}: "
                       f"{type(exc).__name__}: {first}{hint}") from exc


def list_nodes() -> list[NodeInfo]:
    """Every node Ray knows, alive or not."""
    rows: list[dict[str, Any]] = ray.nodes()  # type: ignore[no-untyped-call]
    return [NodeInfo.from_ray(row) for row in rows]
