"""The sandbox seam, and the wire protocol every sandbox speaks with its in-sandbox runner.

1. The sandbox starts ``python3 -u -I -c BOOTSTRAP`` (nothing mounted, nothing secret on argv
   or in the environment) and writes to its stdin the sizes of ``runner.py``, ``template.py``
   and ``launch.py`` on one line, the three sources, then one JSON line of worker settings
   (warm imports, uids, how many jobs). The runner starts the candidate template and answers
   ``ready {json}`` on its stdout.
2. Each job: one JSON header line (nonce, stages, config, limits, ``tar_size``) and a tar of
   ``tar_size`` bytes: ``program/<entry>``, plus ``evaluator/...`` and ``assets/...`` for the
   runner's first job (a warm runner keeps them for the next ones).
3. The runner prints ``<nonce> stage "<name>"`` as each stage starts and exactly one result
   line ``<nonce> {json}`` per job. The driver keeps stdin open while it waits: end of input
   means the driver is gone, and the runner ends itself and every candidate at once.

The driver treats anything else on the result channel (a second result, a malformed line, an
unknown line) as tampering: status ``tampered``, no score. Candidates cannot reach the channel
(docs/security.md): it is the runner's stdout, the runner is not dumpable, and candidates are
forked from a template that never held it.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import secrets
import signal
import tarfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from codeevo.candidate import EvalResult, Status
from codeevo.config import SandboxConfig, StageConfig

RUNNER_PATH = Path(__file__).with_name("runner.py")
# In-sandbox modules after the runner, in the order the runner expects them (SOURCES).
SOURCE_PATHS = (Path(__file__).with_name("template.py"), Path(__file__).with_name("launch.py"))
MAX_RESULT_LINE = 16 * 1024 * 1024

BOOTSTRAP = (
    "import sys;b=sys.stdin.buffer;s=[b.read(int(n)) for n in b.readline().split()];"
    "exec(compile(s[0],'codeevo-runner','exec'),{'__name__':'__main__','SOURCES':s[1:]})"
)


@dataclass(frozen=True)
class SandboxJob:
    """One program to score, with everything the runner needs (all plain data)."""

    program: str
    entry: str
    evaluator_dir: Path
    evaluator_module: str
    stages: tuple[StageConfig, ...]
    evaluator_config: dict[str, Any] = field(default_factory=dict)
    assets_dir: Path | None = None
    candidate_id: str = "eval"
    warm_imports: tuple[str, ...] = ()

    @property
    def deadline(self) -> float:
        """Seconds for the whole cascade (the sandbox adds its slack on top)."""
        return sum(s.timeout for s in self.stages)


@runtime_checkable
class Sandbox(Protocol):
    """Scores programs in isolation. Implementations: LocalSandbox, DockerSandbox."""

    name: str

    async def evaluate(self, job: SandboxJob) -> EvalResult:
        """Run the evaluator's cascade on `job.program`; never raises for candidate faults."""
        ...

    async def close(self) -> None:
        """Kill whatever is still running and release resources."""
        ...


def limits_header(cfg: SandboxConfig) -> dict[str, Any]:
    return {
        "memory_mb": cfg.memory_mb,
        "cpu_time_s": cfg.cpu_time_s,
        "file_size_mb": cfg.file_size_mb,
        "disk_mb": cfg.disk_mb or 8 * cfg.file_size_mb,
        "max_files": cfg.max_files,
        "max_processes": cfg.max_processes,
        "max_open_files": cfg.max_open_files,
        "output_cap_bytes": cfg.output_cap_bytes,
    }


def evaluator_key(job: SandboxJob) -> str:
    """What a warm runner is bound to: evaluator code, module, config, stages, assets and
    warm imports. A job with another key needs another runner."""
    h = hashlib.sha256()
    for path in _tree_files(job.evaluator_dir):
        h.update(path.relative_to(job.evaluator_dir).as_posix().encode() + b"\0")
        h.update(path.read_bytes())
    if job.assets_dir is not None:
        for path in _tree_files(job.assets_dir):
            st = path.stat()
            h.update(f"{path.relative_to(job.assets_dir)}:{st.st_size}:{st.st_mtime_ns}".encode())
    meta = [job.evaluator_module, job.evaluator_config, [s.model_dump() for s in job.stages],
            list(job.warm_imports), str(job.assets_dir), job.entry]
    h.update(json.dumps(meta, sort_keys=True, default=str).encode())
    return h.hexdigest()[:32]


def preamble(
    cfg: SandboxConfig, *, warm_imports: tuple[str, ...] = (), max_jobs: int = 1,
    uid: int | None = None, candidate_uids: tuple[int, int] | None = None,
    marker: str | None = None,
) -> bytes:
    """What starts a runner: both sources and its worker settings."""
    sources = [RUNNER_PATH.read_bytes(), *(p.read_bytes() for p in SOURCE_PATHS)]
    worker = {"protocol": 2, "warm_imports": list(warm_imports), "max_jobs": max_jobs,
              "uid": uid, "candidate_uids": list(candidate_uids) if candidate_uids else None,
              "limits": limits_header(cfg), "marker": marker or secrets.token_hex(8)}
    sizes = " ".join(str(len(src)) for src in sources).encode()
    return sizes + b"\n" + b"".join(sources) + json.dumps(worker).encode() + b"\n"


def job_payload(job: SandboxJob, cfg: SandboxConfig, *, with_evaluator: bool,
                key: str = "", seq: int = 0) -> tuple[bytes, str]:
    """One job's bytes and the nonce that marks its result line."""
    nonce = secrets.token_hex(16)
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        _add_bytes(tar, f"program/{job.entry}", job.program.encode())
        if with_evaluator:
            for path in _tree_files(job.evaluator_dir):
                rel = path.relative_to(job.evaluator_dir).as_posix()
                _add_bytes(tar, f"evaluator/{rel}", path.read_bytes())
            if job.assets_dir is not None:
                for path in _tree_files(job.assets_dir):
                    rel = path.relative_to(job.assets_dir).as_posix()
                    _add_bytes(tar, f"assets/{rel}", path.read_bytes())
    data = buf.getvalue()
    header = {
        "nonce": nonce,
        "job": seq,
        "candidate_id": job.candidate_id,
        "entry": job.entry,
        "evaluator_key": key,
        "evaluator_module": job.evaluator_module,
        "stages": [s.model_dump() for s in job.stages],
        "config": job.evaluator_config,
        "limits": limits_header(cfg),
        "secret": ["assets"] if job.assets_dir else [],
        "tar_size": len(data),
    }
    return json.dumps(header).encode() + b"\n" + data, nonce


def build_payload(job: SandboxJob, cfg: SandboxConfig) -> tuple[bytes, str]:
    """A one-job runner's whole input (preamble + job), and the job's nonce."""
    body, nonce = job_payload(job, cfg, with_evaluator=True, key=evaluator_key(job))
    return preamble(cfg, warm_imports=job.warm_imports) + body, nonce


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = 0o600
    tar.addfile(info, io.BytesIO(data))


def _tree_files(root: Path) -> list[Path]:
    out = []
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if "__pycache__" in rel.parts or path.is_symlink():
            continue
        if path.is_file():
            out.append(path)
    return out


# ---------------------------------------------------------------- reading the channel


class ResultStream:
    """The driver's reading of a runner's stdout: the ready line, then per job its stage lines
    and exactly one result line. Anything else marks the stream as tampered with."""

    def __init__(self) -> None:
        self.ready: dict[str, Any] | None = None
        self.nonce: bytes | None = None
        self.stage: str | None = None
        self.result_line: bytes | None = None
        self.tampered: str | None = None
        self._buf = bytearray()

    def expect(self, nonce: str) -> None:
        """A new job starts: its lines carry `nonce`."""
        self.nonce = nonce.encode()
        self.stage = None
        self.result_line = None

    def feed(self, data: bytes) -> None:
        self._buf += data
        while (nl := self._buf.find(b"\n")) >= 0:
            line = bytes(self._buf[:nl])
            del self._buf[: nl + 1]
            self._line(line)
        if len(self._buf) > MAX_RESULT_LINE:
            self._tamper(f"a line longer than {MAX_RESULT_LINE} bytes")
            self._buf.clear()

    def finish(self) -> None:
        """End of stream: an unterminated line is not a result."""
        if self._buf:
            self._tamper("an unterminated line at the end of the stream")
            self._buf.clear()

    def _tamper(self, why: str) -> None:
        if self.tampered is None:
            self.tampered = why

    def _line(self, line: bytes) -> None:
        if self.ready is None:
            if line.startswith(b"ready "):
                try:
                    self.ready = dict(json.loads(line[6:]))
                    return
                except (ValueError, TypeError):
                    pass
            self._tamper("the runner's first line is not its ready line")
            return
        nonce = self.nonce
        if nonce is not None and line.startswith(nonce + b" "):
            rest = line[len(nonce) + 1 :]
            if rest.startswith(b"stage ") and self.result_line is None:
                try:
                    self.stage = str(json.loads(rest[6:]))
                    return
                except ValueError:
                    pass
            elif rest.startswith(b"{") and self.result_line is None:
                self.result_line = rest
                return
            elif self.result_line is not None:
                self._tamper("a second line after the job's result")
                return
        self._tamper("a line that is not the runner's (no current nonce)")


@dataclass
class Outcome:
    """How one job ended, as the driver saw it."""

    stream: ResultStream
    stderr: str = ""
    timed_out: bool = False
    ended: bool = False  # the runner's stream closed
    exit_code: int | None = None  # the runner's exit status, when known (negative: signal)
    oom: bool = False  # the sandbox's memory limit killed the runner (Docker)
    deadline: float = 0.0
    memory_mb: int = 0
    startup: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)


def _how(code: int | None) -> str:
    if code is None:
        return "ended"
    if code < 0:
        try:
            return f"was killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"was killed by signal {-code}"
    if code >= 128 and code - 128 in signal.Signals._value2member_map_:
        return f"was killed by {signal.Signals(code - 128).name}"
    return f"exited with code {code}"


def outcome_result(out: Outcome) -> tuple[EvalResult, bool]:
    """The EvalResult for a job, and whether the runner may serve another one.

    One wording for both sandboxes: tampering, the deadline, the runner's end, its result."""
    s = out.stream
    logs = {"sandbox_stderr": out.stderr} if out.stderr.strip() else {}
    if s.tampered is not None:
        return EvalResult(status=Status.TAMPERED, stage=s.stage, artifacts=logs,
                          reason=f"result channel tampered with: {s.tampered}"), False
    if out.timed_out and s.result_line is None:
        return EvalResult(
            status=Status.TIMEOUT, stage=s.stage, artifacts=logs,
            reason=f"evaluation ran past its {out.deadline:g} s deadline (stage timeouts + "
            "slack); the runner was killed"), False
    if s.result_line is None:
        if out.oom:
            return EvalResult(status=Status.OOM, stage=s.stage, artifacts=logs,
                              reason=f"sandbox memory limit ({out.memory_mb} MB) hit; "
                              "the runner was killed"), False
        return EvalResult(status=Status.CRASHED, stage=s.stage, artifacts=logs,
                          reason=f"the sandbox runner {_how(out.exit_code)} without a "
                          "result"), False
    try:
        data = json.loads(s.result_line)
        if not isinstance(data, dict):
            raise ValueError("not an object")
        timings = data.pop("timings", None) or {}
        recycle = bool(data.pop("recycle", False))
        result = EvalResult.model_validate(data)
    except ValueError as exc:
        return EvalResult(status=Status.TAMPERED, stage=s.stage, artifacts=logs,
                          reason=f"result channel tampered with: malformed result line "
                          f"({str(exc)[:200]})"), False
    timings = {k: float(v) for k, v in dict(timings).items() if isinstance(v, int | float)}
    if out.startup:
        timings["startup"] = out.startup
    update: dict[str, Any] = {"timings": timings}
    if logs and result.status != Status.OK:
        update["artifacts"] = {**logs, **result.artifacts}
    return result.model_copy(update=update), not recycle


def parse_result(stdout: bytes, nonce: str) -> EvalResult | None:
    """A whole one-job stdout read strictly (tests): the result, tampered, or None when there
    is no result line."""
    stream = ResultStream()
    stream.expect(nonce)
    stream.feed(stdout)
    stream.finish()
    if stream.tampered is None and stream.result_line is None:
        return None
    return outcome_result(Outcome(stream, ended=True))[0]


THREAD_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")


def sandbox_env(home: str) -> dict[str, str]:
    """The runner's whole environment: an allow-list (no keys, no proxies). One math thread:
    there is one evaluation slot per core, and a second thread per runner only spins against
    the other runners (torch scoring measured 13x the CPU with 2 threads on 2 busy cores)."""
    return {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "LANG": "C.UTF-8", "HOME": home, "TMPDIR": home,
            "PYTHONDONTWRITEBYTECODE": "1", **{v: "1" for v in THREAD_VARS}}


def cpu_count() -> int:
    """Cores this process may run on (affinity and cgroup quota respected)."""
    try:
        n = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        n = os.cpu_count() or 1
    try:
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()[:2]
        if quota != "max":
            n = min(n, max(1, int(int(quota) / int(period))))
    except (OSError, ValueError):
        pass
    return max(1, n)
