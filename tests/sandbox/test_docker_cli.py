"""`codeevo doctor`, `codeevo sandbox list` and `codeevo sandbox build --if-stale`."""

from __future__ import annotations

from typing import Any

import pytest

from codeevo.cli import main
from codeevo.sandbox.images import RECIPES

pytestmark = pytest.mark.docker


def test_doctor_reports_engine_images_gpu_and_key_names(
    cpu_image: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-do-not-print-me")
    monkeypatch.setenv("MYPROVIDER_API_KEY", "also-secret")
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    assert main(["doctor"]) == 0
    out = capsys.readouterr().out
    assert "engine      ok    Docker" in out
    assert f"codeevo-cpu:latest: ok (version {RECIPES['cpu'].version})" in out
    assert "codeevo-gpu:latest" in out and "gpu " in out
    assert "OPENAI_API_KEY" in out and "MYPROVIDER_API_KEY" in out
    assert "not set: ANTHROPIC_API_KEY" in out
    assert "sk-do-not-print-me" not in out and "also-secret" not in out


def test_doctor_without_engine_fails(capsys: pytest.CaptureFixture[str],
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
    assert main(["doctor"]) == 1
    assert "engine      FAIL  Docker engine not reachable" in capsys.readouterr().out


def test_sandbox_list_and_build_if_stale(cpu_image: str, docker_client: Any,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sandbox", "list"]) == 0
    out = capsys.readouterr().out
    assert f"codeevo-cpu:latest       ok (version {RECIPES['cpu'].version})" in out
    assert main(["sandbox", "build", "cpu", "--offline", "--if-stale"]) == 0
    version = RECIPES["cpu"].version
    assert f"codeevo-cpu:latest is up to date (version {version})" in capsys.readouterr().out


def test_offline_gpu_build_is_refused_with_the_alternative(
    capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["sandbox", "build", "gpu", "--offline", "--tag", "codeevo-test-never"]) == 1
    assert "build torch --offline" in capsys.readouterr().err
