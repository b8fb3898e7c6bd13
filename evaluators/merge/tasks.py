"""Task definitions for the merge zoo: an input transform composed with a label map.

A task spec is a string ``"<transform>[+<transform>...]:<labelmap>"``, e.g.
``"rot90+invert:parity"`` or ``"perm7:mod3"``. Transforms act on digits' 8x8 images (values in
[0, 1]); label maps act on the digit 0..9. New tasks need no code: compose the names below
in ``problem.yaml``.

Transforms: identity, rot90, rot180, rot270, fliph, flipv, transpose, invert, blur, shiftN/E/S/W
(one pixel), quadswap, noise<pct> (fixed per-sample Gaussian noise, sigma pct/100), perm<seed>
(a fixed pixel permutation drawn from the seed), contrast (gamma 0.5).
Label maps: identity (10), reverse (9-d, 10), shift3 ((d+3)%10, 10), parity (2), threshold (d>=5,
2), mod3 (3), mod4 (4), loops (digit has a closed loop: 0 4 6 8 9, 2).
Host-side only (numpy); the sandbox receives the transformed arrays.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

Array = np.ndarray

LABEL_MAPS: dict[str, tuple[int, Callable[[Array], Array]]] = {
    "identity": (10, lambda d: d),
    "reverse": (10, lambda d: 9 - d),
    "shift3": (10, lambda d: (d + 3) % 10),
    "parity": (2, lambda d: d % 2),
    "threshold": (2, lambda d: (d >= 5).astype(d.dtype)),
    "mod3": (3, lambda d: d % 3),
    "mod4": (4, lambda d: d % 4),
    "loops": (2, lambda d: np.isin(d, [0, 4, 6, 8, 9]).astype(d.dtype)),
}


def _blur(img: Array) -> Array:
    pad = np.pad(img, ((0, 0), (1, 1), (1, 1)), mode="edge")
    out = np.zeros_like(img)
    for dy in range(3):
        for dx in range(3):
            out += pad[:, dy : dy + 8, dx : dx + 8]
    return out / 9.0


def _shift(img: Array, dy: int, dx: int) -> Array:
    out = np.zeros_like(img)
    ys, yd = (slice(0, 8 - dy), slice(dy, 8)) if dy >= 0 else (slice(-dy, 8), slice(0, 8 + dy))
    xs, xd = (slice(0, 8 - dx), slice(dx, 8)) if dx >= 0 else (slice(-dx, 8), slice(0, 8 + dx))
    out[:, yd, xd] = img[:, ys, xs]
    return out


def _quadswap(img: Array) -> Array:
    return np.roll(np.roll(img, 4, axis=1), 4, axis=2)


_SIMPLE: dict[str, Callable[[Array], Array]] = {
    "identity": lambda x: x,
    "rot90": lambda x: np.rot90(x, 1, axes=(1, 2)),
    "rot180": lambda x: np.rot90(x, 2, axes=(1, 2)),
    "rot270": lambda x: np.rot90(x, 3, axes=(1, 2)),
    "fliph": lambda x: x[:, :, ::-1],
    "flipv": lambda x: x[:, ::-1, :],
    "transpose": lambda x: np.transpose(x, (0, 2, 1)),
    "invert": lambda x: 1.0 - x,
    "blur": _blur,
    "shiftN": lambda x: _shift(x, -1, 0),
    "shiftS": lambda x: _shift(x, 1, 0),
    "shiftE": lambda x: _shift(x, 0, 1),
    "shiftW": lambda x: _shift(x, 0, -1),
    "quadswap": _quadswap,
    "contrast": lambda x: np.sqrt(np.clip(x, 0.0, 1.0)),
}

TRANSFORM_NAMES = (*_SIMPLE, "noise<pct>", "perm<seed>")


def apply_transform(name: str, images: Array, sample_ids: Array) -> Array:
    """Apply one named transform to images of shape (n, 8, 8); `sample_ids` seed the noise."""
    if name in _SIMPLE:
        return np.ascontiguousarray(_SIMPLE[name](images))
    m = re.fullmatch(r"perm(\d+)", name)
    if m:
        order = np.random.default_rng(int(m.group(1)) + 7919).permutation(64)
        return images.reshape(len(images), 64)[:, order].reshape(images.shape)
    m = re.fullmatch(r"noise(\d+)", name)
    if m:
        sigma = int(m.group(1)) / 100.0
        # Noise fixed per sample (not per call): a task's inputs are the same every build.
        noise = np.stack(
            [np.random.default_rng(int(i) + 104729).normal(0, sigma, (8, 8)) for i in sample_ids]
        )
        return images + noise.astype(images.dtype)
    raise ValueError(f"unknown transform {name!r} (known: {', '.join(TRANSFORM_NAMES)})")


@dataclass(frozen=True)
class TaskSpec:
    """A parsed task: the transforms applied in order, then the label map."""

    spec: str
    transforms: tuple[str, ...]
    labels: str

    @property
    def num_classes(self) -> int:
        return LABEL_MAPS[self.labels][0]

    def apply(self, images: Array, digits: Array, sample_ids: Array) -> tuple[Array, Array]:
        """(flattened inputs (n, 64) float32, labels (n,) int64) for this task."""
        x = images
        for name in self.transforms:
            x = apply_transform(name, x, sample_ids)
        y = LABEL_MAPS[self.labels][1](digits.astype(np.int64))
        return x.reshape(len(x), 64).astype(np.float32), y.astype(np.int64)


def parse_task(spec: str) -> TaskSpec:
    """Parse ``"t1+t2:labels"``; raise ValueError naming the bad part."""
    if not isinstance(spec, str) or spec.count(":") != 1:
        raise ValueError(f"task {spec!r}: expected '<transform>[+<transform>]:<labelmap>'")
    left, labels = spec.split(":")
    if labels not in LABEL_MAPS:
        known = ", ".join(LABEL_MAPS)
        raise ValueError(f"task {spec!r}: unknown label map {labels!r} (known: {known})")
    transforms = tuple(t for t in left.split("+") if t)
    dummy = np.zeros((1, 8, 8), dtype=np.float32)
    for t in transforms:
        try:
            apply_transform(t, dummy, np.zeros(1, dtype=np.int64))
        except ValueError as exc:
            raise ValueError(f"task {spec!r}: {exc}") from exc
    return TaskSpec(spec, transforms or ("identity",), labels)
