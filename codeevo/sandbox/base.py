"""The sandbox seam: what every sandbox (local process, Docker CPU/GPU) takes and returns.

Wire protocol, identical for every sandbox, so the same in-sandbox runner runs everywhere:

1. The sandbox starts ``python3 -u -I -c BOOTSTRAP`` (nothing mounted, nothing on argv or in
   the environment that a candidate could use) and writes to its stdin:
   ``<len>\\n<runner source>`` then one JSON header line, then an uncompressed tar stream with
   ``program/<entry>``, ``evaluator/...`` and, when the problem has them, ``assets/...``.
2. The runner (``codeevo/sandbox/runner.py``, stdlib only) unpacks the tar into its working
   directory, imports the evaluator, calls its optional ``setup(ctx)``, deletes the secret
   paths (``assets/``) so no candidate process can read them, and runs the cascade stages.
   Candidate code only ever runs in child processes started by the runner (``ctx.run_candidate``).
3. The runner prints exactly one result line ``<nonce> <json>`` to its stdout. The nonce came
   in the header on stdin; a candidate never sees it, so it cannot forge a result line.
"""

from __future__ import annotations

import io
import json
import secrets
import tarfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from codeevo.candidate import EvalResult, Status
from codeevo.config import SandboxConfig, StageConfig

RUNNER_PATH = Path(__file__).with_name("runner.py")

BOOTSTRAP = (
    "import sys;b=sys.stdin.buffer;n=int(b.readline());"
    "exec(compile(b.read(n),'codeevo-runner','exec'),{'__name__':'__main__'})"
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
        "max_processes": cfg.max_processes,
        "max_open_files": cfg.max_open_files,
        "output_cap_bytes": cfg.output_cap_bytes,
    }


def build_payload(
    job: SandboxJob, cfg: SandboxConfig, extra: dict[str, Any] | None = None
) -> tuple[bytes, str]:
    """The bytes to write to the runner's stdin, and the nonce that marks its result line."""
    nonce = secrets.token_hex(16)
    header = {
        "protocol": 1,
        "nonce": nonce,
        "candidate_id": job.candidate_id,
        "entry": job.entry,
        "evaluator_module": job.evaluator_module,
        "stages": [s.model_dump() for s in job.stages],
        "config": job.evaluator_config,
        "limits": limits_header(cfg),
        "secret": ["assets"] if job.assets_dir else [],
        **(extra or {}),
    }
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        _add_bytes(tar, f"program/{job.entry}", job.program.encode())
        _add_tree(tar, job.evaluator_dir, "evaluator")
        if job.assets_dir is not None:
            _add_tree(tar, job.assets_dir, "assets")
    runner = RUNNER_PATH.read_bytes()
    payload = b"%d\n" % len(runner) + runner + json.dumps(header).encode() + b"\n" + buf.getvalue()
    return payload, nonce


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = 0o644
    tar.addfile(info, io.BytesIO(data))


def _add_tree(tar: tarfile.TarFile, root: Path, arcname: str) -> None:
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if "__pycache__" in rel.parts or path.is_symlink():
            continue
        if path.is_file():
            _add_bytes(tar, f"{arcname}/{rel.as_posix()}", path.read_bytes())


def parse_result(stdout: bytes, nonce: str) -> EvalResult | None:
    """The runner's result line, or None when the runner died before writing one."""
    marker = nonce.encode() + b" "
    for line in reversed(stdout.splitlines()):
        if line.startswith(marker):
            try:
                data = json.loads(line[len(marker) :])
                return EvalResult.model_validate(data)
            except ValueError as exc:
                return EvalResult(
                    status=Status.CRASHED, reason=f"unreadable runner result: {exc}"[:500]
                )
    return None
