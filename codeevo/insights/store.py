"""Insight versions as commits on the ``insights`` branch of the run's lineage.git.

Each version is one commit whose tree holds ``insights.md`` (the text) and ``insights.json``
(version, evaluations, source); its parent is the previous version. Plain git reads it:
``git -C runs/x/lineage.git log -p insights``. The candidate refs are untouched (the read
model counts candidates by their tags), and commit times are derived from the evaluation count
so a replayed run writes the same commits.
"""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import asdict, dataclass
from pathlib import Path

REF = "refs/heads/insights"
EPOCH = 1_577_836_800
IDENT_NAME, IDENT_MAIL = "codeevo", "codeevo@localhost"


@dataclass(frozen=True)
class Insight:
    version: int
    evaluations: int  # evaluations recorded when it was written
    source: str  # "digest" or the summarising model
    text: str
    last_seq: int = -1  # the last candidate it had seen


class InsightStoreError(Exception):
    pass


class InsightStore:
    """Reads and appends insight versions in a bare lineage repository."""

    def __init__(self, lineage: Path) -> None:
        self.path = Path(lineage)

    def _git(self, *args: str, stdin: bytes | None = None, check: bool = True,
             when: str | None = None) -> str:
        env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
        env.update(GIT_AUTHOR_NAME=IDENT_NAME, GIT_AUTHOR_EMAIL=IDENT_MAIL,
                   GIT_COMMITTER_NAME=IDENT_NAME, GIT_COMMITTER_EMAIL=IDENT_MAIL)
        if when is not None:
            env.update(GIT_AUTHOR_DATE=when, GIT_COMMITTER_DATE=when)
        proc = subprocess.run(["git", f"--git-dir={self.path}", *args], input=stdin,
                              capture_output=True, env=env, check=False)
        if check and proc.returncode != 0:
            raise InsightStoreError(f"git {args[0]}: {proc.stderr.decode(errors='replace')}")
        return proc.stdout.decode("utf-8", "replace").strip() if proc.returncode == 0 else ""

    def head(self) -> str | None:
        return self._git("rev-parse", "--verify", "-q", REF, check=False) or None

    def _read(self, sha: str) -> Insight | None:
        raw = self._git("cat-file", "-p", f"{sha}:insights.json", check=False)
        try:
            meta = json.loads(raw)
            text = self._git("cat-file", "-p", f"{sha}:insights.md", check=False)
            return Insight(int(meta["version"]), int(meta["evaluations"]), str(meta["source"]),
                           text + "\n" if text else "", int(meta.get("last_seq", -1)))
        except (ValueError, KeyError, TypeError):
            return None

    def latest(self) -> Insight | None:
        head = self.head()
        return self._read(head) if head else None

    def history(self) -> list[Insight]:
        """Every version, oldest first."""
        head = self.head()
        if not head:
            return []
        shas = self._git("rev-list", "--first-parent", "--reverse", head).split()
        return [i for i in (self._read(s) for s in shas) if i is not None]

    def write(self, insight: Insight) -> str:
        """Append `insight` as the branch's next commit; returns its sha."""
        meta = json.dumps({k: v for k, v in asdict(insight).items() if k != "text"},
                          sort_keys=True)
        md = self._git("hash-object", "-w", "--stdin", stdin=insight.text.encode())
        js = self._git("hash-object", "-w", "--stdin", stdin=(meta + "\n").encode())
        tree = self._git("mktree", stdin=(f"100644 blob {js}\tinsights.json\n"
                                          f"100644 blob {md}\tinsights.md\n").encode())
        parent = self.head()
        when = f"{EPOCH + insight.evaluations} +0000"
        args = ["commit-tree", tree, "-m",
                f"insights v{insight.version} after {insight.evaluations} evaluations "
                f"({insight.source})"]
        if parent:
            args[2:2] = ["-p", parent]
        sha = self._git(*args, when=when)
        self._git("update-ref", REF, sha, *([parent] if parent else []))
        return sha
