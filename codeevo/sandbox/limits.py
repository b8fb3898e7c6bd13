"""How the local sandbox confines its runners on a Linux host (strongest that works first).

1. **bubblewrap** (``bwrap``, Debian package ``bubblewrap``): each runner gets a minimal
   read-only root (``/usr``, the ``/lib*`` links, the interpreter's prefix, a few ``/etc`` files
   the dynamic loader reads), a fresh ``/proc`` of its own pid namespace (the runner is pid 1:
   candidates can neither signal it nor see host processes), no network, a private ``/tmp``,
   and its working folder at ``/work``. As root the runner also gets its **own unprivileged
   uid** and each candidate a fresh one (no passwd entry, no groups) from a block reserved
   for the runner: RLIMIT_NPROC then counts only that candidate's processes, and what it
   leaves is found by uid. ``--die-with-parent``: a driver killed with SIGKILL takes its
   runners with it. Without root, bubblewrap uses a user namespace: same filesystem, network
   and pid isolation, one uid for runner and candidates.
2. Root without bubblewrap: fresh uids as above plus private mount, network and IPC namespaces
   set up here (the interpreter's prefix re-exposed through a tmpfs when it sits under a
   folder other users cannot enter, e.g. ``/root/.pyenv``); world-readable host files stay
   visible.
3. Neither: the runner keeps the driver's uid and candidates are found by an environment
   marker (see docs/security.md). ``codeevo run`` says which one it got in its first lines.
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
    """How to start one runner.

    Attributes:
        drop: root only: the runner and its candidates get fresh unprivileged uids.
        namespaces: private mount + network + IPC namespaces set up by `preexec`.
        hidden: the folder that other users cannot enter above the interpreter, or None.
        reveal: interpreter folders under `hidden` to bind back in, inside the namespace.
        bwrap: path of the bubblewrap executable, when runners start inside it.
    """

    drop: bool
    namespaces: bool
    hidden: Path | None = None
    reveal: tuple[Path, ...] = ()
    bwrap: str | None = None

    def describe(self) -> str:
        """One line for the run's first lines: what candidates are confined by."""
        if self.bwrap:
            who = "fresh uid per candidate" if self.drop else "one uid (user namespace)"
            return (f"bubblewrap: minimal read-only filesystem, own pid + network namespace, "
                    f"{who}")
        if self.drop:
            return ("fresh uids + namespaces, but no bubblewrap: candidates can read "
                    "world-readable host files (apt install bubblewrap)")
        return ("UNCONFINED: candidates run as the driver's user and see its files, network "
                "and processes (run as root, install bubblewrap, or use --sandbox docker)")


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

    Without root: bubblewrap in a user namespace, else nothing. With root: bubblewrap with fresh
    uids; a fresh uid plus namespaces; then a fresh uid alone, unless the interpreter sits under
    a folder the fresh uid cannot enter (that case needs the mount namespace to re-expose it).
    """
    bwrap = shutil.which("bwrap")
    if os.geteuid() != 0:
        return ([Confinement(drop=False, namespaces=False, bwrap=bwrap)] if bwrap else []) + [
            NO_CONFINEMENT]
    dirs = interpreter_dirs()
    hidden = {b for b in (blocked_ancestor(d) for d in dirs) if b is not None}
    if len(hidden) > 1:
        return [NO_CONFINEMENT]
    top = next(iter(hidden), None)
    # Re-expose only the outermost folders: a nested one would be bound twice.
    inside = [d for d in dirs if top is not None and (d == top or top in d.parents)]
    reveal = tuple(d for d in inside if not any(o in d.parents for o in inside))
    options = [Confinement(drop=True, namespaces=False, bwrap=bwrap)] if bwrap else []
    options.append(Confinement(drop=True, namespaces=True, hidden=top, reveal=reveal))
    if top is None:
        options.append(Confinement(drop=True, namespaces=False))
    options.append(NO_CONFINEMENT)
    return options


BLOCK_SPAN = 256  # candidate uids per runner; one is reused only after its sweep


def acquire_uid_block() -> tuple[int, int]:
    """(first uid, span): a block of uids no process uses now; the runner takes the first,
    its candidates the others. Reserved until `release_uid_block`."""
    running = uids_running()
    for _ in range(1000):
        base = UID_BASE + BLOCK_SPAN * random.randrange(UID_SPAN // BLOCK_SPAN)
        if base in _uids_in_use or any(base <= u < base + BLOCK_SPAN for u in running):
            continue
        _uids_in_use.add(base)
        return base, BLOCK_SPAN
    raise RuntimeError("no free block of sandbox uids found")


def release_uid_block(base: int) -> None:
    _uids_in_use.discard(base)


def kill_uid_block(base: int, span: int = BLOCK_SPAN) -> int:
    """Stop, then kill, every process whose uid lies in the block."""
    me = os.getpid()
    killed = 0
    for _ in range(100):
        pids = [p for p in _pids() if p != me and base <= (_real_uid(p) or -1) < base + span]
        if not pids:
            break
        _stop_then_kill(pids)
        killed += len(pids)
        time.sleep(0.002)
    return killed



def _stop_then_kill(pids: list[int]) -> None:
    """SIGSTOP all first (none can fork or signal while the others die), then SIGKILL."""
    for sig in (signal.SIGSTOP, signal.SIGKILL):
        for pid in pids:
            try:
                os.kill(pid, sig)
            except OSError:
                pass

def remove_files_of_block(base: int, span: int = BLOCK_SPAN) -> None:
    """Delete what the block's uids left at the top of the world-writable scratch folders."""
    for d in SCRATCH_DIRS:
        try:
            entries = list(os.scandir(d))
        except OSError:
            continue
        for e in entries:
            try:
                if not base <= e.stat(follow_symlinks=False).st_uid < base + span:
                    continue
                if e.is_dir(follow_symlinks=False):
                    shutil.rmtree(e.path, ignore_errors=True)
                else:
                    os.unlink(e.path)
            except OSError:
                continue


_ETC = ("/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/localtime",
        "/etc/alternatives")
_TOP = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")


def bwrap_argv(conf: Confinement, workdir: Path, tmp_mb: int) -> list[str]:
    """bubblewrap's command line for one runner: the minimal filesystem and namespaces."""
    assert conf.bwrap is not None
    args = [conf.bwrap, "--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts",
            "--unshare-cgroup-try", "--die-with-parent", "--as-pid-1", "--new-session"]
    if os.geteuid() == 0:
        args += ["--cap-drop", "ALL", "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID",
                 "--cap-add", "CAP_KILL"]
    else:
        args += ["--unshare-user"]
    for top in _TOP:
        p = Path(top)
        if p.is_symlink():
            args += ["--symlink", os.readlink(p), top]
        elif p.is_dir():
            args += ["--ro-bind", top, top]
    for extra in _ETC:
        if os.path.exists(extra):
            args += ["--ro-bind", extra, extra]
    args += ["--proc", "/proc", "--dev", "/dev", "--size", str(tmp_mb * 2**20), "--perms",
             "1777", "--tmpfs", "/tmp", "--perms", "1777", "--dir", "/var/tmp"]
    # After the private /tmp: an interpreter that lives under /tmp (a virtualenv made there)
    # is bound into it, instead of being hidden by it (the runner would not start, and the
    # sandbox would fall back to a weaker confinement that shows the host's files).
    made: set[Path] = {Path("/tmp"), Path("/var"), Path("/var/tmp")}
    for d in interpreter_dirs():
        if not any(d == Path(t) or Path(t) in d.parents for t in _TOP):
            # Parents are made traversable (bwrap would copy the host's 0700 of /root).
            for parent in reversed(d.parents):
                if parent != Path("/") and parent not in made:
                    made.add(parent)
                    args += ["--perms", "0755", "--dir", str(parent)]
            args += ["--ro-bind", str(d), str(d)]
    args += ["--bind", str(workdir), "/work", "--chdir", "/work",
             "--setenv", "HOME", "/work", "--setenv", "TMPDIR", "/work"]
    return args


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
        _stop_then_kill(pids)
        killed += len(pids)
        time.sleep(0.002)
    return killed


def preexec(conf: Confinement, stage: Path) -> Callable[[], None] | None:
    """The function Popen runs in the child before exec (None when there is nothing to do).

    Runs as root in the forked child: new namespaces and the interpreter re-exposed. The uid
    drop happens in the runner, after it started the candidate template.
    """
    if not conf.namespaces or conf.bwrap:
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

    return run
