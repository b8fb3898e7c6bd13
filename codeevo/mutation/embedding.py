"""Embeddings of a program's evolvable text, for novelty screening (codeevo.mutation.novelty).

- `OfflineEmbedder` (the default): needs no model and no network. The EVOLVE-BLOCK text is cut
  into code tokens (comments and triple-quoted strings dropped, so reformatting or rewording a
  comment changes nothing), and its 1-, 2- and 3-grams are hashed into a 512-dimensional vector
  with sublinear counts, unit length. Cosine similarity then says how much code two programs
  share; one changed constant in a 100-token block still leaves them about 0.98 alike.
- `LiteLLMEmbedder`: any litellm embedding model (litellm is imported on the first call only).

`EmbeddingStore` keeps every vector computed in the run's ``embeddings.jsonl`` (keyed by the
embedder's name and the program's hash), so a resumed run recomputes nothing.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import re
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from codeevo.mutation.blocks import BlockError, split

DIM = 512
_TOKEN = re.compile(
    r"[A-Za-z_]\w*|\d[\d_.]*(?:[eE][-+]?\d+)?\w*"  # names, numbers
    r"|#[^\n]*"  # comments: dropped
    r'|"""[\s\S]*?"""|\'\'\'[\s\S]*?\'\'\''  # triple-quoted strings: dropped
    r'|"(?:\\.|[^"\\\n])*"|\'(?:\\.|[^\'\\\n])*\''  # strings: kept
    r"|\.\d+\w*|\*\*|//|[<>=!]=|->|\S")
Vector = np.ndarray


def evolvable_text(program: str) -> str:
    """The text inside the EVOLVE-BLOCKs (the whole program when it has none)."""
    try:
        return "\n".join(split(program).blocks)
    except BlockError:
        return program


def code_tokens(text: str) -> list[str]:
    out = []
    for tok in _TOKEN.findall(text):
        if tok.startswith("#") or tok.endswith(('"""', "'''")) and len(tok) >= 6:
            continue
        out.append(tok)
    return out


_TOKEN_HASH: dict[str, int] = {}


def _token_hash(tok: str) -> int:
    h = _TOKEN_HASH.get(tok)
    if h is None:
        h = _TOKEN_HASH[tok] = zlib.crc32(tok.encode("utf-8", "replace"))
        if len(_TOKEN_HASH) > 200_000:
            _TOKEN_HASH.clear()
    return h


def _mix(h: np.ndarray) -> np.ndarray:
    """A 64-bit finaliser (murmur3's fmix64): every output bit depends on every input bit, so
    two tokens that share their low bits do not make their n-grams collide too."""
    h = h ^ (h >> np.uint64(33))
    h = h * np.uint64(0xFF51AFD7ED558CCD)
    h = h ^ (h >> np.uint64(33))
    h = h * np.uint64(0xC4CEB9FE1A85EC53)
    out: np.ndarray = h ^ (h >> np.uint64(33))
    return out


def offline_vector(text: str) -> Vector:
    """The hashed token n-gram vector of `text` (unit length; zero for empty text). Stable
    across processes (crc32, no salted hash), so stored vectors stay comparable."""
    toks = np.fromiter((_token_hash(t) for t in code_tokens(text)), dtype=np.uint64)
    vec = np.zeros(DIM, dtype=np.float32)
    if toks.size == 0:
        return vec
    p = np.uint64(0x100000001B3)  # FNV prime: n-grams combine the tokens' crc32 values
    grams = [toks]
    if toks.size > 1:
        grams.append(toks[:-1] * p ^ toks[1:] ^ np.uint64(1 << 62))
    if toks.size > 2:
        grams.append((toks[:-2] * p ^ toks[1:-1]) * p ^ toks[2:] ^ np.uint64(1 << 63))
    hashes, counts = np.unique(_mix(np.concatenate(grams)), return_counts=True)
    # a sign from other bits of the hash: colliding n-grams cancel rather than pile up
    sign = np.where((hashes >> np.uint64(40)) & np.uint64(1), 1.0, -1.0)
    np.add.at(vec, (hashes % np.uint64(DIM)).astype(np.int64),
              (1.0 + np.log(counts)) * sign)
    return _unit(vec)


@dataclass(frozen=True)
class Embedded:
    """Vectors for a batch of texts, and what computing them cost."""

    vectors: list[Vector]
    tokens: int = 0
    cost: float = 0.0


class Embedder(Protocol):
    """Turns texts into unit vectors. `name` identifies the vector space (the store's key)."""

    name: str

    async def embed(self, texts: list[str]) -> Embedded: ...


class OfflineEmbedder:
    name = "offline-ngram-v1"

    async def embed(self, texts: list[str]) -> Embedded:
        return Embedded([offline_vector(t) for t in texts])


class EmbeddingError(Exception):
    """An embedding request failed (the caller falls back to the offline embedding)."""


class StoredOnlyEmbedder:
    """A replay's stand-in for an embedding model: never calls it (a replay has no network);
    the store answers, and a program it has no vector for is an error (the screen then goes
    on with the offline embedding, as the recorded run would have had to)."""

    def __init__(self, name: str) -> None:
        self.name = name

    async def embed(self, texts: list[str]) -> Embedded:
        raise EmbeddingError(f"{self.name}: replay has no recorded vector for a program")


class LiteLLMEmbedder:
    """A litellm embedding model (`novelty.embedding_model`), called on the driver's loop."""

    def __init__(self, model: str, api_base: str | None = None, api_key_env: str | None = None,
                 timeout: float = 60.0, env: Mapping[str, str] | None = None) -> None:
        self.name = model
        self.model = model
        self.api_base = api_base
        source = os.environ if env is None else env
        self._key = source.get(api_key_env) if api_key_env else None
        if api_base and self._key is None:
            self._key = "no-key"  # a local server needs none; the SDK insists on one
        self.timeout = timeout

    async def embed(self, texts: list[str]) -> Embedded:
        from codeevo.llm.calls import load_litellm, price_map_cost

        litellm = load_litellm()
        kwargs: dict[str, Any] = {"model": self.model, "input": texts, "timeout": self.timeout}
        if self.api_base:
            kwargs["api_base"] = self.api_base
        if self._key:
            kwargs["api_key"] = self._key
        last = ""
        for attempt in range(3):
            if attempt:
                await asyncio.sleep(0.5 * 2 ** attempt)
            try:
                resp = await litellm.aembedding(**kwargs)
                rows = sorted(resp.data, key=lambda d: _get(d, "index", 0))
                vecs = [_unit(np.asarray(_get(d, "embedding", []), dtype=np.float32))
                        for d in rows]
                if len(vecs) != len(texts):
                    raise EmbeddingError(f"{len(vecs)} embeddings for {len(texts)} texts")
                usage = getattr(resp, "usage", None)
                tokens = int(_get(usage, "prompt_tokens", 0) or 0) if usage else 0
                return Embedded(vecs, tokens, price_map_cost(litellm, self.model, tokens, 0))
            except EmbeddingError:
                raise
            except Exception as exc:  # litellm maps provider errors onto many classes
                last = f"{type(exc).__name__}: {str(exc)[:200]}"
                if self._key and self._key != "no-key":
                    last = last.replace(self._key, "***")
        raise EmbeddingError(f"{self.model}: {last}")


def _get(obj: Any, name: str, default: Any) -> Any:
    if isinstance(obj, dict):
        return obj.get(name, default)
    return getattr(obj, name, default)


def _unit(vec: Vector) -> Vector:
    norm = float(np.linalg.norm(vec))
    return vec / norm if norm > 0 else vec


class EmbeddingStore:
    """Vectors by (embedder name, program hash), appended to a JSON-lines file as computed;
    `read_paths` are other runs' files read too (a replay reads its recording's)."""

    def __init__(self, path: Path | None, read_paths: tuple[Path, ...] = ()) -> None:
        self.path = path
        self._vectors: dict[tuple[str, str], Vector] = {}
        self._own: set[tuple[str, str]] = set()  # keys already in our own file
        for file in (*read_paths, *([path] if path is not None else [])):
            if not file.is_file():
                continue
            own = file == path
            for line in file.read_text(encoding="utf-8", errors="replace").splitlines():
                try:
                    row = json.loads(line)
                    raw = base64.b64decode(row["v"])
                    key = (str(row["m"]), str(row["h"]))
                    self._vectors[key] = np.frombuffer(raw, dtype="<f4").copy()
                    if own:
                        self._own.add(key)
                except (ValueError, KeyError, TypeError):
                    continue  # a torn last line from a killed run

    def get(self, model: str, digest: str) -> Vector | None:
        vec = self._vectors.get((model, digest))
        if vec is not None and (model, digest) not in self._own:
            self.put(model, digest, vec)  # read from another run: keep a copy of our own
        return vec

    def put(self, model: str, digest: str, vec: Vector) -> None:
        if (model, digest) in self._own:
            return
        self._vectors[(model, digest)] = vec
        self._own.add((model, digest))
        if self.path is not None:
            data = base64.b64encode(np.asarray(vec, dtype="<f4").tobytes()).decode()
            with self.path.open("a", encoding="utf-8") as fh:
                fh.write(json.dumps({"m": model, "h": digest, "v": data}) + "\n")

    def __len__(self) -> int:
        return len(self._vectors)
