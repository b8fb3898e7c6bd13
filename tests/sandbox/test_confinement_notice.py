"""What the run's first lines say about the local sandbox's confinement, per host setup."""

from __future__ import annotations

import pytest

from codeevo.sandbox import limits


def options(monkeypatch: pytest.MonkeyPatch, root: bool, bwrap: bool) -> list[limits.Confinement]:
    monkeypatch.setattr(limits.os, "geteuid", lambda: 0 if root else 1000)
    monkeypatch.setattr(limits.shutil, "which", lambda name: "/usr/bin/bwrap" if bwrap else None)
    return limits.confinement_options()


@pytest.mark.parametrize(("root", "bwrap", "says"), [
    (True, True, "bubblewrap: minimal read-only filesystem, own pid + network namespace, "
     "fresh uid per candidate"),
    (False, True, "one uid (user namespace)"),
    (True, False, "no bubblewrap: candidates can read world-readable host files"),
    (False, False, "UNCONFINED"),
])
def test_first_option_is_described(monkeypatch: pytest.MonkeyPatch, root: bool, bwrap: bool,
                                   says: str) -> None:
    opts = options(monkeypatch, root, bwrap)
    assert says in opts[0].describe()
    assert opts[-1] == limits.NO_CONFINEMENT  # the probe's last resort
