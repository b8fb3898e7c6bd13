"""Candidate template ("zygote") and candidate processes: runs INSIDE the sandbox, stdlib only.

The runner (``runner.py``) starts this file as a fresh ``python -I`` (source on stdin, so the
command line stays short: ``codeevo-template``) *before* it reads any job,
so the template never holds a nonce, an evaluator, assets or evaluator state. The template
imports the problem's ``warm_imports`` (numpy, torch, ...) once, then forks one child per
candidate on the runner's request. Each child:

- gets its own session, a fresh uid (when the template runs as root with CAP_SETUID/SETGID/KILL
  only, see `keep_only_setuid_caps`), no-new-privileges, rlimits, a scrubbed environment,
  stdin from /dev/null, stdout/stderr/value pipes handed over by the runner (SCM_RIGHTS), its
  own run folder as cwd, oom_score_adj 1000 (the OOM killer takes candidates first), and a
  parent-death signal;
- runs the candidate in-process (no second interpreter start): imports the program and sends
  ``function(*args, **kwargs)`` (or the evaluator's driver source) back as JSON on fd 3.

After a candidate ends (or on the runner's ``kill``), every process it left is swept: by uid
(a helper that takes the candidate's uid and ``kill(-1)``s), by pid namespace (everything
but pid 1, the template and the runner), or by an environment marker (no namespace, no uid:
the weak case docs/security.md describes). The template is not dumpable, so a candidate can
open neither its memory nor its file descriptors through ``/proc``.

Messages on the runner<->template socket: 4-byte big-endian length + JSON; fds ride along
with the first byte of a message.
"""

from __future__ import annotations

import ctypes
import io
import json
import os
import selectors
import signal
import socket
import struct
import sys
import time
import traceback
from typing import Any

PR_SET_PDEATHSIG = 1
PR_SET_DUMPABLE = 4
PR_CAPBSET_DROP = 24
PR_SET_CHILD_SUBREAPER = 36
PR_SET_NO_NEW_PRIVS = 38
PR_CAP_AMBIENT = 47
PR_CAP_AMBIENT_CLEAR_ALL = 4
CAP_KILL = 5
CAP_SETGID = 6
CAP_SETUID = 7
KEEP_CAPS = (CAP_KILL, CAP_SETGID, CAP_SETUID)
VALUE_FD = 3
MARKER_VAR = "CODEEVO_RUN_MARKER"
SCRATCH_DIRS = ("/tmp", "/var/tmp", "/dev/shm")

_libc: ctypes.CDLL | None
try:
    _libc = ctypes.CDLL(None, use_errno=True)
except OSError:  # pragma: no cover - no libc: nothing of the below is available
    _libc = None


def prctl(option: int, arg: int = 0) -> int:
    """prctl(2); returns 0 or -1 (never raises)."""
    if _libc is None:
        return -1
    return int(_libc.prctl(ctypes.c_int(option), ctypes.c_ulong(arg), ctypes.c_ulong(0),
                       ctypes.c_ulong(0), ctypes.c_ulong(0)))


def make_undumpable() -> None:
    """Same-uid processes can then read neither our memory nor ``/proc/<pid>/fd``."""
    prctl(PR_SET_DUMPABLE, 0)


def keep_only_setuid_caps() -> None:
    """As root: keep CAP_SETUID and CAP_SETGID (to give candidates their uids) and CAP_KILL (to
    kill them without forking: a fork bomb may have used up every pid), drop the rest (bounding
    set where we may, effective/permitted/inheritable/ambient always)."""
    if os.geteuid() != 0 or _libc is None:
        return
    for cap in range(64):
        if cap not in KEEP_CAPS:
            prctl(PR_CAPBSET_DROP, cap)  # EPERM without CAP_SETPCAP (Docker): then NNP guards
    keep = sum(1 << cap for cap in KEEP_CAPS)
    header = (ctypes.c_uint32 * 2)(0x20080522, 0)
    data = (ctypes.c_uint32 * 6)(keep, keep, 0, 0, 0, 0)  # effective, permitted, inheritable
    _libc.capset(header, data)
    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL)


# ---------------------------------------------------------------- messages


def send_msg(sock: socket.socket, obj: Any, fds: tuple[int, ...] | list[int] = ()) -> None:
    data = json.dumps(obj).encode()
    head = struct.pack("!I", len(data))
    if fds:
        socket.send_fds(sock, [head], list(fds))
        sock.sendall(data)
    else:
        sock.sendall(head + data)


class MsgReader:
    """Reads length-prefixed JSON messages (and any fds sent with them) from a socket."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buf = bytearray()
        self.fds: list[int] = []
        self.eof = False

    def fill(self) -> bool:
        """One read; False at end of stream."""
        data, fds, _, _ = socket.recv_fds(self.sock, 1 << 16, 8)
        self.fds += fds
        if not data:
            self.eof = True
            return False
        self.buf += data
        return True

    def pop(self) -> Any:
        """The next complete message, or None."""
        if len(self.buf) < 4:
            return None
        (n,) = struct.unpack("!I", self.buf[:4])
        if len(self.buf) < 4 + n:
            return None
        msg = json.loads(bytes(self.buf[4:4 + n]))
        del self.buf[:4 + n]
        return msg

    def next(self) -> Any:
        """Block for the next message; None at end of stream."""
        while True:
            msg = self.pop()
            if msg is not None:
                return msg
            if self.eof or not self.fill():
                return None

    def take_fds(self, n: int) -> list[int]:
        got, self.fds = self.fds[:n], self.fds[n:]
        return got


# ---------------------------------------------------------------- process sweeps


def _pids() -> list[int]:
    return [int(e) for e in os.listdir("/proc") if e.isdigit()]


def _status_of(pid: int) -> tuple[int | None, bytes | None] | None:
    """(real uid, state) of a process, or None when it is gone."""
    try:
        with open(f"/proc/{pid}/status", "rb") as f:
            uid: int | None = None
            state: bytes | None = None
            for line in f:
                if line.startswith(b"State:"):
                    state = line.split()[1]
                elif line.startswith(b"Uid:"):
                    uid = int(line.split()[1])
                    break
            return uid, state
    except (OSError, ValueError, IndexError):
        return None


def _kill_all(pids: list[int]) -> None:
    for sig in (signal.SIGSTOP, signal.SIGKILL):  # stopped first: a fork bomb cannot refill
        for pid in pids:
            try:
                os.kill(pid, sig)
            except OSError:
                pass


def _live(pids: list[int]) -> list[int]:
    out = []
    for pid in pids:
        st = _status_of(pid)
        if st is not None and st[1] != b"Z":
            out.append(pid)
    return out


def sweep_namespace(keep: set[int], rounds: int = 200) -> int:
    """Kill every process of this pid namespace except `keep` (pid 1, the template, the
    runner). Only meaningful where the sandbox has its own pid namespace."""
    me = os.getpid()
    keep = set(keep) | {1, me}
    killed = 0
    for _ in range(rounds):
        pids = _live([p for p in _pids() if p not in keep])
        if not pids:
            break
        _kill_all(pids)
        killed += len(pids)
        reap()
        time.sleep(0.001)
    return killed


def sweep_marker(marker: str, rounds: int = 100) -> int:
    """Kill every process whose initial environment holds `marker` (``NAME=value``)."""
    needle = b"\0" + marker.encode() + b"\0"
    me = os.getpid()
    killed = 0
    for _ in range(rounds):
        pids = []
        for pid in _pids():
            if pid == me:
                continue
            try:
                with open(f"/proc/{pid}/environ", "rb") as f:
                    if needle in b"\0" + f.read() + b"\0":
                        pids.append(pid)
            except OSError:
                continue
        pids = _live(pids)
        if not pids:
            break
        _kill_all(pids)
        killed += len(pids)
        reap()
        time.sleep(0.002)
    return killed


def sweep_uid(uid: int, rounds: int = 200) -> int:
    """Kill every process of `uid` (we hold CAP_KILL: no fork needed, so a fork bomb that used
    up the pids cannot stop it), then delete its files at the top of the scratch folders (a
    forked helper that takes the uid: the sticky /tmp lets only the owner unlink)."""
    me = os.getpid()
    killed = 0
    for _ in range(rounds):
        mine = []
        for p in _pids():
            st = _status_of(p) if p != me else None
            if st is not None and st[0] == uid and st[1] != b"Z":
                mine.append(p)
        if not mine:
            break
        _kill_all(mine)
        killed += len(mine)
        reap()
        time.sleep(0.001)
    try:
        pid = os.fork()
    except OSError:
        return killed  # no pid to spare: the files stay until the runner's end
    if pid == 0:
        try:
            os.setgroups([])
            os.setresgid(uid, uid, uid)
            os.setresuid(uid, uid, uid)
            _remove_own_files(uid)
        finally:
            os._exit(0)
    wait_child(pid)
    reap()
    return killed


def _remove_own_files(uid: int) -> None:
    import shutil

    for d in SCRATCH_DIRS:
        try:
            entries = list(os.scandir(d))
        except OSError:
            continue
        for e in entries:
            try:
                if e.stat(follow_symlinks=False).st_uid != uid:
                    continue
                if e.is_dir(follow_symlinks=False):
                    shutil.rmtree(e.path, ignore_errors=True)
                else:
                    os.unlink(e.path)
            except OSError:
                continue


_REAPED: dict[int, int] = {}  # pid -> wait status, for a child reaped by `reap`
CPU: list[float] = [0.0]  # CPU-seconds of every child reaped since the last candidate began


def reap() -> None:
    """Collect every exited child (the template is a subreaper: orphans come here)."""
    while True:
        try:
            pid, status, usage = os.wait4(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        CPU[0] += usage.ru_utime + usage.ru_stime
        _REAPED[pid] = status
        if len(_REAPED) > 4096:
            _REAPED.pop(next(iter(_REAPED)))


def wait_child(pid: int) -> int:
    """The wait status of our child `pid` (also when `reap` collected it first)."""
    try:
        _, status, usage = os.wait4(pid, 0)
    except ChildProcessError:
        return _REAPED.pop(pid, 0)
    CPU[0] += usage.ru_utime + usage.ru_stime
    return status


# ---------------------------------------------------------------- the candidate child

_PID: list[int] = [0]  # the candidate's own pid: forked copies of it may not send its result


def _plain(v: Any, depth: int = 0) -> Any:
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
    raise TypeError(f"cannot send a {type(v).__name__} back to the evaluator")


def _write_value(data: bytes) -> None:
    if os.getpid() != _PID[0]:
        raise RuntimeError("only the candidate's own process may send its result")
    view = memoryview(data)
    while view:
        view = view[os.write(VALUE_FD, view):]


_SENT: list[bool] = [False]


def emit(value: Any) -> None:
    """Send the candidate's value back to the evaluator (once)."""
    if _SENT[0]:
        raise RuntimeError("emit() called twice")
    data = json.dumps({"value": _plain(value)}).encode()
    _write_value(data)
    _SENT[0] = True


def _load_candidate(entry: str) -> Any:
    import importlib.util

    spec = importlib.util.spec_from_file_location("candidate", entry)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules["candidate"] = mod
    spec.loader.exec_module(mod)
    return mod


def _retitle(cmdline: str, environ: str) -> None:
    """Rewrite our own /proc/<pid>/cmdline and /proc/<pid>/environ in place (the kernel reads
    them from the memory the exec left; a forked candidate would otherwise show the
    template's): the candidate's program name and run marker, for sweeps and for people."""
    try:
        with open("/proc/self/stat", "rb") as f:
            fields = f.read().rsplit(b")", 1)[1].split()
        spans = ((int(fields[45]), int(fields[46]), cmdline),
                 (int(fields[47]), int(fields[48]), environ))
    except (OSError, ValueError, IndexError):
        return
    for start, end, text in spans:
        room = end - start
        if room <= 1:
            continue
        data = text.encode()[: room - 1]
        ctypes.memmove(start, data + b"\0" * (room - len(data)), room)


def _child_setup(msg: dict[str, Any], fds: list[int]) -> None:
    """In the forked child: confine, then become the candidate's process."""
    os.setsid()
    out_w, err_w, val_w = fds
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.dup2(out_w, 1)
    os.dup2(err_w, 2)
    os.dup2(val_w, VALUE_FD)
    os.closerange(VALUE_FD + 1, 1 << 16)  # the template's socket and anything else inherited
    try:
        with open("/proc/self/oom_score_adj", "w") as f:
            f.write("1000")
    except OSError:
        pass
    for name in ("SIGINT", "SIGTERM", "SIGPIPE", "SIGXFSZ", "SIGCHLD"):
        signal.signal(getattr(signal, name), signal.SIG_DFL)
    os.chdir(msg["run_dir"])
    uid = msg.get("uid")
    if uid is not None:
        os.setgroups([])
        os.setresgid(uid, uid, uid)
        os.setresuid(uid, uid, uid)
    prctl(PR_SET_PDEATHSIG, signal.SIGKILL)  # after the uid change, which clears it
    if os.getppid() == 1:  # the template died meanwhile
        os._exit(1)
    prctl(PR_SET_NO_NEW_PRIVS, 1)
    import resource

    for name, soft, hard in msg["rlimits"]:
        try:
            resource.setrlimit(getattr(resource, name), (soft, hard))
        except (ValueError, OSError):
            pass
    os.umask(0o022)
    os.environ.clear()  # from here no C environ pointer points into the exec's strings
    os.environ.update(msg["env"])
    marker = "{}={}".format(MARKER_VAR, msg["env"].get(MARKER_VAR, ""))
    _retitle("codeevo-candidate\0{}".format(msg["entry"]), marker)
    sys.stdin = open(0, closefd=False)
    sys.stdout = io.TextIOWrapper(open(1, "wb", closefd=False), line_buffering=True)
    sys.stderr = io.TextIOWrapper(open(2, "wb", closefd=False), line_buffering=True)
    sys.argv = [msg["entry"]]
    sys.path.insert(0, os.path.dirname(os.path.abspath(msg["entry"])))
    _PID[0] = os.getpid()


def _flush() -> None:
    for s in (sys.stdout, sys.stderr):
        try:
            s.flush()
        except BaseException:
            pass


def run_child(msg: dict[str, Any], fds: list[int]) -> None:
    """Body of the candidate's process; never returns."""
    try:
        _child_setup(msg, fds)
    except BaseException as exc:
        try:
            os.write(VALUE_FD, json.dumps({"error": f"sandbox set-up failed: {exc}",
                                           "type": "SetupError"}).encode())
        finally:
            os._exit(1)
    call = msg["call"]
    try:
        if call["driver"] is None:
            fn = getattr(_load_candidate(msg["entry"]), call["function"], None)
            if not callable(fn):
                name = call["function"]
                raise AttributeError(f"the program defines no function {name!r}")
            emit(fn(*call["args"], **call["kwargs"]))
        else:
            exec(compile(call["driver"], "<driver>", "exec"), {
                "__name__": "__driver__", "emit": emit, "args": call["args"],
                "kwargs": call["kwargs"], "function": call["function"],
                "load_candidate": lambda: _load_candidate(msg["entry"])})
    except BaseException as exc:
        if not _SENT[0] and os.getpid() == _PID[0]:
            try:
                if isinstance(exc, SystemExit):
                    m = f"the program exited (code {exc.code!r}) without a result"
                else:
                    m = (f"{type(exc).__name__}: {exc}").splitlines()[0][:500]
                _write_value(json.dumps({"error": m, "type": type(exc).__name__,
                                         "traceback": traceback.format_exc()[-8000:]}).encode())
            except BaseException:
                try:
                    _write_value(b'{"error": "MemoryError", "type": "MemoryError"}')
                except BaseException:
                    pass
        _flush()
        os._exit(1)
    _flush()
    os._exit(0)


# ---------------------------------------------------------------- the template


class Template:
    """Forks candidates on request and sweeps what each one leaves."""

    def __init__(self, sock: socket.socket, cfg: dict[str, Any]) -> None:
        self.sock = sock
        self.reader = MsgReader(sock)
        self.cfg = cfg
        self.runner_pid = os.getppid()

    def sweep(self, msg: dict[str, Any]) -> int:
        mode = self.cfg.get("sweep")
        if mode == "uid" and msg.get("uid") is not None:
            return sweep_uid(int(msg["uid"]))
        if mode == "namespace":
            return sweep_namespace({self.runner_pid})
        return sweep_marker("{}={}".format(MARKER_VAR, msg["env"].get(MARKER_VAR, "")))

    def serve(self) -> None:
        while True:
            msg = self.reader.next()
            if msg is None:
                return
            if msg.get("op") != "spawn":
                continue
            fds = self.reader.take_fds(3)
            CPU[0] = 0.0
            pid = os.fork()
            if pid == 0:
                run_child(msg, fds)
            for fd in fds:
                os.close(fd)
            send_msg(self.sock, {"pid": pid})
            status, killed = self.supervise(pid, msg)
            swept = self.sweep(msg)
            reap()
            if status is None:  # the runner went away mid-candidate
                return
            send_msg(self.sock, {"exit": status, "killed": killed, "swept": swept,
                                 "cpu": CPU[0]})

    def kill(self, pid: int, msg: dict[str, Any]) -> None:
        """Kill the candidate now (its whole uid when it has its own)."""
        _kill_group(pid)
        if self.cfg.get("sweep") == "uid" and msg.get("uid") is not None:
            sweep_uid(int(msg["uid"]))

    def supervise(self, pid: int, msg: dict[str, Any]) -> tuple[int | None, bool]:
        """Wait for the candidate's exit, killing it on request. Returns (wait status or
        None when the runner's socket closed, whether it was killed on request)."""
        pidfd = os.pidfd_open(pid)
        sel = selectors.DefaultSelector()
        sel.register(pidfd, selectors.EVENT_READ, "exit")
        sel.register(self.sock, selectors.EVENT_READ, "sock")
        killed = False
        try:
            while True:
                for key, _ in sel.select():
                    if key.data == "exit":
                        return wait_child(pid), killed
                    if not self.reader.fill():
                        self.kill(pid, msg)
                        wait_child(pid)
                        return None, True
                    while (m := self.reader.pop()) is not None:
                        if m.get("op") == "kill":
                            killed = True
                            self.kill(pid, msg)
        finally:
            sel.close()
            os.close(pidfd)


def _kill_group(pid: int) -> None:
    for target in (-pid, pid):
        try:
            os.kill(target, signal.SIGKILL)
        except OSError:
            pass


def warm(names: list[str]) -> tuple[list[str], dict[str, str]]:
    """Import each module; returns (imported, {name: error})."""
    import importlib

    done, failed = [], {}
    for name in names:
        try:
            importlib.import_module(name)
            done.append(name)
        except BaseException as exc:  # a missing module must not stop the template
            failed[name] = (f"{type(exc).__name__}: {exc}")[:300]
    return done, failed


def template_main(argv: list[str]) -> None:
    """argv: [-c, "codeevo-template", socket fd, settings (JSON), padding]; the padding is room
    for a candidate's title in its (inherited) command line."""
    sock = socket.socket(fileno=int(argv[2]))
    cfg = json.loads(argv[3])
    make_undumpable()
    prctl(PR_SET_CHILD_SUBREAPER, 1)
    keep_only_setuid_caps()
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    imported, failed = warm(cfg.get("warm_imports") or [])
    send_msg(sock, {"ready": True, "pid": os.getpid(), "imported": imported, "failed": failed})
    try:
        Template(sock, cfg).serve()
    finally:
        os._exit(0)


if __name__ == "__main__":
    template_main(sys.argv)
