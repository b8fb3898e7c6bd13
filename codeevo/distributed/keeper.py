"""The keeper: nothing a node's sandbox host started may outlive the Ray actor that owns it.

Ray kills an actor's process when its driver dies (even by ``kill -9``) or its node goes, and
kills only that process (or its direct children): a runner, a candidate that left its session,
or a container would stay behind. So the actor does not run the sandbox itself. It starts

    actor ─ pipes ─► keeper (detached, child subreaper) ─ fork ─► host (the sandbox) ─► runners

The keeper detaches (its launcher exits at once, so no one kills it as somebody's child),
becomes a child subreaper (every orphan below it is re-parented to it, whatever session it
made) and waits on a lifeline pipe whose other end only the actor holds. When that pipe
closes (the actor ended, any way) or the host exits, it asks the host to close its sandbox
(SIGTERM; the host kills its runners and containers), then kills every process still below it,
removes the host's private folder (the unpacked evaluator and assets) and exits.

Stdlib only besides the host's module; ray is never imported here.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import select
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path

PR_SET_CHILD_SUBREAPER = 36
GRACE_S = 20.0  # for the host to close its sandbox (containers, runners) after SIGTERM
_POLL_S = 0.5


def main(argv: list[str]) -> int:
    job_fd, result_fd, life_fd = (int(a) for a in argv[:3])
    if os.fork() > 0:
        os._exit(0)  # the launcher returns; the keeper is nobody's child but a reaper's
    os.setsid()
    _become_subreaper()
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # only the lifeline ends a keeper
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    private = Path(tempfile.mkdtemp(prefix="codeevo-node-"))
    host = os.fork()
    if host == 0:
        code = 1
        try:
            os.close(life_fd)
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            from codeevo.distributed.node_host import serve

            code = serve(job_fd, result_fd, private)
        except BaseException as exc:  # noqa: BLE001 - reported on stderr, then exit
            print(f"codeevo node host failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        finally:
            os._exit(code)
    os.close(job_fd)
    os.close(result_fd)
    watch(host, life_fd)
    shutdown(host)
    shutil.rmtree(private, ignore_errors=True)
    return 0


def _become_subreaper() -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        err = ctypes.get_errno()
        print(f"codeevo keeper: cannot become a subreaper: {os.strerror(err)}", file=sys.stderr)


def watch(host: int, life_fd: int) -> None:
    """Return when the lifeline closes or the host has exited; reap orphans meanwhile."""
    while True:
        ready, _, _ = select.select([life_fd], [], [], _POLL_S)
        if ready and not os.read(life_fd, 4096):
            return
        if host in reap():
            return


def reap() -> set[int]:
    """Collect every exited child (orphans re-parented here included); return their pids."""
    gone: set[int] = set()
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return gone
        if pid == 0:
            return gone
        gone.add(pid)


def shutdown(host: int) -> None:
    """Let the host close its sandbox, then kill whatever is left below the keeper."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(host, signal.SIGTERM)
    end = time.monotonic() + GRACE_S
    while time.monotonic() < end and alive(host):
        reap()
        time.sleep(0.05)
    for _ in range(200):
        below = descendants(os.getpid())
        if not below:
            break
        for pid in below:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.02)
        reap()
    reap()


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def descendants(root: int) -> list[int]:
    """Living processes below `root` (from /proc; zombies left out)."""
    parent: dict[int, int] = {}
    living: list[int] = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        parent[int(entry)] = int(fields[1])
        if fields[0] != "Z":
            living.append(int(entry))
    out = []
    for pid in living:
        p, hops = parent.get(pid), 0
        while p is not None and p > 1 and hops < 4096:
            if p == root:
                out.append(pid)
                break
            p, hops = parent.get(p), hops + 1
    return out


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
