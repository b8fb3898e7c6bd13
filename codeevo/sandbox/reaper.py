"""Find and remove codeevo's containers that no living driver owns.

Every container codeevo creates carries labels naming the driver process that owns it (pid, the
pid's start time, and host). The reaper removes those whose driver is gone: at start-up (a driver
killed with SIGKILL leaves its containers behind) and at exit (a safety net behind ``finally``).
It takes a docker-py client as an argument, so only ``docker.py`` imports docker.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
import socket
import threading
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

LABEL = "org.codeevo.sandbox"  # value: the sandbox kind (docker / docker-gpu)
LABEL_PID = "org.codeevo.driver-pid"
LABEL_START = "org.codeevo.driver-start"
LABEL_HOST = "org.codeevo.driver-host"
LABEL_RUN = "org.codeevo.run-id"


@cache
def _host() -> str:
    return socket.gethostname()


def process_start(pid: int) -> str:
    """The process's start time in clock ticks since boot ("" where /proc cannot tell)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return ""
    # Field 22; the command name (field 2) may hold spaces, so split after its closing paren.
    return stat.rsplit(")", 1)[1].split()[19]


def driver_labels(run_id: str, kind: str) -> dict[str, str]:
    """Labels that mark a container as codeevo's and name the driver process that owns it."""
    pid = os.getpid()
    return {
        LABEL: kind,
        LABEL_PID: str(pid),
        LABEL_START: process_start(pid),
        LABEL_HOST: _host(),
        LABEL_RUN: run_id,
    }


def driver_alive(labels: dict[str, str]) -> bool:
    """Whether the driver named by a container's labels still runs (on this host)."""
    if labels.get(LABEL_HOST) != _host():
        return True  # another host's driver: not ours to judge
    try:
        pid = int(labels.get(LABEL_PID, ""))
    except ValueError:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    start = labels.get(LABEL_START, "")
    # A recycled pid belongs to a process that started at another time.
    return not start or process_start(pid) in ("", start)


def reap(client: Any, *, owner_pid: int | None = None, run_id: str | None = None) -> list[str]:
    """Remove codeevo containers whose driver is dead, or (with `owner_pid`) that pid's own.

    `run_id` narrows `owner_pid` to one sandbox's containers. Returns the removed ids.
    """
    removed = []
    # The low-level listing carries the labels: no per-container inspect to race with removals.
    for c in client.api.containers(all=True, filters={"label": LABEL}):
        labels: dict[str, str] = c.get("Labels") or {}
        if owner_pid is not None:
            mine = labels.get(LABEL_PID) == str(owner_pid) and labels.get(LABEL_HOST) == _host()
            if not mine or (run_id is not None and labels.get(LABEL_RUN) != run_id):
                continue
        elif driver_alive(labels):
            continue
        if remove(client, c["Id"]):
            removed.append(c["Id"])
    return removed


def _missing(exc: BaseException) -> bool:
    return getattr(exc, "status_code", None) == 404


def remove(client: Any, cid: str, *, wait_s: float = 10.0) -> bool:
    """Force-remove a container and return once it is gone (True), or False when it is still
    there after `wait_s`. A removal already under way (AutoRemove of a runner that ended, its
    owner's own clean-up) answers 409 to ours: wait for that one instead of trusting it."""
    try:
        client.api.remove_container(cid, force=True)
        return True
    except Exception as exc:
        if _missing(exc):
            return True
    try:  # the engine answers when the container is removed, or 404 when it already is
        client.api.wait(cid, timeout=wait_s, condition="removed")
        return True
    except Exception as exc:
        if _missing(exc):
            return True
    try:
        client.api.inspect_container(cid)
    except Exception as exc:
        return _missing(exc)
    return False


_installed = False
_lock = threading.Lock()


def install_exit_cleanup(client_factory: Callable[[], Any]) -> None:
    """Once per process: remove this process's containers at exit, and make a default SIGTERM
    exit through Python (so ``finally`` blocks and atexit run) instead of dying on the spot.

    A program that installed its own SIGTERM handler (the CLI does) keeps it.
    """
    global _installed
    with _lock:
        if _installed:
            return
        _installed = True
    pid = os.getpid()

    def _at_exit() -> None:
        if os.getpid() != pid:
            return  # a forked child exiting must not remove its parent's containers
        with contextlib.suppress(Exception):
            reap(client_factory(), owner_pid=pid)

    atexit.register(_at_exit)
    if threading.current_thread() is threading.main_thread():
        with contextlib.suppress(ValueError, OSError):
            if signal.getsignal(signal.SIGTERM) == signal.SIG_DFL:
                signal.signal(signal.SIGTERM, _sigterm_to_exit)


def _sigterm_to_exit(signum: int, frame: object) -> None:
    del frame
    raise SystemExit(128 + signum)
