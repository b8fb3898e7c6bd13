"""Insight memory: the digest, versions on the lineage's insights branch, prompts carrying
them, the LLM summariser through the loopback server, and resume keeping them."""

from __future__ import annotations

import asyncio
import json
import subprocess
from pathlib import Path

import pytest
import yaml

from codeevo.candidate import Candidate, Status
from codeevo.cli import main
from codeevo.config import InsightsConfig
from codeevo.insights import Insight, InsightMemory, InsightStore
from codeevo.lineage.store import GitLineageStore
from tests.llm.server import LoggedRequest, Reply, ScriptedLLMServer, ok
from tests.llm.toy import ToyModel, make_toy_problem

PROG = "# EVOLVE-BLOCK-START\nX = {x}\nY = 2.0\n# EVOLVE-BLOCK-END\n"


class Programs:
    """A lineage double: programs by candidate id."""

    def __init__(self) -> None:
        self.programs: dict[str, str] = {}

    def program(self, candidate_id: str) -> str:
        return self.programs[candidate_id]


def test_store_versions_on_the_insights_branch(tmp_path: Path) -> None:
    repo = tmp_path / "lineage.git"
    GitLineageStore.create(repo).close()
    store = InsightStore(repo)
    assert store.latest() is None and store.history() == []
    store.write(Insight(1, 10, "digest", "- first\n", 9))
    store.write(Insight(2, 20, "openai/m", "- second\n", 19))
    assert store.latest() == Insight(2, 20, "openai/m", "- second\n", 19)
    assert [v.version for v in store.history()] == [1, 2]
    log = subprocess.run(["git", "--git-dir", str(repo), "log", "--format=%s", "insights"],
                         capture_output=True, text=True, check=True).stdout.splitlines()
    assert log == ["insights v2 after 20 evaluations (openai/m)",
                   "insights v1 after 10 evaluations (digest)"]
    assert subprocess.run(["git", "--git-dir", str(repo), "fsck", "--strict"],
                          capture_output=True).returncode == 0
    with GitLineageStore.open(repo) as lineage:
        assert list(lineage.candidates()) == []  # the read model sees no extra candidate


def test_offline_digest_lists_gains_as_diffs_and_frequent_failures() -> None:
    lineage = Programs()
    memory = InsightMemory(InsightsConfig(interval=4), lineage, None)
    seed = Candidate(id="c000000", seq=0, operator="seed", score=1.0)
    lineage.programs["c000000"] = PROG.format(x=1.0)
    memory.observe(seed, 1)
    for i, (x, status) in enumerate([(1.5, Status.OK), (0.5, Status.OK), (None, Status.FAILED),
                                     (None, Status.FAILED), (2.0, Status.OK)], 1):
        cid = f"c{i:06d}"
        lineage.programs[cid] = PROG.format(x=x)
        cand = Candidate(id=cid, seq=i, parents=["c000000"], operator="diff", model="m",
                         status=status, score=x, stage="full" if x is None else None,
                         reason="ZeroDivisionError: division by zero" if x is None else None)
        memory.observe(cand, i + 1)
    assert memory.due(6)
    insight = asyncio.run(memory.summarise(6))
    assert insight is not None and insight.version == 1 and insight.source == "digest"
    text = insight.text
    assert text.index("+1 (diff by m; c000005") < text.index("+0.5 (diff by m; c000001")
    assert "-X = 1.0" in text and "+X = 2.0" in text
    assert "2x failed at full: ZeroDivisionError: division by zero" in text
    assert "Best so far: 2 (c000005)" in text
    assert memory.prompt_text() == text.strip() and not memory.due(7)


def _summariser(model: ToyModel):  # type: ignore[no-untyped-def]
    calls = {"n": 0}

    def answer(req: LoggedRequest) -> Reply:
        system = next((m["content"] for m in req.body["messages"] if m["role"] == "system"), "")
        if "distil lessons" in system:
            calls["n"] += 1
            return ok(f"Sure.\n- lesson {calls['n']}: move X towards 3\n- keep Y large",
                      tokens_in=300, tokens_out=30)
        return model(req)
    return answer


def _config(server: ScriptedLLMServer, path: Path, evals: int) -> Path:
    path.write_text(yaml.safe_dump({
        "seed": 2, "population": {"num_islands": 1},
        "llm": {"models": [{"name": "openai/toy", "api_base": server.base_url + "/v1"}],
                "timeout": 10, "max_retries": 1},
        "insights": {"interval": 4},
        "engine": {"max_in_flight": 1}, "budget": {"max_evaluations": evals}}))
    return path


def _prompts(server: ScriptedLLMServer) -> list[str]:
    out = []
    for r in server.requests:
        msgs = r.body.get("messages", [])
        if "distil lessons" not in str(msgs[0].get("content", "")):
            out.append(next(m["content"] for m in msgs if m["role"] == "user"))
    return out


@pytest.mark.slow
def test_prompts_carry_insights_and_resume_keeps_them(
        tmp_path: Path, llm_server: ScriptedLLMServer,
        capsys: pytest.CaptureFixture[str]) -> None:
    llm_server.responder = _summariser(ToyModel())
    problem = make_toy_problem(tmp_path)
    run = tmp_path / "runs" / "toy"
    code = main(["run", str(problem), "--config", str(_config(llm_server, tmp_path / "c.yaml",
                                                                  10)),
                 "--out", str(run), "--sandbox", "local", "--quiet"])
    assert code == 0
    capsys.readouterr()
    versions = InsightStore(run / "lineage.git").history()
    assert [v.version for v in versions] == [1, 2]
    assert versions[-1].source == "openai/toy" and "lesson 2" in versions[-1].text
    prompts = _prompts(llm_server)
    assert "# Insights from earlier attempts" not in prompts[0]
    assert any("lesson 1: move X towards 3" in p for p in prompts)
    assert "lesson 2" in prompts[-1]
    # each candidate's exchange records the prompt it was given, insights included
    with GitLineageStore.open(run / "lineage.git") as store:
        last = list(store.candidates())[-1]
        assert "lesson 2" in store.files(last.id)["exchange/prompt.md"]

    assert main(["insights", str(run), "--all", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert [v["version"] for v in shown] == [1, 2] and shown[1]["source"] == "openai/toy"

    # a replay (recorded exchanges, no server needed) writes the same versions and lineage
    copy = tmp_path / "runs" / "replayed"
    assert main(["replay", str(run), "--out", str(copy), "--quiet"]) == 0
    assert InsightStore(copy / "lineage.git").history() == versions
    with GitLineageStore.open(run / "lineage.git") as a, \
            GitLineageStore.open(copy / "lineage.git") as b:
        assert [c.program_hash for c in a.candidates()] == [
            c.program_hash for c in b.candidates()]

    before = len(llm_server.requests)
    assert main(["resume", str(run), "--evals", "16", "--sandbox", "local", "--quiet"]) == 0
    capsys.readouterr()
    resumed = [p for p in _prompts_since(llm_server, before)]
    assert resumed and "lesson 2" in resumed[0]  # the first prompt after resume has them
    versions = InsightStore(run / "lineage.git").history()
    # numbering and the interval continue where they were: v3 at 12 evaluations, v4 at 16
    assert [(v.version, v.evaluations) for v in versions] == [(1, 4), (2, 8), (3, 12), (4, 16)]


def _prompts_since(server: ScriptedLLMServer, start: int) -> list[str]:
    out = []
    for r in server.requests[start:]:
        msgs = r.body.get("messages", [])
        if "distil lessons" not in str(msgs[0].get("content", "")):
            out.append(next(m["content"] for m in msgs if m["role"] == "user"))
    return out


def test_offline_run_writes_digests_when_enabled(tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    problem = make_toy_problem(tmp_path)
    run = tmp_path / "runs" / "toy"
    code = main(["run", str(problem), "--out", str(run), "--sandbox", "local", "--quiet",
                 "--evals", "9", "--set", "insights.enabled=true", "--set",
                 "insights.interval=4"])
    assert code == 0
    capsys.readouterr()
    assert main(["insights", str(run)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("## insights v2 after 8 evaluations (digest)")
    assert "evaluated fine" in out
    empty = tmp_path / "runs" / "plain"
    assert main(["run", str(problem), "--out", str(empty), "--sandbox", "local", "--quiet",
                 "--evals", "3"]) == 0
    assert main(["insights", str(empty)]) == 0  # offline runs write none by default
    assert "no insights yet" in capsys.readouterr().out


@pytest.mark.slow
def test_replay_of_a_concurrent_run_with_insights_reproduces_it(
        tmp_path: Path, llm_server: ScriptedLLMServer,
        capsys: pytest.CaptureFixture[str]) -> None:
    """Several candidates in flight, a summary every 5 evaluations: candidates started after
    a summary see it, in the run and in its replay, so the replay's lineage (prompts
    included) is the run's."""
    from tests.llm.test_e2e import _lineage
    from tests.llm.test_replay_concurrent import JitteryToy

    llm_server.responder = _summariser(JitteryToy(seed=7))  # type: ignore[arg-type]
    problem = make_toy_problem(tmp_path)
    cfg = tmp_path / "c.yaml"
    cfg.write_text(yaml.safe_dump({
        "seed": 5, "population": {"num_islands": 2},
        "llm": {"models": [{"name": "openai/toy", "api_base": llm_server.base_url + "/v1"}],
                "timeout": 10, "max_retries": 1},
        "insights": {"interval": 5},
        "engine": {"proposal_slots": 4, "eval_slots": 2},
        "budget": {"max_evaluations": 21}}))
    run = tmp_path / "run"
    assert main(["run", str(problem), "--config", str(cfg), "--out", str(run),
                 "--sandbox", "local", "--quiet"]) == 0
    versions = InsightStore(run / "lineage.git").history()
    assert [v.evaluations for v in versions] == [5, 10, 15, 20]
    with GitLineageStore.open(run / "lineage.git") as store:
        cands = [c for c in store.candidates() if c.operator != "seed"]
        assert sum(1 for c in cands if c.extra["sched"]["after"] < c.seq) >= 5  # overlapped
        # every candidate started after the record that made the first summary due (the
        # 5th evaluation) was prompted with insights; none started before it was
        evaluated = [c for c in store.candidates() if c.status.value != "rejected"]
        due_at = evaluated[4].seq + 1  # records done once the 5th evaluation was recorded
        for c in cands:
            prompt = store.files(c.id).get("exchange/prompt.md", "")
            assert ("lesson" in prompt) == (c.extra["sched"]["after"] >= due_at), c.id
    llm_server.stop()
    again = tmp_path / "replay"
    assert main(["replay", str(run), "--out", str(again), "--quiet"]) == 0
    capsys.readouterr()
    assert _lineage(again) == _lineage(run)
    assert InsightStore(again / "lineage.git").history() == versions
