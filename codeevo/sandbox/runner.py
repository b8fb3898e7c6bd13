"""In-sandbox runner: holds the evaluator, scores jobs, prints one result line per job.

Stdlib only, self-contained, Python 3.11: the local and the Docker sandboxes both send this very
file (and ``template.py``) through the wire protocol of ``codeevo/sandbox/base.py``; it never
imports ``codeevo``. One runner serves one evaluator: a warm runner scores many jobs (the
evaluator imported and ``setup(ctx)`` run once), a fresh one exactly one.

Start-up, before any job is read: the runner starts the candidate template (``template.py``, a
fresh interpreter that imports the problem's ``warm_imports``), then gives up root for the
worker's runner uid where it has one. Candidates are forked by the template, never by the
runner: no candidate descends from a process that held assets, evaluator state or a nonce.

What an evaluator module gets (``evaluator/<module>.py``, imported with ``evaluator/`` on
``sys.path``): an optional ``setup(ctx)`` called once per runner, then one
``function(ctx) -> dict`` per cascade stage. A stage returns ``{"score": float, "metrics":
{..}, "features": {..}, "artifacts": {name: text}, "status": "ok"|"failed"|"timeout"|"oom",
"reason": str}`` (only ``score`` is required). The cascade stops at a non-ok status or a score
below the stage's threshold; an exception in the evaluator ends it with status ``failed`` and
the traceback in the artifacts. A stage that runs past its ``timeout`` ends with ``timeout``.

``ctx`` attributes:

- ``ctx.config``: dict, the problem's ``evaluator.config``.
- ``ctx.stage``: name of the running stage (``"setup"`` during setup).
- ``ctx.workdir``: Path of the runner's working directory.
- ``ctx.program_path``: Path of the candidate program (do not import it in the runner).
- ``ctx.assets``: Path of the secret assets during ``setup`` (read them into ``ctx.state``);
  ``None`` afterwards: the files are deleted before any candidate process starts.
- ``ctx.state``: dict; each job starts with a shallow copy of what ``setup`` left in it.
- ``ctx.limits``: dict of the sandbox limits (memory_mb, cpu_time_s, file_size_mb, ...).
- ``ctx.run_candidate(function=None, args=(), kwargs=None, *, timeout=None, driver=None,
  files=None, memory_mb=None) -> CandidateRun``: runs candidate code in a confined process
  forked from the template, in a fresh run folder holding a copy of the program and ``files``
  (name -> bytes); see ``template.py`` for what confines it. By default it imports the program
  and returns ``function(*args, **kwargs)`` as JSON (numpy arrays and scalars via
  ``.tolist()``); with ``driver`` (Python source) that code runs instead, with
  ``load_candidate()``, ``emit(value)``, ``args``, ``kwargs`` and ``function`` in its globals.

``CandidateRun`` fields: ``status`` ("ok"|"error"|"timeout"|"oom"|"killed"), ``value``,
``error`` (one line), ``traceback``, ``stdout``, ``stderr`` (capped), ``elapsed``,
``returncode``, ``output_dir``. Read what the candidate wrote with ``run.open(name)`` /
``run.read_bytes(name)`` / ``run.files()``: they never follow a symlink, never leave the run
folder and refuse anything but a regular file (a candidate may plant links to host files).
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import io
import json
import math
import os
import queue
import resource
import selectors
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tarfile
import threading
import time
import traceback
import types
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO, Any

ROOTS = ("program", "evaluator", "assets")
STATUSES = ("ok", "failed", "timeout", "oom")
DEFAULT_OUTPUT_CAP = 64_000
CHILD_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
_DISK_CHECK_S = 0.25
_EXIT_GRACE_S = 0.5  # after the candidate's processes are gone, how long its pipes may linger
_OOM_EVENTS = ("/sys/fs/cgroup/memory.events", "/sys/fs/cgroup/memory/memory.oom_control")


def _template_module() -> types.ModuleType:
    """``template.py`` as a module: from the bootstrap's globals, or beside this file."""
    mod = types.ModuleType("codeevo_template")
    src = globals().get("TEMPLATE_SOURCE")
    if src is None:
        src = (Path(__file__).with_name("template.py")).read_bytes()
    mod.__dict__["__source__"] = src
    exec(compile(src, "codeevo-template", "exec"), mod.__dict__)
    return mod


T = _template_module()
MARKER_VAR: str = T.MARKER_VAR


class StageTimeout(BaseException):
    """Raised in the runner when a stage runs past its timeout (not catchable as Exception)."""


class UnsafeArchive(Exception):
    """The job's tar stream holds a member that could escape the working directory."""


class TemplateGone(BaseException):
    """The candidate template died: no further candidate can start from a clean process."""


# ---------------------------------------------------------------- candidate outputs


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


def cap_text(text: str, cap: int) -> str:
    """`text` cut to at most about `cap` bytes, saying how much was cut."""
    data = text.encode("utf-8", "replace")
    if len(data) <= cap:
        return text
    return data[:cap].decode("utf-8", "ignore") + f"\n[... {len(data) - cap} more bytes cut]"


# ---------------------------------------------------------------- unpacking


def safe_extract(tar: tarfile.TarFile, dest: Path) -> None:
    """Extract regular files and folders under `ROOTS` (owner-only modes); refuse anything that
    could escape."""
    for member in tar:
        name = member.name
        parts = Path(name).parts
        if name.startswith("/") or not parts or ".." in parts or parts[0] not in ROOTS:
            raise UnsafeArchive(f"refusing tar member {name!r}")
        target = dest.joinpath(*parts)
        if member.isdir():
            target.mkdir(mode=0o700, parents=True, exist_ok=True)
            continue
        if not member.isreg():
            raise UnsafeArchive(f"refusing tar member {name!r}: not a regular file")
        target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        src = tar.extractfile(member)
        assert src is not None
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        with os.fdopen(fd, "wb") as out:
            shutil.copyfileobj(src, out)


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


def _own_process_count() -> int:
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


def set_limit(name: str, soft: int) -> None:
    """Lower one of our own rlimits (never raises it above the hard limit)."""
    res = getattr(resource, name)
    _, hard = resource.getrlimit(res)
    if hard != resource.RLIM_INFINITY:
        soft = min(soft, hard)
    try:
        resource.setrlimit(res, (soft, hard if name != "RLIMIT_CORE" else 0))
    except (ValueError, OSError):
        pass


class FrozenSources(importlib.abc.MetaPathFinder):
    """Serves the evaluator's ``.py`` modules from a snapshot taken before any candidate ran,
    so an evaluator that imports a helper lazily still gets the original code."""

    def __init__(self, root: Path) -> None:
        self.sources: dict[str, tuple[Path, bytes, bool]] = {}
        for path in sorted(root.rglob("*.py")):
            parts = path.relative_to(root).with_suffix("").parts
            is_pkg = parts[-1] == "__init__"
            if is_pkg:
                parts = parts[:-1]
            if parts:
                self.sources[".".join(parts)] = (path, path.read_bytes(), is_pkg)

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> Any:
        hit = self.sources.get(name)
        if hit is None:
            return None
        file, source, is_pkg = hit
        spec = importlib.util.spec_from_loader(
            name, _SnapshotLoader(file, source), origin=str(file), is_package=is_pkg
        )
        if spec is not None:
            spec.has_location = True
            if is_pkg:
                spec.submodule_search_locations = [str(file.parent)]
        return spec


class _SnapshotLoader(importlib.abc.Loader):
    def __init__(self, file: Path, source: bytes) -> None:
        self.file = file
        self.source = source

    def create_module(self, spec: Any) -> None:
        return None

    def exec_module(self, module: Any) -> None:
        module.__file__ = str(self.file)
        exec(compile(self.source, str(self.file), "exec"), module.__dict__)


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


# ---------------------------------------------------------------- the context


class Context:
    """What an evaluator sees; see the module docstring."""

    def __init__(self, worker: Worker, header: dict[str, Any]) -> None:
        self.worker = worker
        self.config: dict[str, Any] = dict(header.get("config") or {})
        self.limits: dict[str, Any] = dict(header.get("limits") or {})
        self.workdir = worker.workdir
        self.program_path = worker.workdir / "program" / header["entry"]
        assets = worker.workdir / "assets"
        self.assets: Path | None = assets if assets.is_dir() else None
        self.state: dict[str, Any] = {}
        self.stage = "setup"
        self.stage_deadline: float | None = None
        self.job = str(header.get("job", "0"))
        self._runs = 0

    def run_candidate(
        self,
        function: str | None = None,
        args: tuple[Any, ...] | list[Any] = (),
        kwargs: dict[str, Any] | None = None,
        *,
        timeout: float | None = None,
        driver: str | None = None,
        files: dict[str, bytes] | None = None,
        memory_mb: int | None = None,
    ) -> CandidateRun:
        """Run candidate code in a confined process; see the module docstring."""
        if function is None and driver is None:
            raise ValueError("run_candidate needs a function name or a driver")
        self._runs += 1
        run_dir = self.workdir / "runs" / f"{self.job}-{self._runs}"
        run_dir.mkdir()
        run_dir.chmod(0o1777)  # the candidate's uid writes here; sticky: our inputs stay ours
        entry = run_dir / self.program_path.name
        shutil.copyfile(self.program_path, entry)
        entry.chmod(0o644)
        for name, data in (files or {}).items():
            parts = Path(name).parts
            if name.startswith("/") or not parts or ".." in parts:
                raise ValueError(f"run_candidate: file name {name!r} must stay in the run folder")
            dest = run_dir.joinpath(*parts)
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_bytes(data)
            dest.chmod(0o644)
        now = time.monotonic()
        left = (self.stage_deadline - now - 0.2) if self.stage_deadline else 60.0
        timeout = max(0.05, min(timeout, left) if timeout is not None else left)
        cpu = int(self.limits.get("cpu_time_s") or 300)
        cpu = max(1, min(cpu, math.ceil(timeout) + 1))
        mem = int(memory_mb or self.limits.get("memory_mb") or 2048) * 2**20
        fsize = int(self.limits.get("file_size_mb") or 64) * 2**20
        nofile = int(self.limits.get("max_open_files") or 256)
        rlimits = [("RLIMIT_AS", mem, mem), ("RLIMIT_CPU", cpu, cpu + 1),
                   ("RLIMIT_FSIZE", fsize, fsize), ("RLIMIT_NOFILE", nofile, nofile),
                   ("RLIMIT_CORE", 0, 0)]
        uid = self.worker.next_candidate_uid()
        nproc = int(self.limits.get("max_processes") or 64)
        if uid is None:  # NPROC counts every process of the uid: leave room for ours
            nproc += _own_process_count()
        rlimits.append(("RLIMIT_NPROC", nproc, nproc))
        marker = f"{self.worker.marker}-{self.job}-{self._runs}"
        env = {
            "PATH": CHILD_PATH, "HOME": str(run_dir), "TMPDIR": str(run_dir),
            "LANG": "C.UTF-8", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
            "OPENBLAS_NUM_THREADS": "1", "PYTHONDONTWRITEBYTECODE": "1", MARKER_VAR: marker,
        }
        msg = {"op": "spawn", "run_dir": str(run_dir), "entry": str(entry), "uid": uid,
               "env": env, "rlimits": rlimits,
               "call": {"function": function, "args": list(args),
                        "kwargs": dict(kwargs or {}), "driver": driver}}
        cap = int(self.limits.get("output_cap_bytes") or DEFAULT_OUTPUT_CAP)
        disk = int(self.limits.get("disk_mb") or 8 * (fsize // 2**20)) * 2**20
        files_cap = int(self.limits.get("max_files") or 10_000)
        value_cap = int(self.limits.get("value_cap_bytes") or 64 * 2**20)
        return self.worker.spawn(msg, run_dir, timeout, cap, disk, files_cap, value_cap)


# ---------------------------------------------------------------- one candidate


@dataclass
class _Watch:
    timed_out: bool = False
    disk_full: bool = False
    exit_status: int | None = None
    killed: bool = False
    template_gone: bool = False
    cpu: float = 0.0


def _collect(link: TemplateLink, msg: dict[str, Any], run_dir: Path, timeout: float,
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


# ---------------------------------------------------------------- the cascade


def _coerce(section: Any, what: str, notes: dict[str, str]) -> dict[str, float]:
    out: dict[str, float] = {}
    if not isinstance(section, dict):
        if section is not None:
            notes[f"{what}_dropped"] = f"{what} must be a dict, got {type(section).__name__}"
        return out
    for key, value in section.items():
        if isinstance(value, bool | int | float) and math.isfinite(float(value)):
            out[str(key)] = float(value)
        else:
            notes[f"{what}:{key}"] = repr(value)
    return out


def _on_alarm(signum: int, frame: Any) -> None:
    # Only our own timer counts: a candidate sending SIGALRM early changes nothing.
    if _STAGE_DEADLINE[0] is not None and time.monotonic() >= _STAGE_DEADLINE[0] - 0.01:
        raise StageTimeout()


_STAGE_DEADLINE: list[float | None] = [None]


def _timed(ctx: Context, fn: Any, seconds: float) -> Any:
    ctx.stage_deadline = _STAGE_DEADLINE[0] = time.monotonic() + seconds
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        return fn(ctx)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        _STAGE_DEADLINE[0] = None


def run_stages(module: Any, ctx: Context, header: dict[str, Any],
               progress: Any) -> dict[str, Any]:
    """Run the cascade stages of one job; return the EvalResult as a dict."""
    cap = int((header.get("limits") or {}).get("output_cap_bytes") or DEFAULT_OUTPUT_CAP)
    result: dict[str, Any] = {"status": "ok", "score": None, "metrics": {}, "features": {},
                              "artifacts": {}, "stage": None, "reason": None, "stages": []}
    for stage in header.get("stages") or []:
        name = str(stage["name"])
        ctx.stage = result["stage"] = name
        progress(name)
        t0 = time.monotonic()
        timeout = float(stage.get("timeout", 60))
        try:
            out = _timed(ctx, getattr(module, stage["function"]), timeout)
        except StageTimeout:
            result["stages"].append({"name": name, "score": None,
                                     "time": time.monotonic() - t0})
            result.update(status="timeout", score=None,
                          reason=f"stage {name!r} ran past its {timeout:g} s timeout")
            break
        except TemplateGone:
            raise
        except BaseException as exc:
            result["stages"].append({"name": name, "score": None,
                                     "time": time.monotonic() - t0})
            return _failed(result, name, exc, cap)
        if not isinstance(out, dict):
            out = {"status": "failed", "score": None,
                   "reason": f"stage {name!r} returned {type(out).__name__}, not a dict"}
        score = out.get("score")
        status = str(out.get("status") or "ok")
        if status not in STATUSES:
            status, out["reason"] = "failed", f"stage {name!r} reported unknown status {status!r}"
        if score is not None:
            if isinstance(score, bool | int | float) and math.isfinite(float(score)):
                score = float(score)
            else:
                status, score = "failed", None
                out["reason"] = f"stage {name!r} returned a score that is not a finite number"
        elif status == "ok":
            status, out["reason"] = "failed", f"stage {name!r} returned no score"
        notes: dict[str, str] = {}
        result["metrics"].update(_coerce(out.get("metrics"), "metrics", notes))
        result["features"].update(_coerce(out.get("features"), "features", notes))
        arts = out.get("artifacts") or {}
        for key, text in {**(arts if isinstance(arts, dict) else {}), **notes}.items():
            result["artifacts"][str(key)] = cap_text(str(text), cap)
        result["stages"].append({"name": name, "score": score, "time": time.monotonic() - t0})
        result["score"] = score
        if status != "ok":
            result["status"] = status
            result["reason"] = str(out.get("reason") or f"stage {name!r} reported {status}")
            break
        threshold = stage.get("threshold")
        if threshold is not None and score is not None and score < float(threshold):
            why = (f"stage {name!r} scored {score:g}, below its threshold "
                   f"{float(threshold):g}")
            result["reason"] = f"{out['reason']} ({why})" if out.get("reason") else why
            break
        if out.get("reason"):
            result["reason"] = str(out["reason"])
    for key in result["artifacts"]:
        result["artifacts"][key] = cap_text(result["artifacts"][key], cap)
    return result


def _failed(result: dict[str, Any], stage: str, exc: BaseException, cap: int) -> dict[str, Any]:
    if isinstance(exc, StageTimeout):
        result.update(status="timeout", stage=stage, score=None,
                      reason=f"{stage} ran past its timeout")
        return result
    line = (f"{type(exc).__name__}: {exc}".splitlines() or [""])[0][:500]
    result.update(status="failed", stage=stage, score=None,
                  reason=f"evaluator raised in {stage}: {line}")
    tb = "".join(traceback.format_exception(exc))
    result["artifacts"]["traceback"] = cap_text(tb, cap)
    return result


# ---------------------------------------------------------------- the worker


class Worker:
    """One runner: the template link, the loaded evaluator, the result channel."""

    def __init__(self, cfg: dict[str, Any], result_fd: int) -> None:
        self.cfg = cfg
        self.result_fd = result_fd
        self.workdir = Path.cwd()
        self.marker = str(cfg.get("marker") or os.urandom(8).hex())
        self.key: str | None = None
        self.module: Any = None
        self.setup_state: dict[str, Any] = {}
        self.setup_error: dict[str, Any] | None = None
        self.recycle = False
        self.candidate_cpu = 0.0
        self.stage: str | None = None
        uids = cfg.get("candidate_uids")
        self._uids = (int(uids[0]), int(uids[1])) if uids and os.geteuid() == 0 else None
        self._next_uid = 0
        sweep = "uid" if self._uids else ("namespace" if os.getpid() == 1 else "marker")
        self.link = TemplateLink({"warm_imports": cfg.get("warm_imports") or [],
                                  "sweep": sweep})
        self.sweep = sweep

    def next_candidate_uid(self) -> int | None:
        if self._uids is None:
            return None
        base, span = self._uids
        self._next_uid += 1
        return base + (self._next_uid % span)

    def spawn(self, msg: dict[str, Any], run_dir: Path, timeout: float, cap: int, disk: int,
              files_cap: int, value_cap: int) -> CandidateRun:
        try:
            run = _collect(self.link, msg, run_dir, timeout, cap, disk, files_cap, value_cap)
        except TemplateGone:
            self.recycle = True
            raise
        self.candidate_cpu += run.cpu
        if run.status in ("timeout", "oom", "killed"):
            self.recycle = True  # the driver retires this runner after the job
        return run

    def write(self, line: bytes) -> None:
        view = memoryview(line)
        while view:
            view = view[os.write(self.result_fd, view):]

    def load(self, header: dict[str, Any], ctx: Context) -> dict[str, Any] | None:
        """Import the evaluator and run setup (first job only). A failure is kept and
        repeated for every later job of this runner."""
        cap = int((header.get("limits") or {}).get("output_cap_bytes") or DEFAULT_OUTPUT_CAP)
        stages = list(header.get("stages") or [])
        try:
            sys.path.insert(0, str(self.workdir / "evaluator"))
            sys.meta_path.insert(0, FrozenSources(self.workdir / "evaluator"))
            self.module = importlib.import_module(header["evaluator_module"])
            setup = getattr(self.module, "setup", None)
            if callable(setup):
                _timed(ctx, setup, float(stages[0].get("timeout", 60)) if stages else 60.0)
        except BaseException as exc:
            base: dict[str, Any] = {"status": "ok", "score": None, "metrics": {}, "features": {},
                    "artifacts": {}, "stage": None, "reason": None, "stages": []}
            self.setup_error = _failed(base, "setup", exc, cap)
        finally:
            _delete_secrets(header, self.workdir, ctx)
        self.setup_state = dict(ctx.state)
        return self.setup_error

    def job(self, header: dict[str, Any], tar_bytes: bytes) -> dict[str, Any]:
        t0, c0 = time.monotonic(), time.process_time()
        self.candidate_cpu = 0.0
        nonce = str(header["nonce"])
        timings: dict[str, float] = {}
        program = self.workdir / "program"
        if program.exists():
            shutil.rmtree(program)
        (self.workdir / "runs").mkdir(mode=0o711, exist_ok=True)
        with tarfile.open(fileobj=io.BytesIO(tar_bytes), mode="r:") as tar:
            safe_extract(tar, self.workdir)
        ctx = Context(self, header)
        key = str(header.get("evaluator_key") or "")
        if self.key is None:
            self.key = key
            t1 = time.monotonic()
            self.load(header, ctx)
            timings["setup"] = time.monotonic() - t1
        elif key != self.key:
            return {"status": "crashed", "stage": "setup",
                    "reason": "runner: this runner holds another evaluator (driver bug)"}
        if self.setup_error is not None:
            return dict(self.setup_error, timings=timings)
        ctx.state = dict(self.setup_state)
        ctx.assets = None

        def progress(stage: str) -> None:
            self.stage = stage
            self.write(f"{nonce} stage {json.dumps(stage)}\n".encode())

        t2 = time.monotonic()
        try:
            result = run_stages(self.module, ctx, header, progress)
        finally:
            shutil.rmtree(self.workdir / "runs", ignore_errors=True)
        timings["score"] = time.monotonic() - t2
        timings["runner"] = time.monotonic() - t0
        # CPU-seconds inside the sandbox: the runner's own, and its candidates' processes.
        timings["cpu"] = time.process_time() - c0 + self.candidate_cpu
        result["timings"] = timings
        return result


def _delete_secrets(header: dict[str, Any], workdir: Path, ctx: Context) -> None:
    """Remove the secret paths before any candidate process can start."""
    for rel in header.get("secret") or []:
        target = (workdir / rel).resolve()
        if workdir.resolve() not in target.parents:
            continue
        if target.is_dir() and not target.is_symlink():
            shutil.rmtree(target, ignore_errors=True)
        elif target.exists() or target.is_symlink():
            target.unlink()
    ctx.assets = None


def _read_jobs(stdin: IO[bytes], jobs: queue.Queue[tuple[dict[str, Any], bytes] | None],
               on_eof: Any) -> None:
    """Reader thread: queue each job; at end of input (the driver closed it, or died) end
    the runner at once: its candidates die with the template's socket."""
    try:
        while True:
            line = stdin.readline()
            if not line:
                break
            header = json.loads(line)
            size = int(header.get("tar_size") or 0)
            data = stdin.read(size) if size else b""
            if len(data) < size:
                break
            jobs.put((header, data))
    except Exception:  # a broken stream is the same as a closed one
        pass
    jobs.put(None)
    on_eof()


def main() -> None:
    result_fd = os.dup(1)  # result lines go here; evaluator prints go to stderr
    os.dup2(2, 1)
    os.set_inheritable(result_fd, False)
    T.make_undumpable()
    T.prctl(T.PR_SET_NO_NEW_PRIVS, 1)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # as pid 1 only handled signals arrive
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    os.environ.pop("PWD", None)  # bubblewrap's --chdir sets it; the allow-list does not have it
    stdin = sys.stdin.buffer
    worker_cfg = json.loads(stdin.readline() or b"{}")
    ready: dict[str, Any] = {"protocol": 2, "pid": os.getpid()}
    try:
        worker = Worker(worker_cfg, result_fd)
        ready.update(imported=worker.link.hello.get("imported"),
                     failed=worker.link.hello.get("failed"), sweep=worker.sweep)
        uid = worker_cfg.get("uid")
        if uid is not None and os.geteuid() == 0:  # the template keeps root; we do not
            os.setgroups([])
            os.setresgid(int(uid), int(uid), int(uid))
            os.setresuid(int(uid), int(uid), int(uid))
            T.make_undumpable()  # a uid change resets the flag
            # ...and the parent-death signal: bubblewrap's --die-with-parent must still hold.
            T.prctl(T.PR_SET_PDEATHSIG, signal.SIGKILL)
            # Candidates (other uids) pass through to their run folders; Docker gives /work
            # the image folder's mode (0700) whatever the tmpfs options say.
            os.chmod(".", 0o711)
    except BaseException as exc:
        os.write(result_fd, f"ready {json.dumps({'error': repr(exc)[:500]})}\n".encode())
        os._exit(1)
    os.write(result_fd, f"ready {json.dumps(ready)}\n".encode())
    signal.signal(signal.SIGALRM, _on_alarm)
    limits = worker_cfg.get("limits") or {}
    set_limit("RLIMIT_CORE", 0)
    set_limit("RLIMIT_FSIZE", int(limits.get("file_size_mb") or 64) * 2**20)
    set_limit("RLIMIT_NOFILE", max(64, int(limits.get("max_open_files") or 256)))
    jobs: queue.Queue[tuple[dict[str, Any], bytes] | None] = queue.Queue()

    def on_eof() -> None:
        # The driver is gone (or closed us): the template's socket closes with us, and the
        # template kills the running candidate; pid 1 takes the namespace with it.
        os._exit(0)

    threading.Thread(target=_read_jobs, args=(stdin, jobs, on_eof), daemon=True).start()
    max_jobs = int(worker_cfg.get("max_jobs") or 1)
    for _ in range(max_jobs):
        item = jobs.get()
        if item is None:
            break
        header, data = item
        t0 = time.monotonic()
        try:
            result = worker.job(header, data)
        except TemplateGone as exc:
            worker.recycle = True
            result = {"status": "crashed", "stage": worker.stage,
                      "reason": f"sandbox: {exc}"}
        except BaseException as exc:  # a broken job or runner bug: still answer with a line
            worker.recycle = True
            result = {"status": "crashed", "reason": f"runner: {type(exc).__name__}: {exc}"[:500],
                      "artifacts": {"traceback": traceback.format_exc()[-8000:]}}
        result["elapsed"] = time.monotonic() - t0
        result["recycle"] = worker.recycle
        worker.write(f"{header.get('nonce', '')} {json.dumps(result)}\n".encode())
        if worker.recycle:
            break
    worker.link.close()
    os._exit(0)


if __name__ == "__main__":
    main()
