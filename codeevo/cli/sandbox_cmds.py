"""`codeevo sandbox build|list` and `codeevo doctor`: sandbox images and the host's readiness."""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from typing import Any

from codeevo.errors import CodeevoError

# Provider keys `doctor` reports by name (never by value), besides any other *_API_KEY set.
KEY_NAMES = ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GEMINI_API_KEY", "OPENROUTER_API_KEY")


def register(sub: Any) -> None:
    sandbox = sub.add_parser("sandbox", help="build and list the Docker sandbox images")
    ssub = sandbox.add_subparsers(dest="sandbox_command", metavar="SUBCOMMAND")
    ssub.required = True

    build = ssub.add_parser("build", help="build a sandbox image")
    build.add_argument(
        "flavor", choices=["cpu", "torch", "gpu"],
        help="cpu: python3+numpy; torch: + CPU PyTorch (merge problem); gpu: CUDA + PyTorch",
    )
    build.add_argument(
        "--offline", action="store_true",
        help="no registry: debootstrap Debian from the host's apt mirror and docker import it "
        "(root, debootstrap; cpu and torch only)",
    )
    build.add_argument("--tag", help="image tag (default: codeevo-<flavor>:latest)")
    build.add_argument(
        "--if-stale", action="store_true",
        help="do nothing when the image exists with the current version label",
    )
    build.set_defaults(handler=_build)

    listing = ssub.add_parser("list", help="codeevo images and containers on this engine")
    listing.set_defaults(handler=_list)

    doctor = sub.add_parser(
        "doctor", help="check the Docker engine, sandbox images, GPU runtime and API keys "
        "(--executor ray: every node of a Ray cluster)"
    )
    doctor.add_argument("--executor", choices=["local", "ray"], default="local",
                        help="ray: check the cluster's nodes instead of this machine")
    doctor.add_argument("--ray-address", metavar="ADDRESS",
                        help="Ray cluster: auto, HOST:PORT or ray://HOST:10001 "
                        "(implies --executor ray)")
    doctor.set_defaults(handler=_doctor)


def _build(args: argparse.Namespace) -> int:
    from codeevo.sandbox import images

    rec = images.recipe(args.flavor)
    tag = args.tag or rec.tag
    if args.if_stale:
        from codeevo.sandbox.docker import connect, image_version

        have = image_version(connect(), tag)
        if have == rec.version:
            print(f"{tag} is up to date (version {rec.version})")
            return 0
        print(f"{tag}: {'missing' if have is None else f'stale (version {have or None})'}; "
              f"building version {rec.version}", file=sys.stderr)
    if args.offline:
        images.build_offline(rec, tag)
    else:
        images.build_dockerfile(rec, tag)
    print(f"built {tag} (version {rec.version})")
    return 0


def _list(args: argparse.Namespace) -> int:
    del args
    from codeevo.sandbox import reaper
    from codeevo.sandbox.docker import connect, image_labels
    from codeevo.sandbox.images import RECIPES, VERSION_LABEL

    client = connect()
    print("images:")
    for rec in RECIPES.values():
        labels = image_labels(client, rec.tag)
        print(f"  {rec.tag:24} {_image_state(labels, rec.version, VERSION_LABEL):28} "
              f"{rec.description}")
    containers = client.api.containers(all=True, filters={"label": reaper.LABEL})
    print(f"containers: {len(containers)}")
    for c in containers:
        labels = c.get("Labels") or {}
        owner = "alive" if reaper.driver_alive(labels) else "dead (reaped at next start)"
        print(f"  {c['Id'][:12]} {labels.get(reaper.LABEL, '?'):10} {c.get('State', '?'):8} "
              f"driver pid {labels.get(reaper.LABEL_PID, '?')} on "
              f"{labels.get(reaper.LABEL_HOST, '?')}: {owner}")
    return 0


def _image_state(labels: dict[str, str] | None, want: str, key: str) -> str:
    if labels is None:
        return "missing"
    have = labels.get(key)
    if have != want:
        return f"STALE (version {have or 'none'}, want {want})"
    return f"ok (version {want})"


def _doctor(args: argparse.Namespace) -> int:
    """Report readiness; exit 1 when Docker or the current codeevo-cpu image is missing (with
    --executor ray: when a node cannot evaluate)."""
    if args.executor == "ray" or args.ray_address:
        try:
            from codeevo.distributed.doctor import report
        except ImportError as exc:
            from codeevo.executor.select import RAY_MISSING

            raise CodeevoError(f"{RAY_MISSING} ({exc})") from exc
        code = report(args.ray_address)
        _doctor_keys()
        return code
    from codeevo.sandbox import images
    from codeevo.sandbox.docker import DockerUnavailableError, connect, image_labels

    ok = True
    try:
        client = connect(timeout=10)
    except DockerUnavailableError as exc:
        client = None
        ok = False
        print(f"engine      FAIL  {exc} (the local sandbox still works: --sandbox local)")
    if client is not None:
        info = client.info()
        version = client.version()
        print(f"engine      ok    Docker {version.get('Version', '?')}, API "
              f"{version.get('ApiVersion', '?')}, cgroup v{info.get('CgroupVersion', '?')}, "
              f"{info.get('Driver', '?')}")
        for rec in images.RECIPES.values():
            state = _image_state(image_labels(client, rec.tag), rec.version, images.VERSION_LABEL)
            good = state.startswith("ok")
            if rec.flavor == "cpu" and not good:
                ok = False
            hint = ""
            if not good:
                how = " --offline" if rec.offline_packages is not None else ""
                hint = f"; build: codeevo sandbox build {rec.flavor}{how}"
            print(f"image       {'ok  ' if good else 'MISS'}  {rec.tag}: {state} "
                  f"({rec.description}){hint}")
        runtimes = sorted(info.get("Runtimes") or {})
        if any("nvidia" in r for r in runtimes):
            print(f"gpu         ok    NVIDIA runtime listed ({', '.join(runtimes)})")
        else:
            print(f"gpu         --    no NVIDIA runtime ({', '.join(runtimes) or 'none'}): "
                  "--sandbox docker-gpu is unavailable (docker and local work)")
    _doctor_offline(images)
    _doctor_keys()
    return 0 if ok else 1


def _doctor_keys() -> None:
    present = [k for k in KEY_NAMES if os.environ.get(k)]
    present += sorted(k for k in os.environ if k.endswith("_API_KEY") and k not in KEY_NAMES
                      and os.environ[k])
    missing = [k for k in KEY_NAMES if not os.environ.get(k)]
    print(f"api keys    {'ok  ' if present else '--  '}  set: {', '.join(present) or 'none'}; "
          f"not set: {', '.join(missing) or 'none'} (offline runs need none)")


def _doctor_offline(images: Any) -> None:
    tools = [t for t in ("debootstrap", "docker", "tar") if shutil.which(t) is None]
    try:
        mirror = images.find_mirror(images.read_apt_sources())
        where = f"mirror {mirror.uri} (from {mirror.origin})"
    except CodeevoError as exc:
        where = str(exc)
    state = "ok  " if not tools else "--  "
    need = f"missing {', '.join(tools)}; " if tools else ""
    print(f"offline     {state}  {need}{where}")
