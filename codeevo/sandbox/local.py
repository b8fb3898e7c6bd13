"""LocalSandbox: runners as confined process trees on this machine (the embedded default).

Each runner gets a fresh working folder (mode 0700 for the driver; the runner's uid owns it
when there is one; removed afterwards, also on cancel), a scrubbed environment built from an
allow-list (no API keys, no proxies), its own session, and the strongest confinement a real
probe process accepted (`codeevo.sandbox.limits`: bubblewrap, or fresh uids and namespaces, or
nothing). Runners are warm by default (`codeevo.sandbox.warm`): one imports the evaluator and
runs its setup once, then scores up to ``warm_pool_max_uses`` candidates. At a job's deadline
(stage timeouts plus ``timeout_slack_s``) the whole runner is killed, every process left of it
is swept, and the job is a timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import shutil
import signal
import stat
import sys
import tempfile
from pathlib import Path

from codeevo.candidate import EvalResult
from codeevo.config import SandboxConfig
from codeevo.errors import CodeevoError
from codeevo.sandbox import limits
from codeevo.sandbox.base import BOOTSTRAP, SandboxJob, preamble, sandbox_env
from codeevo.sandbox.limits import Confinement
from codeevo.sandbox.warm import RunnerHandle, RunnerPool, RunnerStartError

log = logging.getLogger(__name__)

_MARKER_VAR = "CODEEVO_RUN_MARKER"
_probed: dict[bool, Confinement] = {}


class LocalRunner(RunnerHandle):
    """A runner process (inside bubblewrap, namespaces, or plain) with its working folder."""

    def __init__(self, cfg: SandboxConfig, key: str, conf: Confinement) -> None:
        super().__init__(cfg, key)
        self.conf = conf
        self.tmp = Path(tempfile.mkdtemp(prefix="codeevo-local-"))  # 0700
        self.block: tuple[int, int] | None = None
        self.proc: asyncio.subprocess.Process | None = None
        self._readers: list[asyncio.Task[None]] = []
        self._killed = False
        self.marker = secrets.token_hex(8)

    async def spawn(self, job: SandboxJob | None, max_jobs: int) -> None:
        uid: int | None = None
        cand: tuple[int, int] | None = None
        if self.conf.drop:
            self.block = limits.acquire_uid_block()
            uid, cand = self.block[0], (self.block[0] + 1, self.block[1] - 1)
            os.chown(self.tmp, uid, uid)
            self.tmp.chmod(0o711)  # candidates (other uids) pass through to their run folders
        if self.conf.bwrap:
            tmp_mb = max(16, 2 * self.cfg.file_size_mb)
            argv = [*limits.bwrap_argv(self.conf, self.tmp, tmp_mb), "--", sys.executable,
                    "-u", "-I", "-c", BOOTSTRAP]
            env = sandbox_env("/work")
        else:
            argv = [sys.executable, "-u", "-I", "-c", BOOTSTRAP]
            env = sandbox_env(str(self.tmp))
        self.proc = await asyncio.create_subprocess_exec(
            *argv, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE, cwd=self.tmp, env=env, start_new_session=True,
            preexec_fn=limits.preexec(self.conf, self.tmp),
        )
        assert self.proc.stdout is not None and self.proc.stderr is not None
        self._readers = [
            asyncio.create_task(self._pump(self.proc.stdout, self._stdout)),
            asyncio.create_task(self._pump(self.proc.stderr, self._stderr)),
        ]
        warm = job.warm_imports if job is not None else ()
        await self.start(preamble(self.cfg, warm_imports=warm, max_jobs=max_jobs, uid=uid,
                                  candidate_uids=cand, marker=self.marker))

    async def _pump(self, stream: asyncio.StreamReader, sink: object) -> None:
        assert callable(sink)
        while chunk := await stream.read(1 << 16):
            sink(chunk)
        if stream is (self.proc.stdout if self.proc else None):
            if self.proc is not None:
                await self.proc.wait()
            self._eof()

    async def _write(self, data: bytes) -> None:
        assert self.proc is not None and self.proc.stdin is not None
        if self.proc.stdin.is_closing():
            raise BrokenPipeError("runner stdin closed")
        self.proc.stdin.write(data)
        try:
            await self.proc.stdin.drain()
        except (BrokenPipeError, ConnectionResetError) as exc:
            raise BrokenPipeError(str(exc)) from exc

    async def _exit_code(self) -> int | None:
        if self.proc is None:
            return None
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(self.proc.wait()), 5)
        return self.proc.returncode

    async def _kill(self) -> None:
        if self._killed:
            return
        self._killed = True
        try:
            if self.proc is not None:
                self._signal()
                if self.block is not None:  # the runner and its candidates, whatever they did
                    await asyncio.to_thread(limits.kill_uid_block, *self.block)
                with contextlib.suppress(TimeoutError, asyncio.CancelledError):
                    await asyncio.shield(asyncio.wait_for(self.proc.wait(), 10))
                for task in self._readers:
                    task.cancel()
                if not self.ended:  # a job waiting on this runner learns that it is gone
                    self._eof()
            await asyncio.to_thread(self._sweep)
        finally:
            self._close_transport()
            if self.block is not None:
                limits.release_uid_block(self.block[0])
                self.block = None

    def _close_transport(self) -> None:
        """Close the runner's pipes now, on the running loop. asyncio closes a subprocess
        transport itself only once every pipe has ended, and a process the runner left may
        hold one open; left to the garbage collector, the transport closes into a loop that
        has ended and raises inside whatever code runs at that moment."""
        transport = getattr(self.proc, "_transport", None)
        if transport is not None:
            with contextlib.suppress(Exception):
                transport.close()

    def _signal(self) -> None:
        assert self.proc is not None
        with contextlib.suppress(OSError):
            os.killpg(self.proc.pid, signal.SIGKILL)

    def _sweep(self) -> None:
        """Whatever the runner left (outside a pid namespace): by uid block or run marker."""
        if self.block is not None:
            limits.kill_uid_block(*self.block)
            limits.remove_files_of_block(*self.block)
        elif not self.conf.bwrap:
            # Candidates carry CODEEVO_RUN_MARKER=<our marker>-<job>-<k>: a prefix match.
            limits.kill_processes(marker=f"{_MARKER_VAR}={self.marker}-".encode())
        _remove(self.tmp)


class LocalSandbox:
    """Scores programs in confined runner processes on this machine."""

    name = "local"

    def __init__(self, cfg: SandboxConfig, *, allow_namespaces: bool = True) -> None:
        self.cfg = cfg
        self.allow_namespaces = allow_namespaces
        self._confinement: Confinement | None = None
        self.pool = RunnerPool(cfg, self._start_runner)

    async def confinement(self) -> Confinement:
        """The confinement used here: the strongest that a real probe runner accepted."""
        if self._confinement is None:
            if self.allow_namespaces not in _probed:
                _probed[self.allow_namespaces] = await _probe(self.cfg, self.allow_namespaces)
            self._confinement = _probed[self.allow_namespaces]
        return self._confinement

    async def describe(self) -> str:
        return f"local, {(await self.confinement()).describe()}"

    async def _start_runner(self, job: SandboxJob, key: str, max_jobs: int) -> RunnerHandle:
        runner = LocalRunner(self.cfg, key, await self.confinement())
        try:
            await runner.spawn(job, max_jobs)
        except BaseException:
            await runner.kill()
            raise
        return runner

    async def evaluate(self, job: SandboxJob) -> EvalResult:
        """Run the cascade on `job.program`; candidate faults come back as a status."""
        if self.pool.closed:
            raise CodeevoError("sandbox is closed")
        await self.confinement()
        return await self.pool.evaluate(job)

    async def close(self) -> None:
        """Kill every runner (their `evaluate` calls then clean up)."""
        await self.pool.close()


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


async def _probe(cfg: SandboxConfig, allow_namespaces: bool) -> Confinement:
    """Try each confinement option with a real runner start; keep the first that works."""
    options = limits.confinement_options()
    if not allow_namespaces:
        options = [o for o in options if not o.namespaces and not o.bwrap] or [
            limits.NO_CONFINEMENT]
    for conf in options:
        if conf == limits.NO_CONFINEMENT:
            break
        runner = LocalRunner(cfg, "probe", conf)
        try:
            await runner.spawn(None, 1)
            return conf
        except (RunnerStartError, OSError) as exc:  # try the next, weaker option
            log.debug("local sandbox: confinement %s failed: %s", conf, exc)
        finally:
            await runner.kill()
    if os.geteuid() == 0:
        log.warning("local sandbox: cannot drop root for candidates; fork bombs and host "
                    "files are not contained (use --sandbox docker)")
    return limits.NO_CONFINEMENT
