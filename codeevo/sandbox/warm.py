"""Warm pool for DockerSandbox: reuse running containers through exec for short evaluations.

A warm container's main process is an idle ``sleep`` owned by a second unprivileged uid; each
evaluation is an exec of the runner as the sandbox uid. Afterwards a clean-up exec (same uid as
the evaluation) kills every process that uid owns (``kill(-1)`` cannot reach the keeper) and
empties ``/work`` and ``/tmp``, so nothing a candidate left behind meets the next evaluation.
A container is recycled (removed) after ``warm_pool_max_uses`` evaluations, after any timeout,
OOM, cancellation or failed clean-up.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from codeevo.sandbox.base import BOOTSTRAP
from codeevo.sandbox.images import SANDBOX_UID

if TYPE_CHECKING:
    from codeevo.sandbox.docker import DockerSandbox, _Handle, _Outcome

KEEPER_UID = SANDBOX_UID + 1
KEEPER = ["sleep", "infinity"]
CLEAN = """
import os, shutil, time
me, uid = os.getpid(), os.getuid()
def alive():
    out = []
    for p in os.listdir("/proc"):
        if not p.isdigit() or int(p) == me:
            continue
        try:
            with open("/proc/" + p + "/stat") as f:
                state = f.read().rsplit(")", 1)[1].split()[0]
            if os.stat("/proc/" + p).st_uid == uid and state != "Z":
                out.append(p)
        except (OSError, IndexError):
            pass
    return out
for _ in range(200):
    os.kill(-1, 9)  # every process this uid may signal but ourselves: not the keeper's
    if not alive():
        break
    time.sleep(0.01)
else:
    raise SystemExit("processes survive")
for root in ("/work", "/tmp"):
    for name in os.listdir(root):
        path = os.path.join(root, name)
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path)
        else:
            os.unlink(path)
kills = 0
for events in ("/sys/fs/cgroup/memory.events", "/sys/fs/cgroup/memory/memory.oom_control"):
    try:
        with open(events) as f:
            kills = int(dict(line.split() for line in f if line.strip()).get("oom_kill", 0))
        break
    except (OSError, ValueError):
        pass
print("clean", kills)
"""


@dataclass
class _Warm:
    cid: str
    uses: int = 0
    oom_kills: int = 0  # the container's OOM-kill count after its last clean-up


class WarmPool:
    """Warm containers of one DockerSandbox: at most ``warm_pool_size`` kept between uses.

    After an evaluation whose runner reported ``ok``, the clean-up runs in the background (the
    result does not wait for it) and the container rejoins the pool once clean; after any other
    outcome it runs first, because its OOM-kill count decides between ``oom`` and the runner's
    own verdict.
    """

    def __init__(self, sandbox: DockerSandbox) -> None:
        self.sb = sandbox
        self.idle: list[_Warm] = []
        self.cond = threading.Condition()
        self.count = 0  # containers alive: idle, evaluating or being cleaned
        self.cleaning = 0
        self.closed = False

    def run(self, payload: bytes, nonce: str, deadline: float, handle: _Handle) -> _Outcome:
        from codeevo.errors import CodeevoError
        from codeevo.sandbox.docker import pump

        warm = self._take()
        give: bool | None = False  # None: a background clean-up gives it back
        try:
            with handle.lock:
                handle.container = warm.cid
                if handle.cancelled:
                    raise CodeevoError("evaluation cancelled")
            api = self.sb.client.api
            user = f"{SANDBOX_UID}:{SANDBOX_UID}"
            eid = api.exec_create(
                warm.cid, ["python3", "-u", "-I", "-c", BOOTSTRAP], stdin=True, user=user,
                workdir="/work",
            )["Id"]
            sock = api.exec_start(eid, socket=True)
            try:
                out = pump(sock, payload, time.monotonic() + deadline, self.sb.cfg, nonce, handle)
            finally:
                try:
                    sock.close()
                except Exception:
                    pass
            if out.timed_out or handle.cancelled:
                return out
            if _reported_ok(out, nonce):
                with self.cond:
                    self.cleaning += 1
                threading.Thread(target=self._clean_and_give, args=(warm,), daemon=True).start()
                give = None
                return out
            out.exit_code = _exit_code(api, eid)
            kills = self._clean(warm)
            # The engine records OOMKilled only when a container exits; a warm one reports
            # its cgroup's OOM-kill counter from the clean-up exec instead.
            out.oom = kills is not None and kills > warm.oom_kills
            give = kills is not None and not out.oom
            return out
        finally:
            if give is not None:
                self._give(warm, give)

    def settle(self, timeout: float = 30.0) -> None:
        """Wait until no background clean-up is running (tests, benchmarks)."""
        with self.cond:
            self.cond.wait_for(lambda: self.cleaning == 0, timeout=timeout)

    def close(self) -> None:
        with self.cond:
            self.closed = True
            idle, self.idle = self.idle, []
            self.count -= len(idle)
            self.cond.notify_all()
        for warm in idle:
            self.sb.remove(warm.cid)

    def _take(self) -> _Warm:
        with self.cond:
            while True:
                if self.idle:
                    return self.idle.pop()
                # Wait for a container being cleaned rather than start one more than the pool
                # keeps; start one when all are busy evaluating.
                if self.closed or self.count < self.sb.cfg.warm_pool_size or not self.cleaning:
                    break
                if not self.cond.wait(timeout=30):
                    break
            self.count += 1
        try:
            cid = self.sb.create(KEEPER, user=f"{KEEPER_UID}:{KEEPER_UID}")
            try:
                self.sb.start(cid)
            except BaseException:
                self.sb.remove(cid)
                raise
        except BaseException:
            with self.cond:
                self.count -= 1
                self.cond.notify_all()
            raise
        return _Warm(cid)

    def _clean_and_give(self, warm: _Warm) -> None:
        healthy = False
        try:
            kills = self._clean(warm)
            healthy = kills is not None and kills == warm.oom_kills
        finally:
            with self.cond:
                self.cleaning -= 1
            self._give(warm, healthy)

    def _give(self, warm: _Warm, healthy: bool) -> None:
        warm.uses += 1
        with self.cond:
            keep = (
                healthy
                and not self.closed
                and warm.uses < self.sb.cfg.warm_pool_max_uses
                and len(self.idle) < self.sb.cfg.warm_pool_size
            )
            if keep:
                self.idle.append(warm)
            else:
                self.count -= 1
            self.cond.notify_all()
        if not keep:
            self.sb.remove(warm.cid)

    def _clean(self, warm: _Warm) -> int | None:
        """Kill what the evaluation left running and empty the tmpfs dirs. Returns the
        container's OOM-kill count, or None when clean-up failed (then it is recycled)."""
        api = self.sb.client.api
        try:
            eid = api.exec_create(
                warm.cid, ["python3", "-I", "-S", "-c", CLEAN], user=f"{SANDBOX_UID}:{SANDBOX_UID}"
            )["Id"]
            output: Any = api.exec_start(eid)
            words = bytes(output).split()
            if _exit_code(api, eid) != 0 or len(words) != 2 or words[0] != b"clean":
                return None
            return int(words[1])
        except Exception:
            return None


def _reported_ok(out: _Outcome, nonce: str) -> bool:
    from codeevo.sandbox.base import parse_result

    line = out.stdout.result_line
    res = parse_result(line, nonce) if line is not None else None
    return res is not None and res.status.value == "ok"


def _exit_code(api: Any, eid: str) -> int | None:
    # The stream can end a moment before the engine records the exit code.
    for _ in range(50):
        info = api.exec_inspect(eid)
        if not info.get("Running"):
            code = info.get("ExitCode")
            return None if code is None else int(code)
        time.sleep(0.01)
    return None
