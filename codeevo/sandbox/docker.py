"""DockerSandbox: the in-sandbox runner in a hardened, throw-away container (CPU or GPU).

The only module that imports ``docker`` (docker-py), and only when a sandbox is built.

Each evaluation gets a fresh container (or, with ``warm_pool``, an exec in a reused one):
no network, read-only root, tmpfs ``/work`` and ``/tmp`` owned by the unprivileged user, all
capabilities dropped, no-new-privileges, memory == memory+swap, CPU quota, pids limit, ulimits,
an init process, capped logs, and labels naming the driver so a reaper can find leftovers.
Deadlines are ours: at ``job.deadline + timeout_slack_s`` the container is killed; ``OOMKilled``
becomes status OOM; output is capped while it streams.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import selectors
import socket
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from codeevo.candidate import EvalResult, Status
from codeevo.config import SandboxConfig
from codeevo.errors import CodeevoError
from codeevo.sandbox import reaper
from codeevo.sandbox.base import BOOTSTRAP, SandboxJob, build_payload, parse_result
from codeevo.sandbox.images import SANDBOX_UID, VERSION_LABEL
from codeevo.sandbox.stream import CappedCapture, DockerFrames

COMMAND = ["python3", "-u", "-I", "-c", BOOTSTRAP]
GPU_CACHE_ENV = {
    "TORCH_HOME": "/tmp/cache/torch",
    "XDG_CACHE_HOME": "/tmp/cache",
    "TRITON_CACHE_DIR": "/tmp/cache/triton",
    "CUDA_CACHE_PATH": "/tmp/cache/cuda",
}
NO_GPU_HINT = (
    "the Docker engine cannot give containers a GPU (no NVIDIA runtime); install the NVIDIA "
    "Container Toolkit and restart dockerd, or use --sandbox docker"
)


class DockerUnavailableError(CodeevoError):
    """The Docker engine, the image or the GPU runtime a sandbox needs is not there."""


def connect(timeout: float = 30.0) -> Any:
    """A docker-py client for the engine named by the environment, checked with a ping."""
    try:
        import docker
    except ImportError as exc:  # pragma: no cover - docker is a dependency
        raise DockerUnavailableError("the `docker` Python package is not installed") from exc
    try:
        client = docker.from_env(timeout=timeout)
        client.ping()
    except Exception as exc:
        raise DockerUnavailableError(f"Docker engine not reachable: {_short(exc)}") from exc
    return client


def image_labels(client: Any, image: str) -> dict[str, str] | None:
    """The image's labels, or None when the engine does not have it."""
    import docker.errors

    try:
        img = client.images.get(image)
    except docker.errors.ImageNotFound:
        return None
    return dict(img.labels or {})


def image_version(client: Any, image: str) -> str | None:
    labels = image_labels(client, image)
    return None if labels is None else labels.get(VERSION_LABEL, "")


def gpu_runtime(client: Any) -> bool:
    """Whether the engine lists an NVIDIA runtime (``docker info`` runtimes)."""
    runtimes = client.info().get("Runtimes") or {}
    return any("nvidia" in name for name in runtimes)


def container_spec(
    cfg: SandboxConfig,
    image: str,
    labels: dict[str, str],
    *,
    gpu: bool = False,
    command: list[str] | None = None,
    user: str = f"{SANDBOX_UID}:{SANDBOX_UID}",
) -> dict[str, Any]:
    """Keyword arguments for docker-py's low-level ``create_container``; ``host_config`` holds
    those for ``create_host_config`` (plain data, so the spec is unit-tested)."""
    mib = 1024 * 1024
    work_mb = 4 * cfg.file_size_mb
    tmp_mb = max(1024, 2 * cfg.file_size_mb) if gpu else 2 * cfg.file_size_mb
    owner = f"uid={SANDBOX_UID},gid={SANDBOX_UID}"
    host: dict[str, Any] = {
        "network_mode": "none",
        "read_only": True,
        "tmpfs": {
            "/work": f"rw,nosuid,nodev,size={work_mb}m,{owner},mode=700",
            "/tmp": f"rw,nosuid,nodev,size={tmp_mb}m,{owner},mode=1777",
        },
        "cap_drop": ["ALL"],
        "security_opt": ["no-new-privileges"],
        "mem_limit": cfg.memory_mb * mib,
        "memswap_limit": cfg.memory_mb * mib,
        "nano_cpus": int(cfg.cpus * 1e9),
        "pids_limit": cfg.max_processes,
        "ulimits": [
            {"name": "nofile", "soft": cfg.max_open_files, "hard": cfg.max_open_files},
            {"name": "fsize", "soft": cfg.file_size_mb * mib, "hard": cfg.file_size_mb * mib},
            {"name": "core", "soft": 0, "hard": 0},
        ],
        "init": True,
        "log_config": {"type": "json-file", "config": {"max-size": "1m", "max-file": "1"}},
    }
    spec: dict[str, Any] = {
        "image": image,
        "command": command or COMMAND,
        "user": user,
        "working_dir": "/work",
        "environment": {"HOME": "/work", "LANG": "C.UTF-8", "PYTHONDONTWRITEBYTECODE": "1"},
        "stdin_open": True,
        "detach": False,  # with stdin_open: StdinOnce, so closing our stdin ends theirs
        "tty": False,
        "labels": dict(labels),
        "host_config": host,
    }
    if gpu:
        request: dict[str, Any] = {"capabilities": [["gpu"]]}
        if cfg.gpu_devices:
            request["device_ids"] = list(cfg.gpu_devices)
        else:
            request["count"] = -1
        host["device_requests"] = [request]
        host["shm_size"] = cfg.shm_size_mb * mib
        spec["environment"].update(GPU_CACHE_ENV)
    return spec


@dataclass
class _Outcome:
    stdout: CappedCapture
    stderr: CappedCapture
    timed_out: bool = False
    exit_code: int | None = None
    oom: bool = False


@dataclass
class _Handle:
    """What a cancelled evaluation must kill: its container (fresh) or nothing (warm: recycle)."""

    container: str | None = None
    cancelled: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)


class DockerSandbox:
    """Scores programs in Docker containers; ``name`` is ``docker`` or ``docker-gpu``."""

    def __init__(
        self, cfg: SandboxConfig, image: str, *, gpu: bool = False, client: Any = None
    ) -> None:
        self.cfg = cfg
        self.image = image
        self.gpu = gpu
        self.name = "docker-gpu" if gpu else "docker"
        self.run_id = uuid.uuid4().hex[:12]
        self.client = client if client is not None else connect()
        self._live: dict[str, _Handle] = {}
        self._lock = threading.Lock()
        self._closed = False
        self._gpu_slots: asyncio.Semaphore | None = None
        self._pool: Any = None
        if cfg.warm_pool:
            from codeevo.sandbox.warm import WarmPool

            self._pool = WarmPool(self)
        reaper.reap(self.client)  # leftovers of drivers that died (kill -9) before us
        reaper.install_exit_cleanup(connect)

    # ------------------------------------------------------------ public

    def labels(self) -> dict[str, str]:
        return reaper.driver_labels(self.run_id, self.name)

    def spec(self, command: list[str] | None = None, user: str | None = None) -> dict[str, Any]:
        extra = {"user": user} if user else {}
        return container_spec(
            self.cfg, self.image, self.labels(), gpu=self.gpu, command=command, **extra
        )

    def check(self) -> None:
        """Fail now, with a clear message, if the image or the GPU runtime is missing: starts
        and removes one short container."""
        cid = self.create(["python3", "-c", "pass"])
        try:
            self.start(cid)
            self.client.api.wait(cid, timeout=60)
        finally:
            self.remove(cid)

    async def evaluate(self, job: SandboxJob) -> EvalResult:
        if self._closed:
            raise CodeevoError("sandbox is closed")
        payload, nonce = build_payload(job, self.cfg)
        deadline = job.deadline + self.cfg.timeout_slack_s
        if self.gpu:
            if self._gpu_slots is None:
                self._gpu_slots = asyncio.Semaphore(self.cfg.gpu_concurrency)
            async with self._gpu_slots:
                return await self._evaluate(payload, nonce, deadline)
        return await self._evaluate(payload, nonce, deadline)

    async def close(self) -> None:
        """Kill running evaluations and remove every container this sandbox created."""
        self._closed = True
        await asyncio.to_thread(self._close_sync)

    # ------------------------------------------------------------ containers

    def create(self, command: list[str] | None = None, user: str | None = None) -> str:
        """Create (not start) a container; its id is registered for removal."""
        import docker.errors

        try:
            spec = self.spec(command, user)
            api = self.client.api
            spec["host_config"] = api.create_host_config(**spec["host_config"])
            container = api.create_container(**spec)
        except docker.errors.ImageNotFound as exc:
            raise DockerUnavailableError(
                f"image {self.image} not found; build it with "
                "`codeevo sandbox build cpu --offline` (see `codeevo doctor`)"
            ) from exc
        except docker.errors.APIError as exc:
            raise DockerUnavailableError(f"cannot create a container: {_short(exc)}") from exc
        cid: str = container["Id"]
        with self._lock:
            self._live[cid] = _Handle(cid)
        return cid

    def start(self, cid: str) -> None:
        import docker.errors

        try:
            self.client.api.start(cid)
        except docker.errors.APIError as exc:
            msg = _short(exc)
            if self.gpu and ("device driver" in msg or "nvidia" in msg.lower() or "gpu" in msg):
                raise DockerUnavailableError(f"docker-gpu: {NO_GPU_HINT} ({msg})") from exc
            raise DockerUnavailableError(f"cannot start a container: {msg}") from exc

    def kill(self, cid: str) -> None:
        with contextlib.suppress(Exception):
            self.client.api.kill(cid)

    def remove(self, cid: str) -> None:
        """Remove the container; returns once it is gone (or after 10 s of trying)."""
        import docker.errors

        with self._lock:
            self._live.pop(cid, None)
        try:
            self.client.api.remove_container(cid, force=True)
            return
        except docker.errors.NotFound:
            return
        except Exception:
            pass  # typically "removal already in progress" by another thread: wait for it
        for _ in range(100):
            try:
                self.client.api.inspect_container(cid)
            except docker.errors.NotFound:
                return
            except Exception:
                return
            time.sleep(0.1)

    def oom_killed(self, cid: str) -> bool:
        state = self.client.api.inspect_container(cid).get("State") or {}
        return bool(state.get("OOMKilled"))

    # ------------------------------------------------------------ one evaluation

    async def _evaluate(self, payload: bytes, nonce: str, deadline: float) -> EvalResult:
        handle = _Handle()
        t0 = time.monotonic()
        try:
            if self._pool is not None:
                out = await asyncio.to_thread(self._pool.run, payload, nonce, deadline, handle)
            else:
                out = await asyncio.to_thread(self._run_fresh, payload, nonce, deadline, handle)
        except asyncio.CancelledError:
            with handle.lock:
                handle.cancelled = True
                cid = handle.container
            if cid is not None:
                # The worker thread sees the stream end and removes the container.
                await asyncio.to_thread(self.kill, cid)
            raise
        return self.result(out, nonce, deadline, time.monotonic() - t0)

    def _run_fresh(self, payload: bytes, nonce: str, deadline: float, handle: _Handle) -> _Outcome:
        cid = self.create()
        try:
            with handle.lock:
                handle.container = cid
                if handle.cancelled:
                    raise CodeevoError("evaluation cancelled")
            sock = self.client.api.attach_socket(
                cid, params={"stdin": 1, "stdout": 1, "stderr": 1, "stream": 1}
            )
            try:
                self.start(cid)
                out = pump(sock, payload, time.monotonic() + deadline, self.cfg, nonce, handle)
            finally:
                with contextlib.suppress(Exception):
                    sock.close()
            if out.timed_out:
                self.kill(cid)
            else:
                with contextlib.suppress(Exception):
                    out.exit_code = int(self.client.api.wait(cid, timeout=30)["StatusCode"])
            with contextlib.suppress(Exception):
                out.oom = self.oom_killed(cid)
            return out
        finally:
            self.remove(cid)

    def result(self, out: _Outcome, nonce: str, deadline: float, elapsed: float) -> EvalResult:
        """Turn what the container did into an EvalResult (the runner's, when it wrote one)."""
        line = out.stdout.result_line
        res = parse_result(line, nonce) if line is not None else None
        logs = {"sandbox_stdout": out.stdout.text(), "sandbox_stderr": out.stderr.text()}
        logs = {k: v for k, v in logs.items() if v}
        mem = f"container memory limit ({self.cfg.memory_mb} MB) hit"
        if out.timed_out:
            res = EvalResult(
                status=Status.TIMEOUT, reason=f"sandbox deadline ({deadline:g} s) passed",
                artifacts=logs,
            )
        elif res is None:
            if out.oom:
                res = EvalResult(status=Status.OOM, reason=mem, artifacts=logs)
            else:
                res = EvalResult(
                    status=Status.CRASHED,
                    reason=f"runner exited (code {out.exit_code}) without a result",
                    artifacts=logs,
                )
        elif out.oom and res.status in (Status.CRASHED, Status.FAILED):
            res = res.model_copy(update={"status": Status.OOM, "reason": f"{mem}: {res.reason}"})
        return res.model_copy(update={"elapsed": elapsed})

    def _close_sync(self) -> None:
        with self._lock:
            live = list(self._live)
        for cid in live:
            self.kill(cid)
        if self._pool is not None:
            self._pool.settle(timeout=10)  # background clean-ups fail fast on killed containers
            self._pool.close()
        for cid in live:
            self.remove(cid)
        with contextlib.suppress(Exception):
            reaper.reap(self.client, owner_pid=os.getpid(), run_id=self.run_id)


def pump(
    sock: Any,
    payload: bytes,
    deadline: float,
    cfg: SandboxConfig,
    nonce: str,
    handle: _Handle | None = None,
) -> _Outcome:
    """Write `payload` to a hijacked attach/exec socket, half-close it, and read the framed
    output (capped) until the stream ends or the monotonic `deadline` passes."""
    raw: socket.socket = getattr(sock, "_sock", sock)
    out = _Outcome(
        CappedCapture(cfg.output_cap_bytes, nonce.encode() + b" "),
        CappedCapture(cfg.output_cap_bytes),
    )
    frames = DockerFrames(out.stdout, out.stderr)
    raw.setblocking(False)
    view = memoryview(payload)
    sel = selectors.DefaultSelector()
    sel.register(raw, selectors.EVENT_READ | selectors.EVENT_WRITE)
    try:
        while True:
            left = deadline - time.monotonic()
            if handle is not None and handle.cancelled:
                break
            if left <= 0:
                out.timed_out = True
                break
            for _key, events in sel.select(min(left, 1.0)):
                if events & selectors.EVENT_WRITE and view:
                    try:
                        view = view[raw.send(view[:65536]) :]
                    except (BlockingIOError, InterruptedError):
                        pass
                    except OSError:
                        view = view[len(view) :]  # the reader went away; read what it said
                    if not view:
                        with contextlib.suppress(OSError):
                            raw.shutdown(socket.SHUT_WR)
                        sel.modify(raw, selectors.EVENT_READ)
                if events & selectors.EVENT_READ:
                    try:
                        data = raw.recv(65536)
                    except (BlockingIOError, InterruptedError):
                        continue
                    except OSError:
                        data = b""
                    if not data:
                        out.stdout.finish()
                        return out
                    frames.feed(data)
    finally:
        sel.close()
    out.stdout.finish()
    return out


def _short(exc: BaseException) -> str:
    explanation = getattr(exc, "explanation", None)
    text = str(explanation or exc)
    return text if len(text) <= 300 else text[:300] + "..."
