"""DockerSandbox: the in-sandbox runner in a hardened, throw-away container (CPU or GPU).

The only module that imports ``docker`` (docker-py), and only when a sandbox is built.

Each runner is a container whose main process (pid 1) is the in-sandbox runner; with
``warm_pool`` (the default) one container scores many candidates, otherwise one each. No
network, read-only root, tmpfs ``/work`` and ``/tmp`` (size and inodes bounded), every
capability dropped but the template's CAP_SETUID/SETGID/KILL, no-new-privileges, memory ==
memory+swap, CPU quota, pids limit, ulimits, capped logs, AutoRemove, and labels naming the
driver so a reaper can find leftovers. Deadlines are ours: at ``job.deadline +
timeout_slack_s`` the container is killed; a runner killed by the memory limit is ``oom``;
output is capped while it streams.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import threading
import uuid
from typing import Any

from codeevo.candidate import EvalResult
from codeevo.config import SandboxConfig
from codeevo.errors import CodeevoError
from codeevo.sandbox import limits, reaper
from codeevo.sandbox.base import BOOTSTRAP, THREAD_VARS, SandboxJob, preamble
from codeevo.sandbox.images import SANDBOX_UID, VERSION_LABEL
from codeevo.sandbox.stream import DockerFrames
from codeevo.sandbox.warm import RunnerHandle, RunnerPool

COMMAND = ["python3", "-u", "-I", "-c", BOOTSTRAP]
PIDS_HEADROOM = 16  # runner, template, sweep helper, and the engine's own exec
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
    user: str = "0:0",
) -> dict[str, Any]:
    """Keyword arguments for docker-py's low-level ``create_container``; ``host_config`` holds
    those for ``create_host_config`` (plain data, so the spec is unit-tested).

    The main process starts as root with CAP_SETUID, CAP_SETGID and CAP_KILL only, starts the
    candidate template (which keeps them, to give each candidate a fresh uid and kill it), then
    becomes uid 1000: the
    runner is the container's pid 1, which no process inside can signal or trace. tmpfs
    ``nr_inodes`` bounds the files a candidate can create (their inodes count against the
    container's memory), so a disk fill always ends at the disk quota, never at the memory
    limit."""
    mib = 1024 * 1024
    work_mb = 4 * cfg.file_size_mb
    tmp_mb = max(1024, 2 * cfg.file_size_mb) if gpu else 2 * cfg.file_size_mb
    owner = f"uid={SANDBOX_UID},gid={SANDBOX_UID}"
    inodes = cfg.max_files + 1024
    host: dict[str, Any] = {
        "network_mode": "none",
        "read_only": True,
        "tmpfs": {
            "/work": f"rw,nosuid,nodev,size={work_mb}m,nr_inodes={inodes},{owner},mode=711",
            "/tmp": f"rw,nosuid,nodev,size={tmp_mb}m,nr_inodes={inodes},{owner},mode=1777",
        },
        "cap_drop": ["ALL"],
        "cap_add": ["SETUID", "SETGID", "KILL"],
        "security_opt": ["no-new-privileges"],
        "mem_limit": cfg.memory_mb * mib,
        "memswap_limit": cfg.memory_mb * mib,
        "nano_cpus": int(cfg.cpus * 1e9),
        # Candidates' own RLIMIT_NPROC is max_processes: a fork bomb meets it before the
        # container's limit, which leaves the runner and the template room to clean up.
        "pids_limit": cfg.max_processes + PIDS_HEADROOM,
        "ulimits": [
            {"name": "nofile", "soft": cfg.max_open_files, "hard": cfg.max_open_files},
            {"name": "fsize", "soft": cfg.file_size_mb * mib, "hard": cfg.file_size_mb * mib},
            {"name": "core", "soft": 0, "hard": 0},
        ],
        "init": False,  # the runner is pid 1 (docker-init would hold the result pipe)
        "auto_remove": True,  # a runner that ends (its driver died) takes the container along
        "log_config": {"type": "json-file", "config": {"max-size": "1m", "max-file": "1"}},
    }
    spec: dict[str, Any] = {
        "image": image,
        "command": command or COMMAND,
        "user": user,
        "working_dir": "/work",
        "environment": {"HOME": "/work", "LANG": "C.UTF-8", "PYTHONDONTWRITEBYTECODE": "1",
                        **{v: "1" for v in THREAD_VARS}},
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


class DockerRunner(RunnerHandle):
    """A runner as a container's main process (pid 1), fed through a hijacked attach socket.

    A reader thread splits Docker's framed stream into the runner's stdout and stderr and
    hands them to the event loop. The driver never half-closes the socket: its end (the
    driver died or closed the runner) is the runner's end of input, and the runner ends itself
    and the container (AutoRemove) at once.
    """

    def __init__(self, sandbox: DockerSandbox, key: str) -> None:
        super().__init__(sandbox.cfg, key)
        self.sb = sandbox
        self.cid: str | None = None
        self.sock: Any = None
        self.raw: socket.socket | None = None
        self.block: tuple[int, int] | None = None
        self._loop = asyncio.get_running_loop()
        self._killed = False
        self._by_us = False
        self._exit: asyncio.Future[int | None] = self._loop.create_future()

    async def spawn(self, job: SandboxJob, max_jobs: int) -> None:
        self.block = limits.acquire_uid_block()
        await asyncio.to_thread(self._open)
        threading.Thread(target=self._read, daemon=True).start()
        cand = (self.block[0] + 1, self.block[1] - 1)
        await self.start(preamble(self.cfg, warm_imports=job.warm_imports, max_jobs=max_jobs,
                                  uid=SANDBOX_UID, candidate_uids=cand))

    def _open(self) -> None:
        self.cid = self.sb.create()
        self.sock = self.sb.client.api.attach_socket(
            self.cid, params={"stdin": 1, "stdout": 1, "stderr": 1, "stream": 1}
        )
        self.raw = getattr(self.sock, "_sock", self.sock)
        # Asked before the start: AutoRemove may take the container the moment it exits.
        threading.Thread(target=self._wait_exit, args=(self.cid,), daemon=True).start()
        self.sb.start(self.cid)

    def _wait_exit(self, cid: str) -> None:
        code: int | None = None
        try:
            code = int(self.sb.client.api.wait(cid, condition="next-exit")["StatusCode"])
        except Exception:
            code = None
        with contextlib.suppress(RuntimeError):
            self._loop.call_soon_threadsafe(
                lambda: None if self._exit.done() else self._exit.set_result(code))

    def _read(self) -> None:
        assert self.raw is not None
        call = self._loop.call_soon_threadsafe
        frames = DockerFrames(_Sink(lambda b: call(self._stdout, b)),
                              _Sink(lambda b: call(self._stderr, b)))
        try:
            while data := self.raw.recv(1 << 16):
                frames.feed(data)
        except OSError:
            pass
        with contextlib.suppress(RuntimeError):  # the loop may be closed at interpreter exit
            call(self._eof)

    async def _write(self, data: bytes) -> None:
        raw = self.raw
        if raw is None:
            raise BrokenPipeError("no attach socket")
        await asyncio.to_thread(raw.sendall, data)

    async def _exit_code(self) -> int | None:
        try:
            return await asyncio.wait_for(asyncio.shield(self._exit), 10)
        except TimeoutError:
            return None

    async def _oom(self) -> bool:
        """Inside the container nothing can SIGKILL pid 1 (the kernel refuses signals from
        its own namespace to it), and we did not: a SIGKILLed runner met the memory limit."""
        return not self._by_us and await self._exit_code() == 137

    async def _kill(self) -> None:
        if self._killed:
            return
        self._killed = True
        self._by_us = not self.ended
        try:
            await asyncio.to_thread(self._close_sync)
        finally:
            if self.block is not None:
                limits.release_uid_block(self.block[0])
                self.block = None

    def _close_sync(self) -> None:
        if self.cid is not None:
            if not self.ended:
                self.sb.kill(self.cid)
            self.sb.remove(self.cid)  # waits for an AutoRemove already under way
        if self.sock is not None:
            with contextlib.suppress(Exception):
                self.sock.close()


class _Sink:
    """What DockerFrames writes one stream's payload into."""

    def __init__(self, put: Any) -> None:
        self.put = put

    def feed(self, data: bytes) -> None:
        self.put(data)


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
        self._live: dict[str, None] = {}
        self._lock = threading.Lock()
        self._closed = False
        self._gpu_slots: asyncio.Semaphore | None = None
        self.pool = RunnerPool(cfg, self._start_runner)
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
            with contextlib.suppress(Exception):  # AutoRemove: it may be gone already
                self.client.api.wait(cid, timeout=60)
        finally:
            self.remove(cid)

    async def evaluate(self, job: SandboxJob) -> EvalResult:
        if self._closed:
            raise CodeevoError("sandbox is closed")
        if self.gpu:
            if self._gpu_slots is None:
                self._gpu_slots = asyncio.Semaphore(self.cfg.gpu_concurrency)
            async with self._gpu_slots:
                return await self.pool.evaluate(job)
        return await self.pool.evaluate(job)

    async def _start_runner(self, job: SandboxJob, key: str, max_jobs: int) -> RunnerHandle:
        runner = DockerRunner(self, key)
        try:
            await runner.spawn(job, max_jobs)
        except BaseException:
            await runner.kill()
            raise
        return runner

    async def close(self) -> None:
        """Kill running evaluations and remove every container this sandbox created."""
        self._closed = True
        await self.pool.close()
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
            self._live[cid] = None
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

    def forget(self, cid: str) -> None:
        """Stop tracking a container that removes itself."""
        with self._lock:
            self._live.pop(cid, None)

    def remove(self, cid: str) -> None:
        """Remove the container; returns once it is gone (or after 10 s of trying)."""
        with self._lock:
            self._live.pop(cid, None)
        reaper.remove(self.client, cid)

    def oom_killed(self, cid: str) -> bool:
        state = self.client.api.inspect_container(cid).get("State") or {}
        return bool(state.get("OOMKilled"))

    def _close_sync(self) -> None:
        with self._lock:
            live = list(self._live)
        for cid in live:
            self.kill(cid)
        for cid in live:
            self.remove(cid)
        with contextlib.suppress(Exception):
            reaper.reap(self.client, owner_pid=os.getpid(), run_id=self.run_id)


def _short(exc: BaseException) -> str:
    explanation = getattr(exc, "explanation", None)
    text = str(explanation or exc)
    return text if len(text) <= 300 else text[:300] + "..."
