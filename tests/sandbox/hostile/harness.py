"""Shared fixtures of the containment suites (local and Docker): a counting TCP listener, a
driver-owned host folder, the key in the driver's environment, and process lookups."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.sandbox.hostile import ENV_SECRET, HOST_SECRET

PROJECT = Path(__file__).resolve().parents[3]
SCRATCH_FILES = [Path("/tmp/codeevo-hostile-pwned.txt"), Path("/var/tmp/codeevo-hostile-pwned.txt")]


class Listener:
    """A TCP server on `host` that counts the connections it accepts."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.sock = socket.create_server((host, 0))
        self.port = self.sock.getsockname()[1]
        self.accepted = 0
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.accepted += 1
            conn.close()


@pytest.fixture(scope="module")
def host_dir() -> Iterator[Path]:
    """A driver-owned folder others may enter but not write, holding a file only it may read."""
    d = Path(tempfile.mkdtemp(prefix="hostile-host-"))
    d.chmod(0o755)
    secret = d / "root-only.txt"
    secret.write_text(HOST_SECRET)
    secret.chmod(0o600)
    world = d / "world.txt"
    world.write_text(HOST_SECRET)
    world.chmod(0o644)
    yield d
    shutil.rmtree(d)


@pytest.fixture
def secret_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The key in the driver's environment, and in the initial environment of a process."""
    monkeypatch.setenv("OPENAI_API_KEY", ENV_SECRET)
    holder = subprocess.Popen(["sleep", "60"], env={**os.environ, "OPENAI_API_KEY": ENV_SECRET})
    yield
    holder.kill()
    holder.wait()


def processes_mentioning(token: str) -> list[int]:
    """Pids whose command line holds `token` (container processes are host processes too)."""
    found = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/cmdline", "rb") as f:
                if token.encode() in f.read():
                    found.append(int(entry.name))
        except OSError:
            continue
    return found


def host_listed(recorded: str) -> bool:
    """Whether the checkout's top-level listing made it into a recorded result."""
    return "README.md" in recorded and "pyproject.toml" in recorded and ".ci" in recorded
