"""In-sandbox runner: unpacks the job, runs the evaluator's cascade, prints one result line.

Stdlib only, self-contained, Python 3.11: the local and the Docker sandboxes both send this very
file through the wire protocol of ``codeevo/sandbox/base.py``; it never imports ``codeevo``.

What an evaluator module gets (``evaluator/<module>.py``, imported with ``evaluator/`` on
``sys.path``): an optional ``setup(ctx)`` called once, then one ``function(ctx) -> dict`` per
cascade stage. A stage returns ``{"score": float, "metrics": {..}, "features": {..},
"artifacts": {name: text}, "status": "ok"|"failed"|"timeout"|"oom", "reason": str}`` (only
``score`` is required). The cascade stops at a non-ok status or a score below the stage's
threshold; an exception in the evaluator ends it with status ``failed`` and the traceback in
the artifacts. A stage that runs past its ``timeout`` ends with status ``timeout``.

``ctx`` attributes:

- ``ctx.config``: dict, the problem's ``evaluator.config``.
- ``ctx.stage``: name of the running stage (``"setup"`` during setup).
- ``ctx.workdir``: Path of the runner's working directory.
- ``ctx.program_path``: Path of the candidate program (do not import it in the runner).
- ``ctx.assets``: Path of the secret assets during ``setup`` (read them into ``ctx.state``);
  ``None`` afterwards: the files are deleted before any candidate process starts.
- ``ctx.state``: dict kept across setup and all stages.
- ``ctx.limits``: dict of the sandbox limits (memory_mb, cpu_time_s, file_size_mb, ...).
- ``ctx.run_candidate(function=None, args=(), kwargs=None, *, timeout=None, driver=None,
  files=None, memory_mb=None) -> CandidateRun``: runs candidate code in a separate child
  process (``python -I``) in a fresh ``workdir/run-<k>/`` holding a copy of the program and
  ``files`` (name -> bytes), with its own session, rlimits (memory, CPU, file size, processes,
  open files, no core), a scrubbed environment, stdin from /dev/null, capped stdout/stderr and a
  hard kill of its whole process group at the deadline (default: what is left of the stage).
  By default the child imports the program and returns ``function(*args, **kwargs)`` as JSON
  (numpy arrays and scalars via ``.tolist()``, tuples as lists). With ``driver`` (Python
  source) that code runs instead, with ``load_candidate()``, ``emit(value)``, ``args``,
  ``kwargs`` and ``function`` in its globals; files it writes stay in ``run.output_dir``.

``CandidateRun`` fields: ``status`` ("ok"|"error"|"timeout"|"oom"|"killed"), ``value``,
``error`` (one line), ``traceback``, ``stdout``, ``stderr`` (capped), ``elapsed``,
``returncode``, ``output_dir``.
"""

from __future__ import annotations

import ctypes
import importlib
import importlib.abc
import importlib.util
import json
import math
import os
import resource
import selectors
import shutil
import signal
import subprocess
import sys
import tarfile
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MARKER_VAR = "CODEEVO_RUN_MARKER"
ROOTS = ("program", "evaluator", "assets")
STATUSES = ("ok", "failed", "timeout", "oom")
DEFAULT_OUTPUT_CAP = 64_000
CHILD_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
_EXIT_GRACE_S = 0.2  # after the child exits, how long grandchildren may hold its pipes
_DISK_CHECK_S = 0.25

# Runs first in every candidate process: applies the limits, then imports the candidate (or
# runs the evaluator's driver) and sends the result back over a private pipe fd.
PRELUDE = r"""
import json, os, resource, sys, traceback
_fd = int(sys.argv[1]); _entry = sys.argv[2]
with open(sys.argv[3], "rb") as _f:
    _call = json.load(_f)
os.unlink(sys.argv[3])
os.set_inheritable(_fd, False)
for _name, _soft, _hard in _call["rlimits"]:
    try:
        resource.setrlimit(getattr(resource, _name), (_soft, _hard))
    except (ValueError, OSError):
        pass
_sent = False
def _plain(v, depth=0):
    if depth > 200:
        raise ValueError("value nested too deeply to send")
    if v is None or isinstance(v, (bool, int, float, str)):
        return v
    if isinstance(v, dict):
        return {str(k): _plain(x, depth + 1) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_plain(x, depth + 1) for x in v]
    tolist = getattr(v, "tolist", None)
    if callable(tolist):
        return _plain(tolist(), depth + 1)
    raise TypeError("cannot send a %s back to the evaluator" % type(v).__name__)
def _write(data):
    view = memoryview(data)
    while view:
        view = view[os.write(_fd, view):]
def emit(value):
    global _sent
    if _sent:
        raise RuntimeError("emit() called twice")
    data = json.dumps({"value": _plain(value)}).encode()
    _sent = True
    _write(data)
def load_candidate():
    import importlib.util
    spec = importlib.util.spec_from_file_location("candidate", _entry)
    mod = importlib.util.module_from_spec(spec)
    sys.modules["candidate"] = mod
    spec.loader.exec_module(mod)
    return mod
def _flush():
    for s in (sys.stdout, sys.stderr):
        try:
            s.flush()
        except BaseException:
            pass
try:
    sys.path.insert(0, os.path.dirname(os.path.abspath(_entry)))
    if _call["driver"] is None:
        _fn = getattr(load_candidate(), _call["function"], None)
        if not callable(_fn):
            raise AttributeError("the program defines no function %r" % _call["function"])
        emit(_fn(*_call["args"], **_call["kwargs"]))
    else:
        exec(compile(_call["driver"], "<driver>", "exec"), {
            "__name__": "__driver__", "load_candidate": load_candidate, "emit": emit,
            "args": _call["args"], "kwargs": _call["kwargs"], "function": _call["function"]})
except BaseException as _exc:
    if not _sent:
        try:
            if isinstance(_exc, SystemExit):
                _msg = "the program exited (code %r) without a result" % (_exc.code,)
            else:
                _msg = ("%s: %s" % (type(_exc).__name__, _exc)).splitlines()[0][:500]
            _tb = traceback.format_exc()[-8000:]
            _write(json.dumps({"error": _msg, "type": type(_exc).__name__,
                               "traceback": _tb}).encode())
        except BaseException:
            _write(b'{"error": "MemoryError", "type": "MemoryError", "traceback": ""}')
        _flush()
        os._exit(1)
_flush()
os._exit(0)
"""


class StageTimeout(BaseException):
    """Raised in the runner when a stage runs past its timeout (not catchable as Exception)."""


class UnsafeArchive(Exception):
    """The job's tar stream holds a member that could escape the working directory."""


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
    """Extract regular files and folders under `ROOTS`; refuse anything that could escape."""
    for member in tar:
        name = member.name
        parts = Path(name).parts
        if name.startswith("/") or not parts or ".." in parts or parts[0] not in ROOTS:
            raise UnsafeArchive(f"refusing tar member {name!r}")
        target = dest.joinpath(*parts)
        if member.isdir():
            target.mkdir(parents=True, exist_ok=True)
            continue
        if not member.isreg():
            raise UnsafeArchive(f"refusing tar member {name!r}: not a regular file")
        target.parent.mkdir(parents=True, exist_ok=True)
        src = tar.extractfile(member)
        assert src is not None
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
        with os.fdopen(fd, "wb") as out:
            shutil.copyfileobj(src, out)


# ---------------------------------------------------------------- processes


def processes_with_marker(marker: bytes) -> list[int]:
    """Pids whose initial environment holds `marker` (``NAME=value``), except ourselves."""
    found = []
    needle = b"\0" + marker + b"\0"
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            with open(f"/proc/{entry.name}/environ", "rb") as f:
                env = b"\0" + f.read() + b"\0"
        except OSError:
            continue
        if needle in env:
            found.append(int(entry.name))
    return found


def kill_marked(marker: bytes, rounds: int = 50) -> None:
    """Stop, then kill, every process carrying `marker` until none is left (fork bombs too)."""
    for _ in range(rounds):
        pids = processes_with_marker(marker)
        if not pids:
            return
        for sig in (signal.SIGSTOP, signal.SIGKILL):
            for pid in pids:
                try:
                    os.kill(pid, sig)
                except OSError:
                    pass
        time.sleep(0.005)


def _own_process_count() -> int:
    uid = os.getuid()
    count = 0
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/status", "rb") as f:
                for line in f:
                    if line.startswith(b"Uid:"):
                        count += int(line.split()[1]) == uid
                        break
        except (OSError, ValueError, IndexError):
            continue
    return count


def _tree_bytes(root: Path, limit: int) -> int:
    """Bytes under `root`, counting stops early once past `limit`."""
    total = 0
    stack = [str(root)]
    while stack and total <= limit:
        try:
            entries = list(os.scandir(stack.pop()))
        except OSError:
            continue
        for e in entries:
            try:
                if e.is_dir(follow_symlinks=False):
                    stack.append(e.path)
                else:
                    total += e.stat(follow_symlinks=False).st_blocks * 512
            except OSError:
                continue
    return total


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


def make_undumpable() -> None:
    """PR_SET_DUMPABLE 0: same-uid candidates can read neither our memory nor /proc/<pid>/fd."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(4, 0, 0, 0, 0)
    except (OSError, AttributeError):
        pass


def _on_alarm(signum: int, frame: Any) -> None:
    raise StageTimeout()


class FrozenSources(importlib.abc.MetaPathFinder):
    """Serves the evaluator's ``.py`` modules from a snapshot taken before any candidate ran.

    Candidates run as the runner's uid and can rewrite files in the working directory; an
    evaluator that imports a helper module lazily (after a candidate ran) still gets the
    original code.
    """

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


# ---------------------------------------------------------------- the context


class Context:
    """What an evaluator sees; see the module docstring."""

    def __init__(self, header: dict[str, Any], workdir: Path) -> None:
        self.config: dict[str, Any] = dict(header.get("config") or {})
        self.limits: dict[str, Any] = dict(header.get("limits") or {})
        self.workdir = workdir
        self.program_path = workdir / "program" / header["entry"]
        assets = workdir / "assets"
        self.assets: Path | None = assets if assets.is_dir() else None
        self.state: dict[str, Any] = {}
        self.stage = "setup"
        self.stage_deadline: float | None = None
        self._marker = str(header.get("marker") or os.urandom(8).hex())
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
        """Run candidate code in a confined child process; see the module docstring."""
        if function is None and driver is None:
            raise ValueError("run_candidate needs a function name or a driver")
        self._runs += 1
        run_dir = self.workdir / f"run-{self._runs}"
        run_dir.mkdir()
        entry = run_dir / self.program_path.name
        shutil.copyfile(self.program_path, entry)
        for name, data in (files or {}).items():
            parts = Path(name).parts
            if name.startswith("/") or not parts or ".." in parts:
                raise ValueError(f"run_candidate: file name {name!r} must stay in the run folder")
            dest = run_dir.joinpath(*parts)
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_bytes(data)
        now = time.monotonic()
        left = (self.stage_deadline - now - 0.2) if self.stage_deadline else 60.0
        timeout = max(0.05, min(timeout, left) if timeout is not None else left)
        cpu = int(self.limits.get("cpu_time_s") or 300)
        cpu = max(1, min(cpu, math.ceil(timeout) + 1))
        mem = int(memory_mb or self.limits.get("memory_mb") or 2048) * 2**20
        fsize = int(self.limits.get("file_size_mb") or 64) * 2**20
        nofile = int(self.limits.get("max_open_files") or 256)
        call = {
            "function": function,
            "args": list(args),
            "kwargs": dict(kwargs or {}),
            "driver": driver,
            "rlimits": [
                ("RLIMIT_AS", mem, mem),
                ("RLIMIT_CPU", cpu, cpu + 1),
                ("RLIMIT_FSIZE", fsize, fsize),
                ("RLIMIT_NOFILE", nofile, nofile),
                ("RLIMIT_CORE", 0, 0),
            ],
        }
        call_file = run_dir / ".codeevo-call.json"
        call_file.write_text(json.dumps(call))
        marker = f"{self._marker}-{self._runs}"
        env = {
            "PATH": CHILD_PATH,
            "HOME": str(run_dir),
            "TMPDIR": str(run_dir),
            "LANG": "C.UTF-8",
            "OMP_NUM_THREADS": "1",
            "MKL_NUM_THREADS": "1",
            "OPENBLAS_NUM_THREADS": "1",
            "PYTHONDONTWRITEBYTECODE": "1",
            MARKER_VAR: marker,
        }
        cap = int(self.limits.get("output_cap_bytes") or DEFAULT_OUTPUT_CAP)
        disk = int(self.limits.get("disk_mb") or 8 * (fsize // 2**20)) * 2**20
        return _spawn_and_collect(
            [sys.executable, "-I", "-c", PRELUDE, "", str(entry), str(call_file)],
            run_dir, env, marker, timeout, cap, disk,
            value_cap=int(self.limits.get("value_cap_bytes") or 64 * 2**20),
        )


def _spawn_and_collect(
    argv: list[str],
    run_dir: Path,
    env: dict[str, str],
    marker: str,
    timeout: float,
    cap: int,
    disk: int,
    value_cap: int,
) -> CandidateRun:
    r, w = os.pipe()
    argv[4] = str(w)
    start = time.monotonic()
    try:
        proc = subprocess.Popen(
            argv, cwd=run_dir, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, pass_fds=(w,), start_new_session=True,
        )
    except OSError as exc:
        os.close(r)
        os.close(w)
        return CandidateRun("error", error=f"could not start the candidate: {exc}",
                            output_dir=run_dir)
    os.close(w)
    assert proc.stdout is not None and proc.stderr is not None
    bufs = {proc.stdout.fileno(): _Capped(cap), proc.stderr.fileno(): _Capped(cap),
            r: _Capped(value_cap)}
    sel = selectors.DefaultSelector()
    for fd in bufs:
        os.set_blocking(fd, False)
        sel.register(fd, selectors.EVENT_READ)
    deadline = start + timeout
    timed_out = disk_full = False
    exited_at: float | None = None
    next_disk = start + _DISK_CHECK_S
    try:
        while sel.get_map():
            now = time.monotonic()
            if now >= deadline:
                timed_out = True
                break
            if proc.poll() is not None:
                exited_at = exited_at or now
                if now - exited_at > _EXIT_GRACE_S:
                    break
            if now >= next_disk:
                next_disk = now + _DISK_CHECK_S
                if _tree_bytes(run_dir, disk) > disk:
                    disk_full = True
                    break
            for key, _ in sel.select(min(deadline - now, 0.05)):
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
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except OSError:
            pass
        kill_marked(f"{MARKER_VAR}={marker}".encode())
        proc.wait()
        sel.close()
        os.close(r)
        proc.stdout.close()
        proc.stderr.close()
    elapsed = time.monotonic() - start
    out_buf, err_buf, val_buf = list(bufs.values())  # insertion order: stdout, stderr, value
    run = CandidateRun("error", stdout=out_buf.text(), stderr=err_buf.text(), elapsed=elapsed,
                       returncode=proc.returncode, output_dir=run_dir)
    _classify(run, val_buf, timed_out, disk_full, disk)
    return run


def _classify(run: CandidateRun, val: _Capped, timed_out: bool, disk_full: bool,
              disk: int) -> None:
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
            msg = {"error": "the candidate wrote an unreadable result", "type": "ValueError"}
    rc = run.returncode
    if timed_out:
        run.status, run.error = "timeout", "the candidate ran past its deadline and was killed"
    elif disk_full:
        run.status = "killed"
        run.error = f"the candidate wrote more than {disk // 2**20} MB and was killed"
    elif "value" in msg:
        run.status, run.value = "ok", msg["value"]
    elif "error" in msg:
        run.status = "oom" if msg.get("type") == "MemoryError" else "error"
        run.error, run.traceback = str(msg["error"]), str(msg.get("traceback", ""))
    elif rc is not None and rc == -signal.SIGXCPU:
        run.status, run.error = "timeout", "the candidate used up its CPU time"
    elif _looks_oom(run.stderr):
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


def run_cascade(header: dict[str, Any], workdir: Path) -> dict[str, Any]:
    """Import the evaluator, run setup and the stages; return the EvalResult as a dict."""
    cap = int((header.get("limits") or {}).get("output_cap_bytes") or DEFAULT_OUTPUT_CAP)
    result: dict[str, Any] = {"status": "ok", "score": None, "metrics": {}, "features": {},
                              "artifacts": {}, "stage": None, "reason": None, "stages": []}
    ctx = Context(header, workdir)
    stages = list(header.get("stages") or [])
    signal.signal(signal.SIGALRM, _on_alarm)

    def timed(fn: Any, seconds: float) -> Any:
        ctx.stage_deadline = time.monotonic() + seconds
        signal.setitimer(signal.ITIMER_REAL, seconds)
        try:
            return fn(ctx)
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)

    try:
        sys.path.insert(0, str(workdir / "evaluator"))
        sys.meta_path.insert(0, FrozenSources(workdir / "evaluator"))
        module = importlib.import_module(header["evaluator_module"])
        setup = getattr(module, "setup", None)
        if callable(setup):
            timed(setup, float(stages[0].get("timeout", 60)) if stages else 60.0)
    except BaseException as exc:
        _delete_secrets(header, workdir, ctx)
        return _failed(result, "setup", exc, cap)
    _delete_secrets(header, workdir, ctx)

    for stage in stages:
        name = str(stage["name"])
        ctx.stage = result["stage"] = name
        t0 = time.monotonic()
        timeout = float(stage.get("timeout", 60))
        try:
            fn = getattr(module, stage["function"])
            out = timed(fn, timeout)
        except StageTimeout:
            result["stages"].append({"name": name, "score": None,
                                     "time": time.monotonic() - t0})
            result.update(status="timeout", score=None,
                          reason=f"stage {name!r} ran past its {timeout:g} s timeout")
            break
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


# ---------------------------------------------------------------- main


def _runner_limits(header: dict[str, Any]) -> None:
    limits = header.get("limits") or {}
    total = sum(float(s.get("timeout", 60)) for s in header.get("stages") or [])
    set_limit("RLIMIT_CORE", 0)
    set_limit("RLIMIT_CPU", int(total) + 30)
    set_limit("RLIMIT_FSIZE", int(limits.get("file_size_mb") or 64) * 2**20)
    set_limit("RLIMIT_NOFILE", max(64, int(limits.get("max_open_files") or 256)))
    # Counts every process of our uid: leave room for those already running.
    set_limit("RLIMIT_NPROC", _own_process_count() + int(limits.get("max_processes") or 64))


def main() -> None:
    result_fd = os.dup(1)  # the result line goes here; evaluator prints go to stderr
    os.dup2(2, 1)
    started = time.monotonic()
    make_undumpable()
    stdin = sys.stdin.buffer
    header: dict[str, Any] = {}
    try:
        header = json.loads(stdin.readline())
        workdir = Path.cwd()
        with tarfile.open(fileobj=stdin, mode="r|") as tar:
            safe_extract(tar, workdir)
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.close(devnull)
        _runner_limits(header)
        result = run_cascade(header, workdir)
    except BaseException as exc:  # a broken job or runner bug: still answer with a line
        result = {"status": "crashed", "reason": f"runner: {type(exc).__name__}: {exc}"[:500],
                  "artifacts": {"traceback": traceback.format_exc()[-8000:]}}
    result["elapsed"] = time.monotonic() - started
    line = f"{header.get('nonce', '')} {json.dumps(result)}\n".encode()
    view = memoryview(line)
    while view:
        view = view[os.write(result_fd, view):]
    os.close(result_fd)
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
