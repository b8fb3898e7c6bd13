"""The runner's side of one candidate: the template link, one run's outputs and verdict.

Runs INSIDE the sandbox, stdlib only (sent with ``runner.py`` and ``template.py``, never
imports ``codeevo`` there). `TemplateLink` starts the template (a fresh interpreter that never
sees a job) and asks it for candidate processes; `collect` hands it the three pipes of one
candidate (stdout, stderr, value), reads them capped while they stream, enforces the deadline
and the disk quota (bytes, files, a full filesystem), and classifies how the candidate ended;
`CandidateRun` is what the evaluator gets back, with the no-follow file API for its outputs.
"""

from __future__ import annotations

import json
import os
import selectors
import signal
import socket
import stat
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING or "T" not in globals():  # in the sandbox the runner hands us `T`
    from codeevo.sandbox import template as T

CHILD_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
_DISK_CHECK_S = 0.25
_EXIT_GRACE_S = 0.5  # after the candidate's processes are gone, how long its pipes may linger
_OOM_EVENTS = ("/sys/fs/cgroup/memory.events", "/sys/fs/cgroup/memory/memory.oom_control")


class TemplateGone(BaseException):
    """The candidate template died: no further candidate can start from a clean process."""


def open_output(root: Path, name: str) -> IO[bytes]:
    """Open `name` under `root` for reading without following any symlink and without leaving
    `root`; only regular files with one link. Raises OSError (or ValueError for bad names)."""
    parts = PurePosixPath(name).parts
    if not parts or name.startswith("/") or ".." in parts:
        raise ValueError(f"{name!r}: only names inside the run folder can be read")
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC
    dfd = os.open(root, flags | os.O_DIRECTORY)
    try:
        for part in parts[:-1]:
            nfd = os.open(part, flags | os.O_DIRECTORY, dir_fd=dfd)
            os.close(dfd)
            dfd = nfd
        fd = os.open(parts[-1], flags | os.O_NONBLOCK | os.O_NOCTTY, dir_fd=dfd)
    finally:
        os.close(dfd)
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode) or st.st_nlink != 1:
        os.close(fd)
        raise OSError(f"{name}: not a regular file of the candidate's own")
    os.set_blocking(fd, True)
    return os.fdopen(fd, "rb")


@dataclass
class CandidateRun:
    """What one candidate process did."""

    status: str
    value: Any = None
    error: str = ""
    traceback: str = ""
    stdout: str = ""
    stderr: str = ""
    elapsed: float = 0.0
    returncode: int | None = None
    output_dir: Path | None = None
    cpu: float = 0.0  # CPU-seconds of the candidate's processes

    def open(self, name: str) -> IO[bytes]:
        """A file the candidate wrote in its run folder (no symlinks, no way out)."""
        if self.output_dir is None:
            raise OSError("the candidate has no run folder")
        return open_output(self.output_dir, name)

    def read_bytes(self, name: str, limit: int | None = None) -> bytes:
        with self.open(name) as f:
            return f.read() if limit is None else f.read(limit)

    def files(self) -> list[str]:
        """Regular files at the top of the run folder (symlinks and folders left out)."""
        if self.output_dir is None:
            return []
        out = []
        with os.scandir(self.output_dir) as it:
            for e in it:
                if e.is_file(follow_symlinks=False):
                    out.append(e.name)
        return sorted(out)


class _Capped:
    """Keeps the first `cap` bytes of a stream and counts the rest."""

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.head = bytearray()
        self.dropped = 0

    def add(self, chunk: bytes) -> None:
        room = self.cap - len(self.head)
        if room > 0:
            self.head += chunk[:room]
        self.dropped += max(0, len(chunk) - max(room, 0))

    def text(self) -> str:
        out = self.head.decode("utf-8", "replace")
        if self.dropped:
            out += f"\n[... {self.dropped} more bytes not kept]"
        return out



def _tree_usage(root: Path, limit: int) -> tuple[int, int]:
    """(bytes, entries) under `root`; counting stops early once bytes pass `limit`."""
    total = entries = 0
    stack = [str(root)]
    while stack and total <= limit:
        try:
            found = list(os.scandir(stack.pop()))
        except OSError:
            continue
        entries += len(found)
        for e in found:
            try:
                if e.is_dir(follow_symlinks=False):
                    stack.append(e.path)
                else:
                    total += e.stat(follow_symlinks=False).st_blocks * 512
            except OSError:
                continue
    return total, entries


def own_process_count() -> int:
    uid = os.getuid()
    count = 0
    for pid in T._pids():
        st = T._status_of(pid)
        count += st is not None and st[0] == uid
    return count


def _fs_full(path: Path) -> bool:
    try:
        st = os.statvfs(path)
    except OSError:
        return False
    return st.f_bavail == 0 or (st.f_files > 0 and st.f_favail == 0)


def _oom_kills() -> int:
    for path in _OOM_EVENTS:
        try:
            with open(path) as f:
                return int(dict(line.split() for line in f if line.strip()).get("oom_kill", 0))
        except (OSError, ValueError):
            continue
    return 0


# ---------------------------------------------------------------- the template link


class TemplateLink:
    """The runner's end of the template: start it, ask for candidates, learn how they ended."""

    def __init__(self, cfg: dict[str, Any]) -> None:
        ours, theirs = socket.socketpair()
        src = T.__dict__["__source__"]
        env = {"PATH": CHILD_PATH, "LANG": "C.UTF-8", "OMP_NUM_THREADS": "1",
               "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
               "PYTHONDONTWRITEBYTECODE": "1", "HOME": "/nonexistent"}
        boot = "import sys;exec(compile(sys.stdin.buffer.read(),'codeevo-template','exec'))"
        self.proc = subprocess.Popen(
            [sys.executable, "-I", "-c", boot, "codeevo-template", str(theirs.fileno()),
             json.dumps(cfg), " " * 512],
            pass_fds=(theirs.fileno(),), stdin=subprocess.PIPE, env=env,
        )
        assert self.proc.stdin is not None
        self.proc.stdin.write(src if isinstance(src, bytes) else src.encode())
        self.proc.stdin.close()
        theirs.close()
        self.sock = ours
        self.reader = T.MsgReader(ours)
        hello = self.reader.next()
        if not hello or not hello.get("ready"):
            raise TemplateGone("the candidate template did not start")
        self.hello: dict[str, Any] = hello

    def close(self) -> None:
        try:
            self.sock.close()
        finally:
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()


# ---------------------------------------------------------------- one candidate


@dataclass
class _Watch:
    timed_out: bool = False
    disk_full: bool = False
    exit_status: int | None = None
    killed: bool = False
    template_gone: bool = False
    cpu: float = 0.0


def collect(link: TemplateLink, msg: dict[str, Any], run_dir: Path, timeout: float,
             cap: int, disk: int, files_cap: int, value_cap: int) -> CandidateRun:
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    val_r, val_w = os.pipe()
    start = time.monotonic()
    ooms = _oom_kills()
    try:
        T.send_msg(link.sock, msg, (out_w, err_w, val_w))
    except OSError as exc:
        for fd in (out_r, out_w, err_r, err_w, val_r, val_w):
            os.close(fd)
        raise TemplateGone(f"the candidate template is gone: {exc}") from exc
    for fd in (out_w, err_w, val_w):
        os.close(fd)
    bufs = {out_r: _Capped(cap), err_r: _Capped(cap), val_r: _Capped(value_cap)}
    sel = selectors.DefaultSelector()
    for fd in bufs:
        os.set_blocking(fd, False)
        sel.register(fd, selectors.EVENT_READ, "pipe")
    sel.register(link.sock, selectors.EVENT_READ, "template")
    w = _Watch()
    deadline = start + timeout
    next_disk = start + _DISK_CHECK_S
    gone_at: float | None = None
    try:
        while True:
            now = time.monotonic()
            pipes_open = len(sel.get_map()) - (0 if gone_at is not None else 1)
            if gone_at is not None and (pipes_open == 0 or now - gone_at > _EXIT_GRACE_S):
                break
            if gone_at is None and not w.killed:
                over = now >= deadline
                if not over and now >= next_disk:
                    next_disk = now + _DISK_CHECK_S
                    used, entries = _tree_usage(run_dir, disk)
                    w.disk_full = used > disk or entries > files_cap or _fs_full(run_dir)
                if over or w.disk_full:
                    w.timed_out = over and not w.disk_full
                    w.killed = True
                    T.send_msg(link.sock, {"op": "kill"})
            wait = 0.05 if gone_at is None else max(0.0, _EXIT_GRACE_S - (now - gone_at))
            if gone_at is None and not w.killed:
                wait = min(wait, max(0.0, deadline - now))
            for key, _ in sel.select(wait):
                if key.data == "template":
                    if not link.reader.fill():
                        w.template_gone = True
                        gone_at = now
                        sel.unregister(link.sock)
                        continue
                    while (m := link.reader.pop()) is not None:
                        if "exit" in m:
                            w.exit_status = int(m["exit"])
                            w.cpu = float(m.get("cpu") or 0.0)
                            gone_at = time.monotonic()
                            sel.unregister(link.sock)
                            break
                    continue
                fd = int(key.fd)
                try:
                    chunk = os.read(fd, 1 << 16)
                except BlockingIOError:
                    continue
                if chunk:
                    bufs[fd].add(chunk)
                else:
                    sel.unregister(fd)
    finally:
        sel.close()
        for fd in bufs:
            os.close(fd)
    if w.template_gone:
        raise TemplateGone("the candidate template died while a candidate ran")
    rc: int | None = None
    if w.exit_status is not None:
        st = w.exit_status
        rc = -os.WTERMSIG(st) if os.WIFSIGNALED(st) else os.WEXITSTATUS(st)
    if not w.disk_full:
        used, entries = _tree_usage(run_dir, disk)
        w.disk_full = used > disk or entries > files_cap or _fs_full(run_dir)
    out_buf, err_buf, val_buf = bufs[out_r], bufs[err_r], bufs[val_r]
    run = CandidateRun("error", stdout=out_buf.text(), stderr=err_buf.text(),
                       elapsed=time.monotonic() - start, returncode=rc, output_dir=run_dir)
    _classify(run, val_buf, w, disk, files_cap, _oom_kills() > ooms)
    run.cpu = w.cpu
    return run


def _classify(run: CandidateRun, val: _Capped, w: _Watch, disk: int, files_cap: int,
              oom_killed: bool) -> None:
    """Fill in status/value/error from how the child ended and what it sent."""
    msg: dict[str, Any] = {}
    if val.dropped:
        msg = {"error": f"the result is larger than {val.cap} bytes", "type": "ValueError"}
    elif val.head:
        try:
            msg = json.loads(bytes(val.head))
            if not isinstance(msg, dict):
                raise ValueError("not an object")
        except ValueError:
            msg = {"error": "the candidate's result message is not valid JSON",
                   "type": "ValueError"}
    rc = run.returncode
    if w.disk_full:
        run.status = "killed"
        run.error = (f"the candidate filled its disk quota ({disk // 2**20} MB or "
                     f"{files_cap} files) and was killed")
    elif w.timed_out:
        run.status, run.error = "timeout", "the candidate ran past its deadline and was killed"
    elif "value" in msg:
        run.status, run.value = "ok", msg["value"]
    elif "error" in msg:
        run.status = "oom" if msg.get("type") == "MemoryError" else "error"
        run.error, run.traceback = str(msg["error"]), str(msg.get("traceback", ""))
    elif rc is not None and rc == -signal.SIGXCPU:
        run.status, run.error = "timeout", "the candidate used up its CPU time"
    elif oom_killed or _looks_oom(run.stderr):
        run.status, run.error = "oom", "the candidate ran out of memory"
    elif rc is not None and rc < 0:
        run.status = "killed"
        run.error = f"the candidate was killed by {signal.Signals(-rc).name}"
    else:
        run.status, run.error = "error", f"the candidate exited (code {rc}) without a result"


def _looks_oom(stderr: str) -> bool:
    return any(s in stderr for s in ("MemoryError", "Cannot allocate memory", "bad_alloc"))
