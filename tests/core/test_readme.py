"""The README opens with the two set-up commands, and .ci/run runs the test one."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_readme_opens_with_two_commands() -> None:
    text = (ROOT / "README.md").read_text()
    block = re.search(r"```bash\n(.*?)```", text, re.S)
    assert block and text.index("```bash") < 40, "the commands come first"
    lines = [ln for ln in block.group(1).splitlines() if ln.strip()]
    assert len(lines) == 2
    assert "codeevo run problems/circle_packing" in lines[0]
    assert "pytest" in lines[1]


def test_ci_runs_the_readme_test_command() -> None:
    ci = (ROOT / ".ci" / "run").read_text()
    assert "grep -m1 -E '^pip install .*pytest' README.md" in ci
    assert "CODEEVO_REQUIRE_DOCKER=1" in ci
    assert "CODEEVO_REQUIRE_BROWSER=1" in ci and "bash .ci/browser-setup.sh" in ci
    setup = (ROOT / ".ci" / "browser-setup.sh").read_text()
    assert "apt-get install" in setup and "chromium-driver" in setup
    assert "CODEEVO_REQUIRE_RAY=1" in ci


def test_test_extra_brings_ray() -> None:
    import tomllib

    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())
    extras = meta["project"]["optional-dependencies"]
    assert "codeevo[ray]" in extras["test"]
    assert any(dep.startswith("ray[client]") for dep in extras["ray"])


def test_install_commands_use_the_lock_and_ci_also_tries_the_newest() -> None:
    text = (ROOT / "README.md").read_text()
    block = re.search(r"```bash\n(.*?)```", text, re.S)
    assert block is not None
    for line in block.group(1).splitlines():
        if line.strip():
            assert line.startswith("pip install -c constraints.txt "), line
    assert (ROOT / "constraints.txt").is_file()
    ci = (ROOT / ".ci" / "run").read_text()
    assert "newest versions pyproject.toml allows" in ci
    assert "/bin/pip\" install -q --upgrade torch==2.13.0 -e '.[test]'" in ci  # no -c
