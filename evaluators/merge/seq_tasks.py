"""Synthetic sequence data and tasks for the transformer zoo, generated offline (numpy, host side).

The sequence analogue of digits: CLASSES latent classes, each drawing the first and the second
half of a sequence from its own sparse token distributions (fixed for every zoo, as digits is
one data set; see ``class_distributions``). A task spec is
``"<transform>[+<transform>...]:<labelmap>"``, e.g. ``"reverse+perm3:parity"``: the transforms
rewrite the sequence, the label map (``tasks.LABEL_MAPS``, shared with digits) maps its class.
The model sees the [CLS] token (id VOCAB) then the sequence.

Transforms: identity, reverse, mirror (token t -> VOCAB-1-t), swap (exchange the halves),
interleave (even positions, then odd ones), shift<k> (token t -> t+k mod VOCAB), roll<k> (rotate
positions by k), perm<seed> (relabel tokens by a permutation fixed by the seed), noise<pct>
(each token replaced by a random one with probability pct/100, fixed per sample).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from tasks import LABEL_MAPS  # type: ignore[import-not-found]

VOCAB = 16
LENGTH = 16
CLASSES = 10
CLS = VOCAB
EMBEDDINGS = VOCAB + 1  # rows of the word-embedding table
WORLD_SEED = 20250  # the chains of the classes: one fixed "data set" for every zoo

Array = np.ndarray


def class_distributions(alpha: float = 0.3) -> Array:
    """Token distributions (CLASSES, 2, VOCAB): class c draws its first half from [c, 0] and its
    second half from [c, 1]. Classes come in pairs with swapped halves (2j: P_j then Q_j,
    2j+1: Q_j then P_j), so which tokens occur tells the pair and where they occur the class."""
    rng = np.random.default_rng(WORLD_SEED)
    pairs = rng.dirichlet(np.full(VOCAB, alpha), size=(CLASSES // 2, 2))
    return np.stack([pairs[c // 2, ::-1] if c % 2 else pairs[c // 2] for c in range(CLASSES)])


def sample_sequences(n: int, rng: np.random.Generator) -> tuple[Array, Array]:
    """(sequences (n, LENGTH) int64, classes (n,) int64), classes uniform."""
    dist = class_distributions()
    classes = rng.integers(0, CLASSES, n)
    half = LENGTH // 2
    seqs = np.empty((n, LENGTH), dtype=np.int64)
    for part in (0, 1):
        cum = dist[classes, part].cumsum(1)  # (n, V)
        u = rng.random((n, half))
        seqs[:, part * half : (part + 1) * half] = (u[:, :, None] > cum[:, None, :]).sum(2)
    return np.minimum(seqs, VOCAB - 1), classes


def _noise(pct: int, seqs: Array, ids: Array) -> Array:
    out = seqs.copy()
    for r, i in enumerate(ids):
        g = np.random.default_rng(int(i) + 104729)  # fixed per sample, not per call
        hit = g.random(LENGTH) < pct / 100.0
        out[r, hit] = g.integers(0, VOCAB, int(hit.sum()))
    return out


_SIMPLE: dict[str, Callable[[Array], Array]] = {
    "identity": lambda x: x,
    "reverse": lambda x: x[:, ::-1],
    "mirror": lambda x: VOCAB - 1 - x,
    "swap": lambda x: np.roll(x, LENGTH // 2, axis=1),
    "interleave": lambda x: np.concatenate([x[:, 0::2], x[:, 1::2]], 1),
}

TRANSFORM_NAMES = (*_SIMPLE, "shift<k>", "roll<k>", "perm<seed>", "noise<pct>")


def apply_transform(name: str, seqs: Array, ids: Array) -> Array:
    """Apply one named transform to sequences (n, LENGTH); `ids` seed the noise per sample."""
    if name in _SIMPLE:
        return np.ascontiguousarray(_SIMPLE[name](seqs))
    m = re.fullmatch(r"(shift|roll|perm|noise)(\d+)", name)
    if not m:
        raise ValueError(f"unknown transform {name!r} (known: {', '.join(TRANSFORM_NAMES)})")
    kind, k = m.group(1), int(m.group(2))
    if kind == "shift":
        return (seqs + k) % VOCAB
    if kind == "roll":
        return np.roll(seqs, k, axis=1)
    if kind == "perm":
        return np.random.default_rng(k + 7919).permutation(VOCAB)[seqs]
    if k > 100:
        raise ValueError(f"transform {name!r}: noise above 100 %")
    return _noise(k, seqs, ids)


@dataclass(frozen=True)
class SeqTask:
    """A parsed task: the transforms applied in order, then the label map."""

    spec: str
    transforms: tuple[str, ...]
    labels: str

    @property
    def num_classes(self) -> int:
        return LABEL_MAPS[self.labels][0]

    def apply(self, seqs: Array, classes: Array, ids: Array) -> tuple[Array, Array]:
        """(model inputs (n, 1 + LENGTH) int64 with [CLS] first, labels (n,) int64)."""
        x = seqs
        for name in self.transforms:
            x = apply_transform(name, x, ids)
        return with_cls(x), LABEL_MAPS[self.labels][1](classes.astype(np.int64)).astype(np.int64)


def parse_seq_task(spec: str) -> SeqTask:
    """Parse ``"t1+t2:labels"``; raise ValueError naming the bad part."""
    if not isinstance(spec, str) or spec.count(":") != 1:
        raise ValueError(f"task {spec!r}: expected '<transform>[+<transform>]:<labelmap>'")
    left, labels = spec.split(":")
    if labels not in LABEL_MAPS:
        raise ValueError(f"task {spec!r}: unknown label map {labels!r} "
                         f"(known: {', '.join(LABEL_MAPS)})")
    transforms = tuple(t for t in left.split("+") if t)
    dummy = np.zeros((1, LENGTH), dtype=np.int64)
    for t in transforms:
        try:
            apply_transform(t, dummy, np.zeros(1, dtype=np.int64))
        except ValueError as exc:
            raise ValueError(f"task {spec!r}: {exc}") from exc
    return SeqTask(spec, transforms or ("identity",), labels)


def with_cls(seqs: Array) -> Array:
    """Model inputs: [CLS] followed by the sequence, int64."""
    return np.concatenate([np.full((len(seqs), 1), CLS, dtype=np.int64),
                           seqs.astype(np.int64)], 1)


def split_data(seed: int, sizes: dict[str, int]) -> dict[str, tuple[Array, Array, Array]]:
    """Disjoint splits by name -> (sequences, classes, sample ids); no sequence is in two splits.

    The same split serves every task of a zoo (as digits' split does), so the training split
    is the only source of the experts' data and of calibration inputs.
    """
    rng = np.random.default_rng([seed, 31337])
    total = sum(sizes.values())
    seqs, classes = sample_sequences(2 * total, rng)
    _, first = np.unique(seqs, axis=0, return_index=True)
    keep = np.sort(first)  # distinct sequences, in draw order
    if len(keep) < total:
        raise ValueError("the class chains yield too few distinct sequences for these sizes")
    out, start = {}, 0
    for name, n in sizes.items():
        idx = keep[start : start + n]
        out[name] = (seqs[idx], classes[idx], idx.astype(np.int64))
        start += n
    return out
