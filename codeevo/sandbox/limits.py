"""How the local sandbox confines its runner process on a Linux host.

When the driver runs as root, each evaluation's runner gets its **own unprivileged uid** (no
passwd entry, no groups) from a large range, so that RLIMIT_NPROC counts only that
evaluation's processes (a fork bomb cannot starve a concurrent evaluation), root-only files
stay unreadable, the driver's ``/proc/<pid>/environ`` stays unreadable, and every straggler can
be found and killed by uid. Where the kernel allows it (CAP_SYS_ADMIN), the runner also gets
private mount, network and IPC namespaces: no network at all (loopback down), and the
interpreter's prefix re-exposed through a tmpfs when it sits under a folder other users cannot
enter (e.g. ``/root/.pyenv``), so the rest of that folder stays hidden.

Without root nothing of this is possible: the runner keeps the driver's uid and candidate
processes are found by an environment marker instead (see docs/security.md).
"""

from __future__ import annotations

import ctypes
import os
import random
import shutil
import signal
import stat
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

UID_BASE = 2_000_000_000  # far above distro and systemd ranges; no passwd entry needed
UID_SPAN = 1_000_000
CLONE_NEWNS = 0x00020000
CLONE_NEWIPC = 0x08000000
CLONE_NEWNET = 0x40000000
MS_BIND = 4096
MS_MOVE = 8192
MS_REC = 16384
MS_PRIVATE = 1 << 18
MS_NOSUID = 2
MS_NODEV = 4
SAFE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
SCRATCH_DIRS = (Path("/tmp"), Path("/var/tmp"), Path("/dev/shm"))

_libc = ctypes.CDLL(None, use_errno=True)
_uids_in_use: set[int] = set()


@dataclass(frozen=True)
class Confinement:
    """How to start one runner: which uid, and whether to use namespaces.

    Attributes:
        drop: run as a fresh unprivileged uid (from `acquire_uid`); False keeps the driver's.
        namespaces: private mount + network + IPC namespaces.
        hidden: the folder that other users cannot enter above the interpreter, or None.
        reveal: interpreter folders under `hidden` to bind back in, inside the namespace.
    """

    drop: bool
    namespaces: bool
    hidden: Path | None = None
    reveal: tuple[Path, ...] = ()


def interpreter_dirs() -> tuple[Path, ...]:
    """Folders the runner's interpreter needs (prefixes, the executable's folder)."""
    dirs = {
        Path(sys.base_prefix),
        Path(sys.prefix),
        Path(sys.exec_prefix),
        Path(sys.base_exec_prefix),
        Path(os.path.realpath(sys.executable)).parent,
    }
    return tuple(sorted({Path(os.path.realpath(d)) for d in dirs}))


def blocked_ancestor(path: Path) -> Path | None:
    """The topmost folder on `path` that other users may not enter, or None."""
    for parent in [*reversed(path.parents), path]:
        try:
            mode = parent.stat().st_mode
        except OSError:
            return parent
        if not mode & stat.S_IXOTH:
            return parent
    return None


NO_CONFINEMENT = Confinement(drop=False, namespaces=False)


def confinement_options() -> list[Confinement]:
    """What this process could set up, strongest first; the sandbox keeps the first that works.

    Without root: nothing. With root: a fresh uid plus namespaces; then a fresh uid alone,
    unless the interpreter sits under a folder the fresh uid cannot enter (that case needs the
    mount namespace to re-expose it).
    """
    if os.geteuid() != 0:
        return [NO_CONFINEMENT]
    dirs = interpreter_dirs()
    hidden = {b for b in (blocked_ancestor(d) for d in dirs) if b is not None}
    if len(hidden) > 1:
        return [NO_CONFINEMENT]
    top = next(iter(hidden), None)
    # Re-expose only the outermost folders: a nested one would be bound twice.
    inside = [d for d in dirs if top is not None and (d == top or top in d.parents)]
    reveal = tuple(d for d in inside if not any(o in d.parents for o in inside))
    options = [Confinement(drop=True, namespaces=True, hidden=top, reveal=reveal)]
    if top is None:
        options.append(Confinement(drop=True, namespaces=False))
    options.append(NO_CONFINEMENT)
    return options


def acquire_uid() -> int:
    """A uid nobody uses now (no passwd entry, no process), reserved until `release_uid`."""
    import pwd

    running = uids_running()
    for _ in range(1000):
        uid = UID_BASE + random.randrange(UID_SPAN)
        if uid in _uids_in_use or uid in running:
            continue
        try:
            pwd.getpwuid(uid)
            continue
        except KeyError:
            _uids_in_use.add(uid)
            return uid
    raise RuntimeError("no free sandbox uid found")


def release_uid(uid: int) -> None:
    _uids_in_use.discard(uid)


def uids_running() -> set[int]:
    out: set[int] = set()
    for pid in _pids():
        uid = _real_uid(pid)
        if uid is not None:
            out.add(uid)
    return out


def _pids() -> list[int]:
    return [int(e.name) for e in os.scandir("/proc") if e.name.isdigit()]


def _real_uid(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/status", "rb") as f:
            for line in f:
                if line.startswith(b"Uid:"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return None


def _environ_has(pid: int, needle: bytes) -> bool:
    try:
        with open(f"/proc/{pid}/environ", "rb") as f:
            return needle in b"\0" + f.read() + b"\0"
    except OSError:
        return False


def kill_processes(uid: int | None = None, marker: bytes | None = None, rounds: int = 100) -> int:
    """Stop, then kill, every process of `uid` (or whose environment has an entry starting
    with `marker`, e.g. ``b"NAME=value"``) until none is left.

    Stopping first keeps a fork bomb from replacing its killed members. Returns how many
    processes were killed. Never touches this process.
    """
    if uid is None and marker is None:
        return 0
    needle = b"\0" + marker if marker else b""
    me = os.getpid()
    killed = 0
    for _ in range(rounds):
        pids = [
            p for p in _pids()
            if p != me and ((uid is not None and _real_uid(p) == uid)
                            or (marker is not None and _environ_has(p, needle)))
        ]
        if not pids:
            break
        for sig in (signal.SIGSTOP, signal.SIGKILL):
            for pid in pids:
                try:
                    os.kill(pid, sig)
                except OSError:
                    pass
        killed += len(pids)
        time.sleep(0.002)
    return killed


def remove_files_of(uid: int, dirs: tuple[Path, ...] = SCRATCH_DIRS) -> list[Path]:
    """Delete what `uid` left at the top of the world-writable scratch folders."""
    removed = []
    for d in dirs:
        try:
            entries = list(os.scandir(d))
        except OSError:
            continue
        for e in entries:
            try:
                if e.stat(follow_symlinks=False).st_uid != uid:
                    continue
                if e.is_dir(follow_symlinks=False):
                    shutil.rmtree(e.path, ignore_errors=True)
                else:
                    os.unlink(e.path)
                removed.append(Path(e.path))
            except OSError:
                continue
    return removed


def preexec(conf: Confinement, uid: int | None, stage: Path) -> Callable[[], None] | None:
    """The function Popen runs in the child before exec (None when there is nothing to do).

    Runs as root in the forked child: new namespaces, the interpreter re-exposed, then the
    drop to `uid` (gid = uid, no supplementary groups).
    """
    if uid is None:
        return None
    reveal = [(str(d).encode(), str(stage / f"r{i}").encode()) for i, d in enumerate(conf.reveal)]
    hidden = str(conf.hidden).encode() if conf.hidden else None

    def _check(rc: int, what: str) -> None:
        if rc != 0:
            err = ctypes.get_errno()
            raise OSError(err, f"{what}: {os.strerror(err)}")

    def run() -> None:
        if conf.namespaces:
            _check(_libc.unshare(CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWIPC), "unshare")
            _check(_libc.mount(b"none", b"/", None, MS_REC | MS_PRIVATE, None), "mount private")
            if hidden is not None:
                for src, tmp in reveal:
                    os.mkdir(tmp, 0o700)
                    _check(_libc.mount(src, tmp, None, MS_BIND | MS_REC, None), "bind")
                _check(_libc.mount(b"tmpfs", hidden, b"tmpfs", MS_NOSUID | MS_NODEV,
                                   b"mode=755,size=64k"), "tmpfs")
                for src, tmp in reveal:
                    os.makedirs(src, 0o755, exist_ok=True)
                    _check(_libc.mount(tmp, src, None, MS_MOVE, None), "move")
        os.setgroups([])
        os.setresgid(uid, uid, uid)
        os.setresuid(uid, uid, uid)

    return run
