"""LocalSandbox: the in-sandbox runner as a confined child process on this machine.

Each evaluation gets a fresh temporary folder (removed afterwards, also on cancel), a scrubbed
environment built from an allow-list (no API keys, no proxies), its own session and process
group, the runner's own rlimits (set by the runner from the job header), and, when the driver
runs as root, a fresh unprivileged uid plus private namespaces (see `codeevo.sandbox.limits`).
At the deadline (the cascade's stage timeouts plus `timeout_slack_s`) the whole group is killed
and every process left of the evaluation is swept.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import shutil
import signal
import stat
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from codeevo.candidate import EvalResult, Status
from codeevo.config import SandboxConfig
from codeevo.sandbox import limits
from codeevo.sandbox.base import BOOTSTRAP, SandboxJob, build_payload, limits_header, parse_result
from codeevo.sandbox.limits import Confinement

log = logging.getLogger(__name__)

STDOUT_CAP = 32 * 2**20  # the result line; the runner caps every artifact inside it
STDERR_KEEP = 16_000  # head and tail of the runner's stderr each
_MARKER_VAR = "CODEEVO_RUN_MARKER"  # set by the runner on every candidate process
_probed: dict[bool, Confinement] = {}


@dataclass
class _Live:
    proc: asyncio.subprocess.Process
    uid: int | None
    marker: str


class LocalSandbox:
    """Scores programs in confined child processes of this machine (the embedded default)."""

    name = "local"

    def __init__(self, cfg: SandboxConfig, *, allow_namespaces: bool = True) -> None:
        self.cfg = cfg
        self.allow_namespaces = allow_namespaces
        self._live: dict[int, _Live] = {}
        self._confinement: Confinement | None = None

    async def confinement(self) -> Confinement:
        """The confinement used here: the strongest that a real probe process accepted."""
        if self._confinement is None:
            if self.allow_namespaces not in _probed:
                _probed[self.allow_namespaces] = await _probe(self.allow_namespaces)
            self._confinement = _probed[self.allow_namespaces]
        return self._confinement

    async def evaluate(self, job: SandboxJob) -> EvalResult:
        """Run the cascade on `job.program`; candidate faults come back as a status."""
        conf = await self.confinement()
        marker = secrets.token_hex(12)
        header_limits = limits_header(self.cfg)
        payload, nonce = build_payload(job, self.cfg, {"marker": marker, "limits": header_limits})
        deadline = job.deadline + self.cfg.timeout_slack_s
        tmp = Path(tempfile.mkdtemp(prefix="codeevo-local-"))
        uid = limits.acquire_uid() if conf.drop else None
        started = time.monotonic()
        live: _Live | None = None
        try:
            if uid is not None:
                os.chown(tmp, uid, uid)
            proc = await _spawn(tmp, conf, uid)
            live = _Live(proc, uid, marker)
            self._live[proc.pid] = live
            try:
                out, err = await asyncio.wait_for(_talk(proc, payload), deadline)
            except TimeoutError:
                return EvalResult(
                    status=Status.TIMEOUT,
                    reason=f"evaluation ran past its {deadline:g} s deadline "
                    f"(stage timeouts {job.deadline:g} s + slack)",
                    elapsed=time.monotonic() - started,
                )
            result = parse_result(out, nonce)
            if result is None:
                rc = proc.returncode
                how = (f"killed by {signal.Signals(-rc).name}" if rc is not None and rc < 0
                       else f"exited with code {rc}")
                return EvalResult(
                    status=Status.CRASHED,
                    reason=f"the sandbox runner {how} without a result",
                    artifacts={"stderr": err} if err else {},
                    elapsed=time.monotonic() - started,
                )
            return result.model_copy(update={"elapsed": time.monotonic() - started})
        finally:
            if live is not None:
                self._live.pop(live.proc.pid, None)
                await _finish(live)
            _remove(tmp)
            if uid is not None:
                limits.remove_files_of(uid)
                limits.release_uid(uid)

    async def close(self) -> None:
        """Kill every evaluation still running (their `evaluate` calls then clean up)."""
        for live in list(self._live.values()):
            _kill(live)


async def _spawn(cwd: Path, conf: Confinement, uid: int | None) -> asyncio.subprocess.Process:
    env = {"PATH": limits.SAFE_PATH, "LANG": "C.UTF-8", "HOME": str(cwd), "TMPDIR": str(cwd)}
    return await asyncio.create_subprocess_exec(
        sys.executable, "-u", "-I", "-c", BOOTSTRAP,
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE, cwd=cwd, env=env, start_new_session=True,
        preexec_fn=limits.preexec(conf, uid, cwd),
    )


async def _talk(proc: asyncio.subprocess.Process, payload: bytes) -> tuple[bytes, str]:
    """Send the job, read the capped outputs, wait for the runner to exit."""
    assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None

    async def send() -> None:
        assert proc.stdin is not None
        try:
            proc.stdin.write(payload)
            await proc.stdin.drain()
            proc.stdin.close()
        except (BrokenPipeError, ConnectionResetError):
            pass  # the runner died early; its exit status tells why

    _, out, err = await asyncio.gather(
        send(), _read_head(proc.stdout, STDOUT_CAP), _read_ends(proc.stderr, STDERR_KEEP)
    )
    await proc.wait()
    return out, err


async def _read_head(stream: asyncio.StreamReader, cap: int) -> bytes:
    buf = bytearray()
    while chunk := await stream.read(1 << 16):
        if len(buf) < cap:
            buf += chunk[: cap - len(buf)]
    return bytes(buf)


async def _read_ends(stream: asyncio.StreamReader, keep: int) -> str:
    """The first and last `keep` bytes of a stream, as text, saying how much was between."""
    head = bytearray()
    tail = bytearray()
    total = 0
    while chunk := await stream.read(1 << 16):
        total += len(chunk)
        room = keep - len(head)
        if room > 0:
            head += chunk[:room]
            chunk = chunk[room:]
        tail = (tail + chunk)[-keep:]
    text = head.decode("utf-8", "replace")
    if total > len(head) + len(tail):
        text += f"\n[... {total - len(head) - len(tail)} bytes not kept ...]\n"
    return text + tail.decode("utf-8", "replace")


def _kill(live: _Live) -> None:
    try:
        os.killpg(live.proc.pid, signal.SIGKILL)
    except OSError:
        pass
    # Candidates run in their own sessions: find them by uid, or by the run marker.
    limits.kill_processes(uid=live.uid, marker=f"{_MARKER_VAR}={live.marker}".encode())


async def _finish(live: _Live) -> None:
    _kill(live)
    try:
        await asyncio.shield(asyncio.wait_for(live.proc.wait(), 10))
    except (TimeoutError, asyncio.CancelledError):
        pass


def _remove(path: Path) -> None:
    root = os.path.realpath(path)

    def _unlock(func: object, p: str, exc: object) -> None:
        # A candidate may have taken away its own permissions on what it wrote: give them
        # back, but only inside the folder being removed. (`p` is the root itself when it is
        # already gone; its parent is the shared /tmp, whose mode must never change.)
        for target in (os.path.dirname(p), p):
            real = os.path.realpath(target)
            if real == root or real.startswith(root + os.sep):
                try:
                    os.chmod(target, stat.S_IRWXU, follow_symlinks=False)
                except (OSError, NotImplementedError):
                    pass

    shutil.rmtree(path, onerror=_unlock)
    shutil.rmtree(path, ignore_errors=True)


async def _probe(allow_namespaces: bool) -> Confinement:
    """Try each confinement option with a real interpreter start; keep the first that works."""
    options = limits.confinement_options()
    if not allow_namespaces:
        options = [o for o in options if not o.namespaces] or [limits.NO_CONFINEMENT]
    for conf in options:
        if not conf.drop:
            if os.geteuid() == 0:
                log.warning("local sandbox: cannot drop root for candidates; fork bombs and "
                            "host files are not contained (use --sandbox docker)")
            return conf
        tmp = Path(tempfile.mkdtemp(prefix="codeevo-probe-"))
        uid = limits.acquire_uid()
        try:
            os.chown(tmp, uid, uid)
            proc = await _spawn(tmp, conf, uid)
            assert proc.stdin is not None
            proc.stdin.write(b"22\nimport sys;sys.exit(0)\n")
            proc.stdin.close()
            if await asyncio.wait_for(proc.wait(), 30) == 0:
                return conf
        except Exception as exc:  # any failure: try the next, weaker option
            log.debug("local sandbox: confinement %s failed: %s", conf, exc)
        finally:
            limits.kill_processes(uid=uid)
            _remove(tmp)
            limits.release_uid(uid)
    return limits.NO_CONFINEMENT

