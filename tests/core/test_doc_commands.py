"""The commands the README and docs show work: every `codeevo ...` line parses with the real
argument parser, and the offline ones (and the plain-git ones) run against a real run."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from codeevo.cli import build_parser
from codeevo.errors import CodeevoError

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
# Lines that need what a test cannot have here: a key, a GPU, a registry, a terminal, minutes.
NOT_RUN = re.compile(r"--model|--config|docker-gpu|sandbox build|\btui\b|\bdoctor\b|"
                     r"problems/merge|runs/m\b|--api-base|\breplay\b|my_problem|\bmerge\b|"
                     r"--ray-address|--executor|git clone")


def _fenced_lines() -> Iterator[tuple[str, str]]:
    """(where, command) for each shell line in a fenced block of the docs."""
    for doc in DOCS:
        text = doc.read_text()
        for block in re.findall(r"```[a-z]*\n(.*?)```", text, re.S):
            joined = re.sub(r"\\\n\s*", " ", block)
            for line in joined.splitlines():
                line = line.strip().removeprefix("$ ")
                if line.startswith(("codeevo ", "git -C runs/")):
                    yield doc.name, re.split(r"\s{2,}#|\s#\s", line)[0].strip()


def _concrete(cmd: str) -> str:
    """A doc line's placeholders made concrete: [--json] → --json, a|b → a."""
    cmd = re.sub(r"\[([^\]]+)\]", r"\1", cmd)
    words = [w.split("|")[0] if "|" in w and not w.startswith("'") else w
             for w in cmd.split(" ")]
    return " ".join("5" if w == "N" else w for w in words)


COMMANDS = sorted(set(_fenced_lines()))


def test_docs_show_commands() -> None:
    assert len([c for _, c in COMMANDS if c.startswith("codeevo ")]) >= 25


@pytest.mark.parametrize("where, cmd", [c for c in COMMANDS if c[1].startswith("codeevo ")])
def test_every_codeevo_line_parses(where: str, cmd: str) -> None:
    words = shlex.split(_concrete(cmd).split(" > ")[0])[1:]
    try:
        args = build_parser().parse_args(words)
    except SystemExit as exc:  # argparse's way of refusing
        pytest.fail(f"{where}: `{cmd}` is refused by the parser (exit {exc.code})")
    if getattr(args, "set", None) and not getattr(args, "config", None):
        from codeevo.cli.options import build_config

        try:  # every --set path and value is one the run config accepts
            build_config(None, args)
        except CodeevoError as exc:
            pytest.fail(f"{where}: `{cmd}`: {exc}")


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder where `runs/cp` is a real circle-packing run (with candidate c000042) and
    `problems` and `mine.py` exist, as the docs assume."""
    work = tmp_path_factory.mktemp("docs")
    (work / "problems").symlink_to(ROOT / "problems")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    r = subprocess.run([sys.executable, "-m", "codeevo", "run", "problems/circle_packing",
                        "--evals", "44", "--seed", "7", "--out", "runs/cp", "--sandbox", "local",
                        "--quiet"], cwd=work, env=env, capture_output=True, text=True,
                       timeout=900)
    assert r.returncode == 0, r.stderr
    (work / "mine.py").write_text((ROOT / "problems/circle_packing/initial.py").read_text())
    return work


RUNNABLE = [c for c in COMMANDS if not NOT_RUN.search(c[1])]


@pytest.mark.parametrize("where, cmd", RUNNABLE)
def test_offline_doc_commands_run(where: str, cmd: str, workdir: Path) -> None:
    line = _concrete(cmd).replace("RUN_DIR", "runs/cp").replace(" ID", " c000003")
    line = line.replace("runs/cp --evals 400", "runs/cp --evals 46")
    words = shlex.split(line.split(" > ")[0])
    if words[:2] == ["codeevo", "run"]:
        if "--out" in words:
            words[words.index("--out") + 1] = f"runs/doc-{len(words)}"
        words += ["--evals", "3", "--out", f"runs/doc-{abs(hash(line))}"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    argv = [sys.executable, "-m", "codeevo", *words[1:]] if words[0] == "codeevo" else words
    r = subprocess.run(argv, cwd=workdir, env=env, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, f"{where}: `{cmd}` failed:\n{r.stderr[-2000:]}"
    assert "Traceback" not in r.stderr
