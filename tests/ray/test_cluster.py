"""Ray cluster checks, for real: each module of tests/ray/cluster/ runs in its own pytest
inside a private network namespace where only `lo` is up (Ray binds to the host's address
otherwise; there, every packet stays on 127.0.0.1) and, for most, a private PID namespace,
so "nothing left running" is a plain look at /proc.

    unshare --net --pid --fork --mount-proc sh -c \\
        'ip link set lo up && exec python -m pytest -o python_files=check_*.py <module>'

The README's `python -m pytest` runs them through this file. Without Ray, or without a way
to make the namespaces (root, or unprivileged user namespaces), they skip; CI sets
CODEEVO_REQUIRE_RAY=1, which turns that skip into a failure.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHECKS = Path(__file__).with_name("cluster")
REQUIRE = os.environ.get("CODEEVO_REQUIRE_RAY") == "1"
# Modules that must see the host's PID namespace (Docker labels containers with driver pids).
HOST_PIDS = {"check_docker.py"}


def ray_missing(reason: str) -> None:
    """Skip, or fail when Ray is required."""
    if REQUIRE:
        pytest.fail(f"CODEEVO_REQUIRE_RAY=1 but {reason}", pytrace=False)
    pytest.skip(reason)


def _unshare(pid_ns: bool) -> list[str]:
    flags = ["--net"] + (["--pid", "--fork", "--mount-proc"] if pid_ns else [])
    if os.geteuid() != 0:
        flags = ["--user", "--map-root-user", *flags]
    return ["unshare", *flags]


def _namespaces_work(pid_ns: bool) -> str | None:
    if shutil.which("unshare") is None or shutil.which("ip") is None:
        return "unshare or ip (util-linux, iproute2) not installed"
    probe = subprocess.run([*_unshare(pid_ns), "sh", "-c", "ip link set lo up"],
                           capture_output=True, text=True, timeout=60)
    if probe.returncode != 0:
        return f"cannot make a private network namespace: {probe.stderr.strip()[:200]}"
    return None


@pytest.mark.ray
@pytest.mark.timeout(2400)
@pytest.mark.parametrize("check", sorted(p.name for p in CHECKS.glob("check_*.py")))
def test_cluster_check(check: str) -> None:
    if importlib.util.find_spec("ray") is None:
        ray_missing("ray is not installed (pip install 'codeevo[ray]')")
    pid_ns = check not in HOST_PIDS
    why = _namespaces_work(pid_ns)
    if why:
        ray_missing(why)
    inner = (f'ip link set lo up && exec "{sys.executable}" -m pytest -p no:cacheprovider '
             f"-o python_files=check_*.py -q -rfEs tests/ray/cluster/{check}")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])}
    proc = subprocess.run([*_unshare(pid_ns), "sh", "-c", inner], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=2300)
    out = proc.stdout + proc.stderr
    tail = "\n".join(ln for ln in out.splitlines() if "network_util.cc" not in ln)[-12000:]
    assert proc.returncode == 0, f"{check} failed (exit {proc.returncode}):\n{tail}"
    if " skipped" in proc.stdout:  # e.g. no Docker engine: a failure when CI requires Ray
        reasons = [ln for ln in proc.stdout.splitlines() if ln.startswith("SKIPPED")]
        ray_missing(f"{check}: " + "; ".join(reasons or ["skipped inside"]))
    assert " passed" in proc.stdout, tail
