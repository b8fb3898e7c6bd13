"""Novelty screening: the offline embedding, the screen, the LLM judge, the embedding store."""

from __future__ import annotations

import asyncio
import random
from pathlib import Path

import numpy as np
import pytest

from codeevo.candidate import Candidate, Status
from codeevo.config import NoveltyConfig
from codeevo.llm.fake import ScriptedLLMClient
from codeevo.mutation.embedding import (
    Embedded,
    EmbeddingStore,
    OfflineEmbedder,
    code_tokens,
    offline_vector,
)
from codeevo.mutation.novelty import NoveltyJudge, NoveltyScreen
from codeevo.mutation.screen import program_hash

ROOT = Path(__file__).resolve().parents[2]
PROGRAM = (ROOT / "problems" / "circle_packing" / "initial.py").read_text()

BLOCK = '''# EVOLVE-BLOCK-START
def place(n):
    """Put n points on a grid."""
    side = int(n ** 0.5) + 1
    pts = []
    for k in range(n):  # row-major
        pts.append(((k % side + 0.5) / side, (k // side + 0.5) / side))
    return pts
# EVOLVE-BLOCK-END
'''


def sim(a: str, b: str) -> float:
    return float(offline_vector(a) @ offline_vector(b))


def test_offline_embedding_ignores_cosmetics_but_sees_code() -> None:
    cosmetic = (BLOCK.replace("# row-major", "# fill rows first, left to right")
                .replace('"""Put n points on a grid."""', '"""A grid of n points."""')
                .replace("    pts = []\n", "\n    pts = []\n\n"))
    assert sim(BLOCK, cosmetic) == pytest.approx(1.0, abs=1e-6)
    nudged = BLOCK.replace("+ 0.5) / side, (k", "+ 0.4) / side, (k")
    assert 0.95 < sim(BLOCK, nudged) < 0.9999
    other = BLOCK.replace("for k in range(n):", "k = 0\n    while k < n:").replace(
        "row-major", "x")
    assert sim(BLOCK, other) < sim(BLOCK, nudged)
    assert sim(BLOCK, "def f():\n    return sorted(x for x in data if x > 2)\n") < 0.3
    assert code_tokens("x = 'a # b'  # c") == ["x", "=", "'a # b'"]
    # stable across processes: crc32, not Python's salted hash
    assert offline_vector("x = 1")[np.nonzero(offline_vector("x = 1"))[0][0]] != 0


def _cand(cid: str, seq: int, island: int = 0, status: Status = Status.OK,
          operator: str = "diff", program: str = "") -> Candidate:
    return Candidate(id=cid, seq=seq, parents=["c000000"] if seq else [], operator=operator,
                     island=island, status=status, score=1.0 if status == Status.OK else None,
                     program_hash=program_hash(program) if program else "",
                     timings={"eval": 2.0})


class CountingEmbedder(OfflineEmbedder):
    def __init__(self) -> None:
        self.texts = 0

    async def embed(self, texts: list[str]) -> Embedded:
        self.texts += len(texts)
        return await super().embed(texts)


def test_screen_rejects_near_duplicates_of_archive_and_recent(tmp_path: Path) -> None:
    embedder = CountingEmbedder()
    store = EmbeddingStore(tmp_path / "embeddings.jsonl")
    screen = NoveltyScreen(NoveltyConfig(threshold=0.99, recent=4), embedder, store)
    rng = random.Random(0)
    archive = {"c000000": (program_hash(BLOCK), BLOCK)}
    cosmetic = BLOCK.replace("# row-major", "# rows")
    v = asyncio.run(screen.check(0, cosmetic, program_hash(cosmetic), archive, rng))
    assert not v.ok and v.nearest == "c000000" and v.similarity > 0.999
    assert "too similar to c000000" in (v.reason or "")
    other = BLOCK.replace("side = int(n ** 0.5) + 1", "side = max(1, round(n ** 0.5))")
    v = asyncio.run(screen.check(0, other, program_hash(other), archive, rng))
    assert v.ok and v.similarity < 0.99
    # the evaluated child becomes a "recent" candidate of its island: its copies are caught
    screen.recorded(_cand("c000002", 2, program=other), 2.0)
    again = other.replace("# row-major", "")
    v = asyncio.run(screen.check(0, again, program_hash(again), archive, rng))
    assert not v.ok and v.nearest == "c000002"
    v = asyncio.run(screen.check(1, again, program_hash(again), {}, rng))  # another island
    assert v.ok
    summary = screen.summary()
    assert summary["rejected"] == 2 and summary["checked"] == 4
    assert summary["saved_seconds"] == pytest.approx(4.0)  # 2 rejections x 2 s mean


def test_embeddings_are_stored_and_reused_on_resume(tmp_path: Path) -> None:
    path = tmp_path / "embeddings.jsonl"
    first = CountingEmbedder()
    screen = NoveltyScreen(NoveltyConfig(), first, EmbeddingStore(path))
    archive = {"c000000": (program_hash(BLOCK), BLOCK)}
    child = BLOCK.replace("0.5", "0.25")
    asyncio.run(screen.check(0, child, program_hash(child), archive, random.Random(1)))
    assert first.texts == 2
    with path.open("a") as fh:
        fh.write('{"m": "offline-ngram-v1", "h": "torn')  # a killed run's last line
    # a resumed run: the store answers, nothing is embedded again
    second = CountingEmbedder()
    store = EmbeddingStore(path)
    assert len(store) == 2
    again = NoveltyScreen(NoveltyConfig(), second, store)
    again.restore(_cand("c000000", 0, operator="seed", program=BLOCK))
    again.restore(_cand("c000001", 1, program=child))
    assert set(again.vectors) == {"c000000", "c000001"}
    copy = child.replace("# row-major", "# by rows")
    v = asyncio.run(again.check(0, copy, program_hash(copy), archive, random.Random(2)))
    assert second.texts == 1  # only the new program
    assert not v.ok and v.nearest == "c000001"


def test_llm_judge_decides_above_the_threshold(tmp_path: Path) -> None:
    client = ScriptedLLMClient(["NOT NOVEL: only a comment changed", "NOVEL: new loop order"],
                               model="fake/judge")
    screen = NoveltyScreen(NoveltyConfig(judge=True), OfflineEmbedder(),
                           EmbeddingStore(None), NoveltyJudge(client))
    archive = {"c000000": (program_hash(BLOCK), BLOCK)}
    cosmetic = BLOCK.replace("# row-major", "# rows")
    v = asyncio.run(screen.check(0, cosmetic, program_hash(cosmetic), archive,
                                 random.Random(0)))
    assert not v.ok and v.judged and "only a comment changed" in (v.reason or "")
    assert "NOT NOVEL" in v.exchange["novelty-response.md"]
    assert "# New candidate" in v.exchange["novelty-prompt.md"] and v.cost == 0.001
    v = asyncio.run(screen.check(0, cosmetic, program_hash(cosmetic), archive,
                                 random.Random(0)))
    assert v.ok and v.judged
    assert "rows" in client.requests[0][1]["content"]  # the judge saw both programs
