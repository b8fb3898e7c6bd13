"""Recognise another framework's problem folder by the files it holds (no file is read).

- OpenEvolve: ``initial_program.<ext>`` + ``evaluator.py`` (optional ``config.yaml``).
- ShinkaEvolve: ``initial.<ext>`` + ``evaluate.py`` (optional ``shinka*.yaml``, ``run_evo.py``).

A folder holding ``problem.yaml`` is a codeevo problem, whatever else it holds.
"""

from __future__ import annotations

from pathlib import Path

OPENEVOLVE = "openevolve"
SHINKAEVOLVE = "shinkaevolve"


def _has_seed(root: Path, stem: str) -> bool:
    try:
        return any(p.is_file() and p.stem == stem for p in root.iterdir())
    except OSError:
        return False


def detect_format(root: Path) -> str | None:
    """"openevolve", "shinkaevolve" or None for the folder `root`."""
    if not root.is_dir() or (root / "problem.yaml").exists():
        return None
    if (root / "evaluator.py").is_file() and _has_seed(root, "initial_program"):
        return OPENEVOLVE
    if (root / "evaluate.py").is_file() and (
            _has_seed(root, "initial") or any(root.glob("shinka*.yaml"))):
        return SHINKAEVOLVE
    return None


def seed_file(root: Path, stem: str) -> Path | None:
    """The seed program: ``<stem>.py`` if present, else the first ``<stem>.*`` file."""
    if (root / f"{stem}.py").is_file():
        return root / f"{stem}.py"
    others = sorted(p for p in root.glob(f"{stem}.*") if p.is_file())
    return others[0] if others else None
