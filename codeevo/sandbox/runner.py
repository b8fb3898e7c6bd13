"""In-sandbox runner: holds the evaluator, scores jobs, prints one result line per job.

Stdlib only, self-contained, Python 3.11: the local and the Docker sandboxes both send this
very file (and ``template.py``, ``launch.py``) through the wire protocol of
``codeevo/sandbox/base.py``; it never imports ``codeevo``. One runner serves one evaluator:
a warm runner scores many jobs (the evaluator imported and ``setup(ctx)`` run once), a fresh
one exactly one.

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
import shutil
import signal
import sys
import tarfile
import threading
import time
import traceback
import types
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

ROOTS = ("program", "evaluator", "assets")
STATUSES = ("ok", "failed", "timeout", "oom")
DEFAULT_OUTPUT_CAP = 64_000


def _load(name: str, index: int, filename: str, **given: Any) -> types.ModuleType:
    """An in-sandbox module: from the bootstrap's SOURCES, or the file beside this one."""
    sources = globals().get("SOURCES")
    src = sources[index] if sources else Path(__file__).with_name(filename).read_bytes()
    mod = types.ModuleType(name)
    mod.__dict__.update(given, __source__=src)
    sys.modules[name] = mod  # dataclasses look their module up there
    exec(compile(src, name, "exec"), mod.__dict__)
    return mod


if TYPE_CHECKING:
    from codeevo.sandbox import launch as L
    from codeevo.sandbox import template as T
else:
    T = _load("codeevo_template", 0, "template.py")
    L = _load("codeevo_launch", 1, "launch.py", T=T)
MARKER_VAR: str = T.MARKER_VAR
CandidateRun = L.CandidateRun
TemplateGone = L.TemplateGone
open_output = L.open_output


class StageTimeout(BaseException):
    """Raised in the runner when a stage runs past its timeout (not catchable as Exception)."""


class UnsafeArchive(Exception):
    """The job's tar stream holds a member that could escape the working directory."""


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
            nproc += L.own_process_count()
        rlimits.append(("RLIMIT_NPROC", nproc, nproc))
        marker = f"{self.worker.marker}-{self.job}-{self._runs}"
        env = {
            "PATH": L.CHILD_PATH, "HOME": str(run_dir), "TMPDIR": str(run_dir),
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
        self.link = L.TemplateLink({"warm_imports": cfg.get("warm_imports") or [],
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
            run = L.collect(self.link, msg, run_dir, timeout, cap, disk, files_cap, value_cap)
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
