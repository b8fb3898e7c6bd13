"""Hostile-program suite: one small program per attack, and what each sandbox kind must do.

Every sandbox runs the same cases (``CASES``) through the tiny evaluator in ``evaluator/``
(problem folder ``problem/``, secret assets in ``assets/``). A case's program defines
``main(*args)``; ``args`` may hold placeholders the test fills in:

- ``{host_dir}``: a root-owned folder (mode 0755) on the host holding ``root-only.txt``
  (mode 0600) and ``world.txt`` (mode 0644), both with content ``HOST_SECRET``; nothing may be
  written into it.
- ``{project}``: this checkout (its listing must stay invisible to candidates).
- ``{host}`` / ``{port}``: a TCP listener the test runs on the host; a connection to it
  means the candidate reached the network.

Sandbox kinds (keys of ``expect``):

- ``local``: LocalSandbox with the driver running as root (fresh uid + namespaces).
- ``local-unconfined``: LocalSandbox with a non-root driver (no uid drop, no namespaces).
- ``docker``: DockerSandbox (network none, read-only root, tmpfs, non-root, caps dropped).

``Expect.statuses`` is the set of acceptable ``EvalResult.status`` values; ``contained`` says
whether the case's specific threat (see ``Case.threat``) is stopped by that kind. Where it is
not, the suite asserts that the threat really gets through, so docs/security.md stays honest.
Checks made for every case and kind: no secret (environment key, asset, root-only file) in
anything recorded, score never above ``MAX_SCORE``, no process left, and a normal program
still scores afterwards.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
PROBLEM_DIR = HERE / "problem"
EVALUATOR_DIR = HERE / "evaluator"
ASSETS_DIR = HERE / "assets"
PROGRAMS_DIR = HERE / "programs"

ENV_SECRET = "sk-test-secret"  # set as OPENAI_API_KEY in the driver's environment
ASSET_SECRET = "asset-secret-7f3a9c"  # content of assets/secret.txt
HOST_SECRET = "host-secret-51d2e8"  # content of {host_dir}/root-only.txt
MAX_SCORE = 1.0  # the evaluator never scores higher; a forged score would
KINDS = ("local", "local-unconfined", "docker")


@dataclass(frozen=True)
class Expect:
    """What one sandbox kind must do with a case."""

    statuses: frozenset[str]
    contained: bool = True
    note: str = ""


def _e(*statuses: str, contained: bool = True, note: str = "") -> Expect:
    return Expect(frozenset(statuses), contained, note)


@dataclass(frozen=True)
class Case:
    """One attack.

    Attributes:
        name: short id (also the program's file stem).
        threat: what is checked beyond the common checks: "network" (the host listener got a
            connection), "host_write" (a file appeared in {host_dir} or /tmp after the run),
            "host_read" (HOST_SECRET in the result), "env" (ENV_SECRET), "asset"
            (ASSET_SECRET), "forge" (score above MAX_SCORE), or "" (status only).
        args: arguments for main(), with placeholders.
        expect: sandbox kind -> Expect.
    """

    name: str
    threat: str
    expect: dict[str, Expect]
    args: tuple[str, ...] = ()
    tags: tuple[str, ...] = field(default=())

    @property
    def program_path(self) -> Path:
        return PROGRAMS_DIR / f"{self.name}.py"

    @property
    def program(self) -> str:
        return self.program_path.read_text()


def _all(exp: Expect) -> dict[str, Expect]:
    return {kind: exp for kind in KINDS}


CASES: list[Case] = [
    Case("network", "network", args=("{host}", "{port}"), expect={
        "local": _e("ok", note="private network namespace: no interface is up"),
        "local-unconfined": _e("ok", contained=False,
                               note="no namespaces without root: the host network is reachable"),
        "docker": _e("ok", note="network_mode none"),
    }),
    Case("fork_bomb", "", expect=_all(_e("timeout", note="RLIMIT_NPROC / pids limit; swept"))),
    Case("memory_hog", "", expect=_all(_e("oom", note="RLIMIT_AS (docker: also the cgroup)"))),
    Case("disk_fill", "", expect={
        "local": _e("failed", note="RLIMIT_FSIZE per file; the runner kills past disk_mb "
                    "or max_files"),
        "local-unconfined": _e("failed", note="as local"),
        "docker": _e("failed", note="disk quota: a full tmpfs (size, nr_inodes) ends it as "
                     "killed; inodes are bounded, so the memory limit never trips first"),
    }),
    Case("loop_forever", "", expect=_all(_e("timeout"))),
    Case("daemon", "", expect=_all(_e(
        "ok", note="escaped into its own session; swept by uid / run marker / pid namespace"))),
    Case("flood_stdout", "", expect=_all(_e("ok", note="output capped while it streams"))),
    Case("write_host", "host_write", args=("{host_dir}",), expect={
        "local": _e("ok", note="fresh uid cannot write the driver's folders; what it leaves "
                    "in /tmp, /var/tmp, /dev/shm is deleted after the run"),
        "local-unconfined": _e("ok", contained=False,
                               note="same uid as the driver: its folders are writable"),
        "docker": _e("ok", note="read-only root, only a tmpfs is writable"),
    }),
    Case("read_env", "env", expect={
        "local": _e("ok", note="allow-listed environment; other uids' environ unreadable"),
        "local-unconfined": _e("ok", contained=False,
                               note="same uid: /proc/<driver>/environ is readable"),
        "docker": _e("ok", note="allow-listed environment; own pid namespace"),
    }),
    Case("kill_parent", "", expect={
        "local": _e("failed", note="its parent is the template, another uid: EPERM"),
        "local-unconfined": _e("crashed", note="same uid: the template dies, the job is "
                               "recorded as crashed and the runner replaced"),
        "docker": _e("failed", note="its parent is the template, another uid: EPERM"),
    }),
    Case("escape_workdir", "host_read", args=("{host_dir}",), expect={
        "local": _e("ok", note="root-only files unreadable; world-readable ones (/etc/passwd) "
                    "are readable"),
        "local-unconfined": _e("ok", contained=False, note="same uid as the driver"),
        "docker": _e("ok", note="the host filesystem is not mounted"),
    }),
    Case("forge_print", "forge", expect=_all(_e(
        "ok", note="the nonce never reaches candidates; the runner is not dumpable"))),
    Case("forge_patch", "forge", expect=_all(_e(
        "ok", note="the candidate patches only its own process"))),
    Case("forge_file", "forge", expect=_all(_e("ok", note="no result file is ever read"))),
    Case("read_assets", "asset", expect=_all(_e(
        "ok", note="assets deleted after setup, before any candidate starts"))),
    Case("steal_pipe", "forge", expect=_all(_e(
        "ok", note="pid 1 is the runner (not dumpable; docker-init is gone), the template "
        "never held the channel; the marker-less survivor is swept"))),
    Case("symlink_out", "host_read", args=("{host_dir}",), expect=_all(_e(
        "ok", note="outputs are read with O_NOFOLLOW inside the run folder only"))),
    Case("read_world", "host_read", args=("{host_dir}",), expect={
        "local": _e("ok", note="bubblewrap: only the interpreter and /usr are mounted"),
        "local-unconfined": _e("ok", contained=False, note="the host's files are visible"),
        "docker": _e("ok", note="the host filesystem is not mounted"),
    }),
    Case("list_host", "host_list", args=("{host_dir}", "{project}"), expect={
        "local": _e("ok", note="bubblewrap: no home, project or run folder exists inside"),
        "local-unconfined": _e("ok", contained=False, note="the host's folders are visible"),
        "docker": _e("ok", note="the host filesystem is not mounted"),
    }),
]

CASES_BY_NAME = {c.name: c for c in CASES}


def make_job(
    program: str, args: list[str] | tuple[str, ...] = (), *, entry: str = "program.py",
    timeout: float = 2.0,
) -> Any:
    """A SandboxJob running `program`'s main(*args) through the suite's evaluator."""
    from codeevo.problem import load_problem
    from codeevo.sandbox.base import SandboxJob

    problem = load_problem(PROBLEM_DIR)
    return SandboxJob(
        program=program,
        entry=entry,
        evaluator_dir=EVALUATOR_DIR,
        evaluator_module="evaluator",
        stages=tuple(problem.config.stages),
        evaluator_config={"args": list(args), "timeout": timeout},
        assets_dir=ASSETS_DIR,
    )
