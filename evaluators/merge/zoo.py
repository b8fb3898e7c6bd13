"""Build one model zoo on the host: a pre-trained backbone MLP, K fine-tuned experts, frozen heads.

Trusted code of ours (runs in the driver via ``prepare.py``; uses the host's torch and sklearn).
The zoo is saved as plain ``.npz`` files so the sandbox (torch 1.13, numpy 1.24, no safetensors)
can read it:

    zoo.npz      base weights ``base/<name>``, experts ``expert<k>/<name>``, heads ``head<k>/W|b``,
                 per-task splits ``val<k>/x|y`` and ``test<k>/x|y``, expert accuracies
    meta.json    tasks, tensor names, build settings

Backbone: ``x (64) -> [Linear -> ReLU] * depth -> features``; tensor names ``layers.<i>.weight``
and ``layers.<i>.bias`` (mergekit-style names). Each task's head is a linear probe fitted on the
pre-trained features and then frozen (the analogue of CLIP's zero-shot heads); experts fine-tune
the backbone only.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
from tasks import TaskSpec, apply_transform, parse_task  # type: ignore[import-not-found]
from torch import nn


@dataclass(frozen=True)
class Recipe:
    """An optimisation recipe (pre-training, probing or fine-tuning)."""

    optimizer: str = "adam"
    steps: int = 300
    lr: float = 1e-3
    batch: int = 128
    weight_decay: float = 0.0

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None, default: Recipe) -> Recipe:
        merged = {**default.__dict__, **(data or {})}
        unknown = set(merged) - set(default.__dict__)
        if unknown:
            raise ValueError(f"unknown recipe keys: {sorted(unknown)}")
        if merged["optimizer"] not in ("adam", "sgd"):
            raise ValueError(f"optimizer must be adam or sgd, got {merged['optimizer']!r}")
        return cls(**merged)


@dataclass(frozen=True)
class ZooSpec:
    """Everything that determines one zoo (its content address is a hash of this)."""

    family: ClassVar[str] = "mlp"

    seed: int
    tasks: tuple[str, ...]
    width: int = 128
    depth: int = 2
    augment: tuple[str, ...] = ()
    pretrain: Recipe = field(default_factory=lambda: Recipe(steps=1500, lr=2e-3))
    probe: Recipe = field(default_factory=lambda: Recipe(steps=300, lr=1e-2, batch=256))
    finetune: Recipe = field(default_factory=Recipe)
    probe_shots: int = 0  # training samples per class for the frozen head (0 = all)

    def key(self) -> dict[str, Any]:
        return {
            "seed": self.seed, "tasks": list(self.tasks), "width": self.width,
            "depth": self.depth, "augment": list(self.augment),
            "pretrain": self.pretrain.__dict__, "probe": self.probe.__dict__,
            "finetune": self.finetune.__dict__, "probe_shots": self.probe_shots,
            "version": 1,
        }

    def model(self) -> dict[str, Any]:
        """The forward pass this zoo's weights need (``models.features``)."""
        return {"family": "mlp"}

    def build(self, out: Path) -> dict[str, Any]:
        return build_zoo(self, out)

    def train_inputs(self, task: int) -> tuple[np.ndarray, np.ndarray]:
        """(inputs, sample ids) of task `task`'s training split, as its expert was trained on."""
        images, digits, ids = load_digits_split(self.seed)["train"]
        return parse_task(self.tasks[task]).apply(images, digits, ids)[0], ids


class Backbone(nn.Module):
    def __init__(self, width: int, depth: int) -> None:
        super().__init__()
        dims = [64] + [width] * depth
        self.layers = nn.ModuleList(
            nn.Linear(a, b) for a, b in zip(dims[:-1], dims[1:], strict=False))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.layers:
            x = torch.relu(layer(x))
        return x


def load_digits_split(seed: int) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """digits split 60/20/20 by seed: name -> (images (n,8,8) in [0,1], digits, sample ids)."""
    from sklearn.datasets import load_digits

    data = load_digits()
    images = (data.images / 16.0).astype(np.float32)
    digits = data.target.astype(np.int64)
    ids = np.arange(len(digits))
    order = np.random.default_rng(seed).permutation(len(digits))
    n_tr, n_va = int(0.6 * len(order)), int(0.2 * len(order))
    parts = {"train": order[:n_tr], "val": order[n_tr : n_tr + n_va], "test": order[n_tr + n_va :]}
    return {k: (images[v], digits[v], ids[v]) for k, v in parts.items()}


def _optimizer(params: Any, r: Recipe) -> torch.optim.Optimizer:
    if r.optimizer == "sgd":
        return torch.optim.SGD(params, lr=r.lr, momentum=0.9, weight_decay=r.weight_decay)
    return torch.optim.Adam(params, lr=r.lr, weight_decay=r.weight_decay)


def _train(
    params: list[torch.Tensor], loss_fn: Any, n: int, r: Recipe, gen: torch.Generator
) -> None:
    opt = _optimizer(params, r)
    for _ in range(r.steps):
        idx = torch.randint(0, n, (min(r.batch, n),), generator=gen)
        opt.zero_grad()
        loss_fn(idx).backward()
        opt.step()


def _augmented(images: np.ndarray, digits: np.ndarray, ids: np.ndarray, names: tuple[str, ...],
               copies: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Pre-training set: each copy applies one random transform (or two composed)."""
    xs, ys = [images.reshape(len(images), 64)], [digits]
    for _ in range(copies):
        x = images
        for _ in range(int(rng.integers(1, 3))):
            x = apply_transform(names[int(rng.integers(len(names)))], x, ids)
        xs.append(x.reshape(len(x), 64))
        ys.append(digits)
    return np.concatenate(xs).astype(np.float32), np.concatenate(ys)


def _shots(labels: np.ndarray, shots: int, rng: np.random.Generator) -> torch.Tensor:
    """Indices of `shots` samples per class (all samples when shots is 0)."""
    if shots <= 0:
        return torch.arange(len(labels))
    picks = [rng.permutation(np.flatnonzero(labels == c))[:shots] for c in np.unique(labels)]
    return torch.from_numpy(np.concatenate(picks))


def build_zoo(spec: ZooSpec, out: Path) -> dict[str, Any]:
    """Train the zoo described by `spec` into folder `out`; return its meta (also meta.json)."""
    t0 = time.perf_counter()
    torch.manual_seed(spec.seed)
    gen = torch.Generator().manual_seed(spec.seed)
    rng = np.random.default_rng(spec.seed)
    tasks: list[TaskSpec] = [parse_task(t) for t in spec.tasks]
    split = load_digits_split(spec.seed)
    net = Backbone(spec.width, spec.depth)
    ce = nn.functional.cross_entropy

    # Pre-train on augmented digits (10-way) with a throwaway head.
    images, digits, ids = split["train"]
    if spec.augment:
        xa, ya = _augmented(images, digits, ids, spec.augment, 12, rng)
    else:
        xa, ya = images.reshape(len(images), 64), digits
    xa_t, ya_t = torch.from_numpy(xa), torch.from_numpy(ya)
    head0 = nn.Linear(spec.width, 10)
    _train(list(net.parameters()) + list(head0.parameters()),
           lambda i: ce(head0(net(xa_t[i])), ya_t[i]), len(xa), spec.pretrain, gen)
    base = {k: v.detach().clone() for k, v in net.state_dict().items()}

    arrays: dict[str, np.ndarray] = {f"base/{k}": v.numpy().copy() for k, v in base.items()}
    expert_acc, pre_acc = [], []
    for k, task in enumerate(tasks):
        data = {s: task.apply(*split[s]) for s in ("train", "val", "test")}
        xtr, ytr = (torch.from_numpy(a) for a in data["train"])
        xte, yte = (torch.from_numpy(a) for a in data["test"])
        net.load_state_dict(base)
        # Frozen head: a linear probe on the pre-trained features.
        pidx = _shots(data["train"][1], spec.probe_shots, rng)
        with torch.no_grad():
            feats = net(xtr[pidx])
        ptr = ytr[pidx]
        head = nn.Linear(spec.width, task.num_classes)
        _train(list(head.parameters()), lambda i: ce(head(feats[i]), ptr[i]), len(ptr),  # noqa: B023
               spec.probe, gen)
        head.requires_grad_(False)
        with torch.no_grad():
            pre_acc.append(float((head(net(xte)).argmax(1) == yte).float().mean()))
        _train(list(net.parameters()), lambda i: ce(head(net(xtr[i])), ytr[i]), len(ytr),  # noqa: B023
               spec.finetune, gen)
        with torch.no_grad():
            expert_acc.append(float((head(net(xte)).argmax(1) == yte).float().mean()))
        arrays.update({f"expert{k}/{n}": v.detach().numpy().copy()
                       for n, v in net.state_dict().items()})
        arrays[f"head{k}/W"] = head.weight.detach().numpy().copy()
        arrays[f"head{k}/b"] = head.bias.detach().numpy().copy()
        for s in ("val", "test"):
            arrays[f"{s}{k}/x"], arrays[f"{s}{k}/y"] = data[s]
    out.mkdir(parents=True, exist_ok=True)
    np.savez(out / "zoo.npz", **arrays)
    meta = {
        "spec": spec.key(), "tasks": list(spec.tasks), "names": list(base),
        "expert_acc": expert_acc, "pretrained_acc": pre_acc,
        "build_seconds": round(time.perf_counter() - t0, 3),
    }
    (out / "meta.json").write_text(json.dumps(meta, indent=1) + "\n")
    return meta
