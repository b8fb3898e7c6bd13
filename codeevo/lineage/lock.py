"""LineageError, and the single-writer lock: ``lineage.lock`` holding "pid starttime host"."""

from __future__ import annotations

import os
import socket
from pathlib import Path

from codeevo.errors import CodeevoError


class LineageError(CodeevoError):
    """A lineage write or read that cannot proceed (unknown id, missing parent, locked repo)."""

    exit_code = 2


class WriterLock:
    """``lineage.lock`` holding "pid starttime host"; stale when that process is gone."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.held = False

    @staticmethod
    def _start_time(pid: int) -> str:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
            return stat.rsplit(")", 1)[1].split()[19]
        except (OSError, IndexError):
            return "?"

    def _stale(self) -> bool:
        try:
            pid_s, start, host = self.path.read_text().split()
            pid = int(pid_s)
        except (OSError, ValueError):
            return True  # torn or unreadable: its writer died while writing it
        if host != socket.gethostname():
            return False  # cannot check a process on another machine
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            pass
        now = self._start_time(pid)
        return start != "?" and now != "?" and now != start  # pid reused by another process

    def acquire(self) -> None:
        me = f"{os.getpid()} {self._start_time(os.getpid())} {socket.gethostname()}\n"
        for _ in range(3):
            try:
                fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            except FileExistsError:
                if not self._stale():
                    holder = self.path.read_text().split()[:1] or ["?"]
                    raise LineageError(
                        f"{self.path.parent} is being written by pid {holder[0]} "
                        f"(remove {self.path} if that process is gone)"
                    ) from None
                self.path.unlink(missing_ok=True)
                continue
            with os.fdopen(fd, "w") as fh:
                fh.write(me)
            self.held = True
            return
        raise LineageError(f"could not take {self.path}")

    def release(self) -> None:
        if self.held:
            self.path.unlink(missing_ok=True)
            self.held = False
