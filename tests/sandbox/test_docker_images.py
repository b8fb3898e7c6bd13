"""Image recipes: apt mirror discovery, the offline builder's commands and rootfs, labels."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from codeevo.errors import CodeevoError
from codeevo.sandbox import images
from codeevo.sandbox.images import (
    RECIPES,
    VERSION_LABEL,
    find_mirror,
    offline_commands,
    read_apt_sources,
    recipe_for_image,
)

REPO = Path(__file__).resolve().parents[2]


def write_sources(tmp_path: Path) -> Path:
    etc = tmp_path / "apt"
    (etc / "sources.list.d").mkdir(parents=True)
    (etc / "sources.list").write_text(
        "# a comment\n"
        "deb-src http://src.example/debian bookworm main\n"
        "deb [arch=amd64 signed-by=/k.gpg] http://one.example/debian-security "
        "bookworm-security main\n"
    )
    (etc / "sources.list.d" / "debian.sources").write_text(
        "Types: deb\n"
        "URIs: http://off.example/debian\n"
        "Suites: bookworm\n"
        "Components: main\n"
        "Enabled: no\n"
        "\n"
        "Types: deb deb-src\n"
        "# mirror the host uses\n"
        "URIs: http://mirror.example/debian\n"
        "Suites: bookworm bookworm-updates\n"
        "Components: main contrib\n"
        "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n"
    )
    (etc / "sources.list.d" / "other.list.disabled").write_text(
        "deb http://disabled.example/debian bookworm main\n"
    )
    return etc


def test_mirror_read_from_one_line_and_deb822_sources(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(images.MIRROR_ENV, raising=False)
    etc = write_sources(tmp_path)
    sources = read_apt_sources([etc / "sources.list", etc / "sources.list.d"])
    uris = [s.uri for s in sources]
    assert "http://src.example/debian" not in uris  # deb-src is not a binary source
    assert "http://off.example/debian" not in uris  # Enabled: no
    assert "http://disabled.example/debian" not in uris  # not a .list/.sources file
    security = next(s for s in sources if "security" in s.uri)
    assert security.signed_by == "/k.gpg" and security.suites == ("bookworm-security",)
    mirror = find_mirror(sources)
    assert mirror.uri == "http://mirror.example/debian"
    assert mirror.signed_by == "/usr/share/keyrings/debian-archive-keyring.gpg"
    assert "debian.sources" in mirror.origin


def test_mirror_missing_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(images.MIRROR_ENV, raising=False)
    with pytest.raises(CodeevoError, match="CODEEVO_DEBIAN_MIRROR"):
        find_mirror([])
    monkeypatch.setenv(images.MIRROR_ENV, "http://env.example/debian")
    assert find_mirror([]).uri == "http://env.example/debian"


def test_offline_commands(tmp_path: Path) -> None:
    mirror = images.AptSource("http://m.example/debian", ("bookworm",), ("main",), None, "x")
    boot, imp = offline_commands(RECIPES["torch"], tmp_path / "root", mirror, "codeevo-torch:t")
    assert boot[:2] == ["debootstrap", "--variant=minbase"]
    assert "--include=python3,python3-numpy,python3-torch,libopenblas0-pthread" in boot
    assert boot[-3:] == ["bookworm", str(tmp_path / "root"), "http://m.example/debian"]
    changes = [imp[i + 1] for i, a in enumerate(imp) if a == "--change"]
    assert f"LABEL {VERSION_LABEL}=2 org.codeevo.image=torch" in changes
    assert "USER 1000:1000" in changes
    assert imp[-2:] == ["-", "codeevo-torch:t"]
    with pytest.raises(CodeevoError, match="torch --offline"):
        offline_commands(RECIPES["gpu"], tmp_path, mirror, "x")


@pytest.mark.skipif(os.geteuid() != 0, reason="chown to uid 1000 needs root")
def test_finish_rootfs_adds_user_and_work_dir(tmp_path: Path) -> None:
    etc = tmp_path / "etc"
    etc.mkdir()
    (etc / "passwd").write_text("root:x:0:0:root:/root:/bin/bash\n")
    (etc / "group").write_text("root:x:0:\n")
    docs = tmp_path / "usr/share/doc/python3"
    docs.mkdir(parents=True)
    (docs / "README").write_text("x")
    images.finish_rootfs(tmp_path)
    images.finish_rootfs(tmp_path)  # idempotent
    passwd = (etc / "passwd").read_text()
    assert passwd.count("codeevo:x:1000:1000:") == 1
    assert "codeevo:x:1000:" in (etc / "group").read_text()
    work = (tmp_path / "work").stat()
    assert (work.st_uid, work.st_gid, work.st_mode & 0o777) == (1000, 1000, 0o700)
    assert not any((tmp_path / "usr/share/doc").iterdir())


def test_recipe_for_image() -> None:
    assert recipe_for_image("codeevo-cpu") is RECIPES["cpu"]
    assert recipe_for_image("codeevo-torch:latest") is RECIPES["torch"]
    assert recipe_for_image("registry:5000/codeevo-cpu:latest") is None
    assert recipe_for_image("python:3.11") is None


@pytest.mark.parametrize("flavor", ["cpu", "torch", "gpu"])
def test_dockerfiles_label_version_and_drop_root(flavor: str) -> None:
    rec = RECIPES[flavor]
    assert rec.dockerfile is not None
    text = (REPO / "sandboxes" / rec.dockerfile).read_text()
    assert f'{VERSION_LABEL}="${{CODEEVO_IMAGE_VERSION}}"' in text
    assert f'org.codeevo.image="{flavor}"' in text
    assert "USER ${CODEEVO_UID}:${CODEEVO_UID}" in text
    assert "WORKDIR /work" in text


def test_no_registry_host_in_repo_recipes() -> None:
    # The mirror is read from the host at build time; recipes must not name one.
    for path in (REPO / "sandboxes").rglob("*"):
        if path.is_file():
            assert "deb.debian.org" not in path.read_text(), path
    assert "deb.debian.org" not in Path(images.__file__).read_text()
