"""Pick the sandbox for a run: ``--sandbox auto|local|docker|docker-gpu``.

``auto`` uses Docker when the engine answers and the problem's image is present (the GPU
profile when the problem asks for it and the engine has an NVIDIA runtime), otherwise the
local sandbox; the returned line says which and why. Asking for Docker explicitly when it is
not usable is an error that says what is missing.
"""

from __future__ import annotations

from typing import Any

from codeevo.config import RunConfig, SandboxConfig
from codeevo.errors import CodeevoError
from codeevo.problem import Problem
from codeevo.sandbox.base import Sandbox
from codeevo.sandbox.images import RECIPES, VERSION_LABEL, recipe_for_image


def make_sandbox(run_cfg: RunConfig, problem: Problem) -> tuple[Sandbox, str]:
    """The sandbox for this run and one line saying which one and why."""
    cfg = run_cfg.sandbox
    kind = cfg.kind
    if kind == "local":
        return _local(cfg), f"sandbox: local (--sandbox local; {_local_note()})"
    if kind in ("docker", "docker-gpu"):
        return _docker(cfg, problem, gpu=kind == "docker-gpu", why=f"--sandbox {kind}")
    # auto
    from codeevo.sandbox.docker import DockerUnavailableError, connect, gpu_runtime

    try:
        client = connect(timeout=10)
    except DockerUnavailableError as exc:
        return _local(cfg), f"sandbox: local (auto: {exc}; {_local_note()})"
    gpu = problem.config.sandbox_profile == "docker-gpu" and gpu_runtime(client)
    image = resolve_image(client, cfg, problem, gpu=gpu)
    if _labels(client, image) is None:
        hint = _build_hint(image)
        return _local(cfg), (f"sandbox: local (auto: Docker image {image} not built{hint}; "
                             f"{_local_note()})")
    return _docker(cfg, problem, gpu=gpu, why="auto", client=client)


def auto_kind(problem: Problem, client: Any | None, cfg: SandboxConfig | None = None) -> str:
    """What ``--sandbox auto`` picks for `problem` (without starting anything): `client` is a
    connected docker-py client, or None when no engine answers."""
    if client is None:
        return "local"
    cfg = cfg or SandboxConfig()
    gpu = problem.config.sandbox_profile == "docker-gpu" and gpu_runtime_of(client)
    if _labels(client, resolve_image(client, cfg, problem, gpu=gpu)) is None:
        return "local"
    return "docker-gpu" if gpu else "docker"


def gpu_runtime_of(client: Any) -> bool:
    from codeevo.sandbox.docker import gpu_runtime

    return bool(gpu_runtime(client))


def resolve_image(client: Any, cfg: SandboxConfig, problem: Problem, *, gpu: bool) -> str:
    """``sandbox.image`` if set; for the GPU profile ``codeevo-gpu`` when present; else the
    problem's image (``codeevo-torch`` is the GPU profile's CPU-only fallback)."""
    if cfg.image:
        return cfg.image
    if gpu:
        gpu_image = RECIPES["gpu"].tag
        if _labels(client, gpu_image) is not None:
            return gpu_image
    return problem.config.image


def _docker(
    cfg: SandboxConfig, problem: Problem, *, gpu: bool, why: str, client: Any = None
) -> tuple[Sandbox, str]:
    from codeevo.sandbox.docker import DockerSandbox, DockerUnavailableError, connect

    client = client if client is not None else connect(timeout=10)
    image = resolve_image(client, cfg, problem, gpu=gpu)
    labels = _labels(client, image)
    if labels is None:
        raise DockerUnavailableError(f"Docker image {image} not found{_build_hint(image)}")
    sandbox = DockerSandbox(cfg, image, gpu=gpu, client=client)
    if gpu:
        sandbox.check()  # fail now, clearly, on a host without the NVIDIA runtime
    notes = [f"image {image}"]
    rec = recipe_for_image(image)
    have = labels.get(VERSION_LABEL)
    if rec is not None and have != rec.version:
        notes.append(f"STALE: version {have or 'none'}, recipes at {rec.version}; rebuild "
                     f"with `codeevo sandbox build {rec.flavor}`")
    if gpu and image != RECIPES["gpu"].tag:
        notes.append("no codeevo-gpu image: CPU-only PyTorch")
    notes.append(f"warm runners, {cfg.warm_pool_max_uses} uses each" if cfg.warm_pool
                 else "a fresh container per evaluation")
    return sandbox, f"sandbox: {sandbox.name} ({why}; {', '.join(notes)})"


def _labels(client: Any, image: str) -> dict[str, str] | None:
    from codeevo.sandbox.docker import image_labels

    return image_labels(client, image)


def _build_hint(image: str) -> str:
    rec = recipe_for_image(image)
    if rec is None:
        return ""
    how = "" if rec.offline_packages is None else " --offline"
    return f"; build it with `codeevo sandbox build {rec.flavor}{how}`"


def _local_note() -> str:
    """What the local sandbox will confine candidates with (the strongest option this host
    offers; if its probe fails at the first evaluation, a warning says so)."""
    from codeevo.sandbox.limits import confinement_options

    return confinement_options()[0].describe()


def _local(cfg: SandboxConfig) -> Sandbox:
    try:
        from codeevo.sandbox.local import LocalSandbox
    except ImportError as exc:  # pragma: no cover - local.py ships with the package
        raise CodeevoError(f"local sandbox unavailable: {exc}") from exc
    sandbox: Sandbox = LocalSandbox(cfg)
    return sandbox
