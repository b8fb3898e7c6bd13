"""Sandbox image recipes, their version labels, and the builders (registry and offline).

Three images (see ``sandboxes/README.md``):

* ``codeevo-cpu``: python3 + numpy. Every CPU problem (circle packing, the tests).
* ``codeevo-torch``: codeevo-cpu + Debian's CPU-only PyTorch. The merge problem, and what the
  ``docker-gpu`` profile falls back to on a host that has no ``codeevo-gpu``.
* ``codeevo-gpu``: CUDA + PyTorch from ``sandboxes/gpu/Dockerfile`` (needs a registry).

Each image carries ``org.codeevo.image-version``; the version below is bumped whenever a recipe
changes, and ``codeevo doctor`` calls an image whose label differs *stale*.

The offline builder needs no registry: it debootstraps a minimal Debian with the recipe's
packages from the mirror named in the host's apt sources (read at build time, never stored
here), adds the unprivileged user (uid 1000), and ``docker import``s the tree.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from codeevo.errors import CodeevoError, ConfigError

VERSION_LABEL = "org.codeevo.image-version"
FLAVOR_LABEL = "org.codeevo.image"
SANDBOX_UID = 1000
DEBIAN_SUITE = "bookworm"
APT_SOURCES = (Path("/etc/apt/sources.list"), Path("/etc/apt/sources.list.d"))
MIRROR_ENV = "CODEEVO_DEBIAN_MIRROR"


@dataclass(frozen=True)
class ImageRecipe:
    """How to build one sandbox image."""

    flavor: str
    name: str
    version: str
    dockerfile: str | None  # relative to the sandboxes/ folder; None = offline only
    offline_packages: tuple[str, ...] | None  # Debian packages; None = no offline recipe
    description: str

    @property
    def tag(self) -> str:
        return f"{self.name}:latest"


# Debian's numpy and torch call BLAS through libblas.so.3, which is the unoptimised reference
# build unless an optimised one is installed (update-alternatives picks it). With the reference
# build, scoring the merge problem took 20x the CPU of the same code on the host's wheels.
OPENBLAS = "libopenblas0-pthread"

RECIPES: dict[str, ImageRecipe] = {
    "cpu": ImageRecipe(
        "cpu",
        "codeevo-cpu",
        "2",
        "cpu/Dockerfile",
        ("python3", "python3-numpy", OPENBLAS),
        "python3 + numpy",
    ),
    "torch": ImageRecipe(
        "torch",
        "codeevo-torch",
        "2",
        "torch/Dockerfile",
        ("python3", "python3-numpy", "python3-torch", OPENBLAS),
        "python3 + numpy + CPU PyTorch",
    ),
    "gpu": ImageRecipe(
        "gpu",
        "codeevo-gpu",
        "1",
        "gpu/Dockerfile",
        None,
        "CUDA + PyTorch (registry build only)",
    ),
}


def recipe_for_image(image: str) -> ImageRecipe | None:
    """The recipe whose image name is `image` (with or without a tag), if it is one of ours."""
    head, sep, tail = image.rpartition(":")
    name = head if sep and "/" not in tail else image
    for recipe in RECIPES.values():
        if name == recipe.name:
            return recipe
    return None


def recipe(flavor: str) -> ImageRecipe:
    try:
        return RECIPES[flavor]
    except KeyError:
        raise ConfigError(
            f"unknown image flavor {flavor!r} (known: {', '.join(RECIPES)})"
        ) from None


def sandboxes_dir() -> Path:
    """The repository's ``sandboxes/`` folder (recipes live beside the package, not in it)."""
    env = os.environ.get("CODEEVO_SANDBOXES_DIR")
    candidates = [Path(env)] if env else []
    candidates += [Path(__file__).resolve().parents[2] / "sandboxes", Path.cwd() / "sandboxes"]
    for path in candidates:
        if (path / "cpu" / "Dockerfile").is_file():
            return path
    raise CodeevoError(
        "sandboxes/ (the image recipes) not found; run from the codeevo checkout "
        "or set CODEEVO_SANDBOXES_DIR"
    )


# ---------------------------------------------------------------- apt mirror


@dataclass(frozen=True)
class AptSource:
    uri: str
    suites: tuple[str, ...]
    components: tuple[str, ...]
    signed_by: str | None
    origin: str  # file (and line) it came from


def read_apt_sources(paths: Iterable[Path] = APT_SOURCES) -> list[AptSource]:
    """Every enabled ``deb`` source in one-line (``.list``) and deb822 (``.sources``) files."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files += sorted(p for p in path.iterdir() if p.suffix in (".list", ".sources"))
        elif path.is_file():
            files.append(path)
    out: list[AptSource] = []
    for file in files:
        try:
            text = file.read_text()
        except OSError:
            continue
        if file.suffix == ".sources":
            out += _parse_deb822(text, str(file))
        else:
            out += _parse_one_line(text, str(file))
    return out


def _parse_one_line(text: str, origin: str) -> list[AptSource]:
    out = []
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line.startswith("deb "):
            continue
        options: dict[str, str] = {}
        m = re.match(r"deb\s+\[([^\]]*)\]\s+(.*)", line)
        rest = line[4:].strip()
        if m:
            for opt in m.group(1).split():
                key, _, value = opt.partition("=")
                options[key] = value
            rest = m.group(2)
        fields = rest.split()
        if len(fields) < 2:
            continue
        out.append(
            AptSource(
                fields[0], (fields[1],), tuple(fields[2:]), options.get("signed-by"),
                f"{origin}:{n}",
            )
        )
    return out


def _parse_deb822(text: str, origin: str) -> list[AptSource]:
    out = []
    for stanza in re.split(r"\n\s*\n", text):
        fields: dict[str, str] = {}
        key = ""
        for raw in stanza.splitlines():
            if raw.startswith("#") or not raw.strip():
                continue
            if raw[0] in " \t" and key:
                fields[key] += " " + raw.strip()
                continue
            key, _, value = raw.partition(":")
            key = key.strip().lower()
            fields[key] = value.strip()
        if "deb" not in fields.get("types", "").split():
            continue
        if fields.get("enabled", "yes").lower() in ("no", "false", "0"):
            continue
        for uri in fields.get("uris", "").split():
            out.append(
                AptSource(
                    uri,
                    tuple(fields.get("suites", "").split()),
                    tuple(fields.get("components", "").split()),
                    fields.get("signed-by") or None,
                    origin,
                )
            )
    return out


def find_mirror(sources: list[AptSource], suite: str = DEBIAN_SUITE) -> AptSource:
    """The host's Debian mirror for `suite` (a ``main`` source, not the security archive)."""
    env = os.environ.get(MIRROR_ENV)
    if env:
        return AptSource(env, (suite,), ("main",), None, f"${MIRROR_ENV}")
    for src in sources:
        if suite in src.suites and (not src.components or "main" in src.components):
            return src
    where = ", ".join(str(p) for p in APT_SOURCES)
    raise CodeevoError(
        f"no apt source for Debian {suite} main in {where}; "
        f"set {MIRROR_ENV} to a Debian mirror URL"
    )


# ---------------------------------------------------------------- builders


def offline_commands(
    rec: ImageRecipe, rootfs: Path, mirror: AptSource, tag: str
) -> tuple[list[str], list[str]]:
    """The debootstrap command and the ``docker import`` command for `rec`."""
    if rec.offline_packages is None:
        raise CodeevoError(
            f"image {rec.name} has no offline recipe (CUDA cannot be debootstrapped); "
            "`codeevo sandbox build torch --offline` builds a CPU-only PyTorch image that "
            "the docker-gpu profile falls back to"
        )
    boot = ["debootstrap", "--variant=minbase", f"--include={','.join(rec.offline_packages)}"]
    if mirror.signed_by and Path(mirror.signed_by).is_file():
        boot.append(f"--keyring={mirror.signed_by}")
    boot += [DEBIAN_SUITE, str(rootfs), mirror.uri]
    imp = ["docker", "import"]
    for change in image_changes(rec):
        imp += ["--change", change]
    imp += ["-", tag]
    return boot, imp


def image_changes(rec: ImageRecipe) -> list[str]:
    """Dockerfile instructions applied on import (what a Dockerfile's tail would say)."""
    return [
        f"LABEL {VERSION_LABEL}={rec.version} {FLAVOR_LABEL}={rec.flavor}",
        f"USER {SANDBOX_UID}:{SANDBOX_UID}",
        "WORKDIR /work",
        "ENV HOME=/work LANG=C.UTF-8 PYTHONDONTWRITEBYTECODE=1",
        'CMD ["python3"]',
    ]


def finish_rootfs(rootfs: Path) -> None:
    """Add the unprivileged user and the work dir; drop what a sandbox never needs."""
    etc = rootfs / "etc"
    passwd = (etc / "passwd").read_text()
    if f":{SANDBOX_UID}:" not in passwd:
        (etc / "passwd").write_text(
            passwd + f"codeevo:x:{SANDBOX_UID}:{SANDBOX_UID}:codeevo:/work:/usr/sbin/nologin\n"
        )
        (etc / "group").write_text((etc / "group").read_text() + f"codeevo:x:{SANDBOX_UID}:\n")
    work = rootfs / "work"
    work.mkdir(exist_ok=True)
    os.chown(work, SANDBOX_UID, SANDBOX_UID)
    work.chmod(0o700)
    for rel in ("var/cache/apt/archives", "var/lib/apt/lists", "usr/share/doc", "usr/share/man",
                "usr/share/locale", "usr/share/info"):
        target = rootfs / rel
        if target.is_dir():
            for child in target.iterdir():
                if child.is_dir() and not child.is_symlink():
                    shutil.rmtree(child, ignore_errors=True)
                else:
                    child.unlink(missing_ok=True)


def build_offline(rec: ImageRecipe, tag: str | None = None, workdir: Path | None = None) -> str:
    """Debootstrap + import `rec`; returns the tag. Needs root, debootstrap and the docker CLI."""
    if rec.offline_packages is None:
        offline_commands(rec, Path(), AptSource("", (), (), None, ""), "")  # raises: why not
    for tool in ("debootstrap", "docker", "tar"):
        if shutil.which(tool) is None:
            raise CodeevoError(f"offline image build needs `{tool}` on PATH")
    if os.geteuid() != 0:
        raise CodeevoError("offline image build needs root (debootstrap creates device nodes)")
    mirror = find_mirror(read_apt_sources())
    tag = tag or rec.tag
    base = Path(tempfile.mkdtemp(prefix=f"codeevo-{rec.flavor}-", dir=workdir or "/var/tmp"))
    rootfs = base / "rootfs"
    boot, imp = offline_commands(rec, rootfs, mirror, tag)
    print(f"mirror: {mirror.uri} (from {mirror.origin})", file=sys.stderr)
    try:
        t0 = time.monotonic()
        _check(subprocess.run(boot, stdout=subprocess.DEVNULL), "debootstrap")
        finish_rootfs(rootfs)
        t1 = time.monotonic()
        tar = subprocess.Popen(
            ["tar", "--numeric-owner", "-C", str(rootfs), "-c", "."], stdout=subprocess.PIPE
        )
        result = subprocess.run(imp, stdin=tar.stdout, stdout=subprocess.DEVNULL)
        assert tar.stdout is not None
        tar.stdout.close()
        _check(subprocess.CompletedProcess(["tar"], tar.wait()), "tar")
        _check(result, "docker import")
        print(
            f"built {tag} ({rec.description}, version {rec.version}): "
            f"debootstrap {t1 - t0:.0f}s, import {time.monotonic() - t1:.0f}s",
            file=sys.stderr,
        )
    finally:
        shutil.rmtree(base, ignore_errors=True)
    return tag


def build_dockerfile(rec: ImageRecipe, tag: str | None = None) -> str:
    """``docker build`` from the recipe's Dockerfile (needs a registry for the base image)."""
    if rec.dockerfile is None:
        raise CodeevoError(f"image {rec.name} has no Dockerfile; build it with --offline")
    if shutil.which("docker") is None:
        raise CodeevoError("building an image needs the `docker` CLI on PATH")
    dockerfile = sandboxes_dir() / rec.dockerfile
    tag = tag or rec.tag
    cmd = [
        "docker", "build", "-f", str(dockerfile), "-t", tag,
        "--build-arg", f"CODEEVO_IMAGE_VERSION={rec.version}",
        "--build-arg", f"CODEEVO_UID={SANDBOX_UID}",
        str(dockerfile.parent),
    ]
    _check(subprocess.run(cmd), "docker build")
    return tag


def _check(result: subprocess.CompletedProcess[bytes], what: str) -> None:
    if result.returncode != 0:
        raise CodeevoError(f"{what} failed (exit {result.returncode})")


def cli_image_version(tag: str) -> str | None:
    """The image's version label via the docker CLI (None: no such image). Stdlib only, so CI
    can check images before the package's dependencies are installed."""
    fmt = "{{index .Config.Labels \"" + VERSION_LABEL + "\"}}"
    done = subprocess.run(
        ["docker", "image", "inspect", "-f", fmt, tag], capture_output=True, text=True
    )
    if done.returncode != 0:
        return None
    value = done.stdout.strip()
    return "" if value == "<no value>" else value


def main(argv: list[str] | None = None) -> int:
    """``python -m codeevo.sandbox.images FLAVOR [--if-stale] [--tag T]``: offline build that
    needs nothing beyond the standard library (used by ``.ci/docker-setup.sh``)."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m codeevo.sandbox.images")
    parser.add_argument("flavor", choices=[f for f, r in RECIPES.items() if r.offline_packages])
    parser.add_argument("--if-stale", action="store_true")
    parser.add_argument("--tag")
    args = parser.parse_args(argv)
    rec = recipe(args.flavor)
    tag = args.tag or rec.tag
    have = cli_image_version(tag) if args.if_stale else None
    if args.if_stale and have == rec.version:
        print(f"{tag} is up to date (version {rec.version})")
        return 0
    try:
        build_offline(rec, tag)
    except CodeevoError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
