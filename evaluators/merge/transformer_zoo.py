"""The transformer zoo family: a small BERT-style encoder, pre-trained and fine-tuned offline.

Host side (trusted; runs in the driver through ``prepare.py``). Same files and same protocol as
the digits zoo (``zoo.py``): ``zoo.npz`` holds ``base/<name>``, ``expert<k>/<name>``,
``head<k>/W|b``, ``val<k>/x|y``, ``test<k>/x|y``; ``meta.json`` adds ``model`` (``{"family":
"bert", "heads": H}``) so the evaluator runs the right forward pass (``models.py``).

Backbone: token + position embeddings, LayerNorm, ``layers`` post-LN encoder layers (multi-head
self-attention, GELU MLP), tanh pooler on the [CLS] token, with Hugging Face BERT parameter names
(``encoder.layer.<i>.attention.self.query.weight`` ...). Pre-training: masked-token prediction
plus a bag-of-tokens objective on the pooled output, over a mix of sequence sources. Per task
(``seq_tasks.py``) a frozen linear head is probed on the pre-trained features from a few shots
(as CLIP's zero-shot heads), then the encoder alone is fine-tuned.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
from models import bert_encode, bert_pool  # type: ignore[import-not-found]
from seq_tasks import (  # type: ignore[import-not-found]
    CLASSES,
    EMBEDDINGS,
    LENGTH,
    VOCAB,
    apply_transform,
    parse_seq_task,
    split_data,
    with_cls,
)
from zoo import Recipe  # type: ignore[import-not-found]

SIZES = {"train": 2000, "val": 300, "test": 500}
# Pre-training augmentations keep each half in its half (reverse, swap or interleave would turn
# class 2j into 2j+1 and make the labels contradict each other).
AUGMENT = ("mirror", "roll1", "roll15", "noise10")


@dataclass(frozen=True)
class TransformerZooSpec:
    """Everything that determines one transformer zoo (its content address hashes this)."""

    family: ClassVar[str] = "bert"

    seed: int
    tasks: tuple[str, ...]
    hidden: int = 64
    layers: int = 2
    heads: int = 4
    intermediate: int = 128
    augment: tuple[str, ...] = AUGMENT
    pretrain: Recipe = field(default_factory=lambda: Recipe(steps=1500, lr=2e-3, batch=128))
    probe: Recipe = field(default_factory=lambda: Recipe(steps=300, lr=1e-2, batch=256))
    finetune: Recipe = field(default_factory=lambda: Recipe(steps=300, lr=5e-4, batch=64))
    probe_shots: int = 4
    # Fine-tuning leaves these (name prefixes) at the pre-trained values. The embedding tables
    # of a 16-token vocabulary are 17 rows; real models' tables have thousands, and rank-based
    # merges (TSV-M, Iso-C) on 17-row tables would measure an artefact of the toy vocabulary.
    frozen: tuple[str, ...] = ("embeddings.",)

    def key(self) -> dict[str, Any]:
        return {
            "family": self.family, "seed": self.seed, "tasks": list(self.tasks),
            "hidden": self.hidden, "layers": self.layers, "heads": self.heads,
            "intermediate": self.intermediate, "augment": list(self.augment),
            "pretrain": self.pretrain.__dict__, "probe": self.probe.__dict__,
            "finetune": self.finetune.__dict__, "probe_shots": self.probe_shots,
            "frozen": list(self.frozen), "vocab": VOCAB, "length": LENGTH, "sizes": SIZES,
            "version": 2,
        }

    def model(self) -> dict[str, Any]:
        return {"family": "bert", "heads": self.heads}

    def build(self, out: Path) -> dict[str, Any]:
        return build_transformer_zoo(self, out)

    def train_inputs(self, task: int) -> tuple[np.ndarray, np.ndarray]:
        """(inputs with [CLS], sample ids) of task `task`'s training split, as its expert saw."""
        seqs, classes, ids = split_data(self.seed, SIZES)["train"]
        return parse_seq_task(self.tasks[task]).apply(seqs, classes, ids)[0], ids


def init_weights(spec: TransformerZooSpec, gen: torch.Generator) -> dict[str, torch.Tensor]:
    """BERT-initialised encoder weights (normal 0.02, LayerNorm 1/0, biases 0)."""
    d, f = spec.hidden, spec.intermediate
    if d % spec.heads:
        raise ValueError(f"hidden {d} is not a multiple of heads {spec.heads}")

    def normal(*shape: int) -> torch.Tensor:
        return torch.randn(*shape, generator=gen) * 0.02

    w = {"embeddings.word_embeddings.weight": normal(EMBEDDINGS, d),
         "embeddings.position_embeddings.weight": normal(LENGTH + 1, d),
         "embeddings.token_type_embeddings.weight": torch.zeros(2, d),
         "embeddings.LayerNorm.weight": torch.ones(d), "embeddings.LayerNorm.bias": torch.zeros(d)}
    for i in range(spec.layers):
        p = f"encoder.layer.{i}."
        for name, (o, n) in {"attention.self.query": (d, d), "attention.self.key": (d, d),
                             "attention.self.value": (d, d), "attention.output.dense": (d, d),
                             "intermediate.dense": (f, d), "output.dense": (d, f)}.items():
            w[p + name + ".weight"] = normal(o, n)
            w[p + name + ".bias"] = torch.zeros(o)
        for ln in ("attention.output.LayerNorm", "output.LayerNorm"):
            w[p + ln + ".weight"] = torch.ones(d)
            w[p + ln + ".bias"] = torch.zeros(d)
    w["pooler.dense.weight"] = normal(d, d)
    w["pooler.dense.bias"] = torch.zeros(d)
    return w


def _optimizer(params: list[torch.Tensor], r: Recipe) -> torch.optim.Optimizer:
    if r.optimizer == "sgd":
        return torch.optim.SGD(params, lr=r.lr, momentum=0.9, weight_decay=r.weight_decay)
    return torch.optim.AdamW(params, lr=r.lr, weight_decay=r.weight_decay)


def _train(params: list[torch.Tensor], loss_fn: Any, r: Recipe) -> None:
    """`r.steps` steps with a linear warm-up over the first 10 % and linear decay after."""
    opt = _optimizer(params, r)
    warm = max(1, r.steps // 10)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min((s + 1) / warm, max(0.0, (r.steps - s) / max(1, r.steps - warm))))
    for step in range(r.steps):
        opt.zero_grad()
        loss_fn(step).backward()
        opt.step()
        sched.step()


def _pretrain(spec: TransformerZooSpec, w: dict[str, torch.Tensor],
              train: tuple[np.ndarray, np.ndarray, np.ndarray], gen: torch.Generator,
              rng: np.random.Generator) -> None:
    """Classify the latent class (CLASSES-way) under random augmentations, as digits' backbone."""
    seqs, classes, ids = train
    xs, ys = [with_cls(seqs)], [classes]
    for _ in range(12):
        x = seqs
        for _ in range(int(rng.integers(1, 3))):
            x = apply_transform(spec.augment[int(rng.integers(len(spec.augment)))], x, ids)
        xs.append(with_cls(x))
        ys.append(classes)
    xa, ya = torch.from_numpy(np.concatenate(xs)), torch.from_numpy(np.concatenate(ys))
    head = torch.nn.Linear(spec.hidden, CLASSES)
    for t in w.values():
        t.requires_grad_(True)

    def loss(_: int) -> torch.Tensor:
        idx = torch.randint(0, len(xa), (spec.pretrain.batch,), generator=gen)
        feats = bert_pool(w, bert_encode(w, xa[idx], spec.heads))
        return torch.nn.functional.cross_entropy(head(feats), ya[idx])

    _train([*w.values(), *head.parameters()], loss, spec.pretrain)
    for t in w.values():
        t.requires_grad_(False)


def _features(spec: TransformerZooSpec, w: dict[str, torch.Tensor], x: torch.Tensor,
              batch: int = 512) -> torch.Tensor:
    with torch.no_grad():
        return torch.cat([bert_pool(w, bert_encode(w, x[i : i + batch], spec.heads))
                          for i in range(0, len(x), batch)])


def _accuracy(spec: TransformerZooSpec, w: dict[str, torch.Tensor], head: torch.nn.Linear,
              x: torch.Tensor, y: torch.Tensor) -> float:
    with torch.no_grad():
        return float((head(_features(spec, w, x)).argmax(1) == y).float().mean())


def _finetune(spec: TransformerZooSpec, base: dict[str, torch.Tensor], head: torch.nn.Linear,
              x: torch.Tensor, y: torch.Tensor, gen: torch.Generator) -> dict[str, torch.Tensor]:
    """An expert: the encoder fine-tuned under the task's frozen head (``frozen`` stays)."""
    w = {n: t.clone().requires_grad_(not n.startswith(spec.frozen)) for n, t in base.items()}

    def loss(_: int) -> torch.Tensor:
        idx = torch.randint(0, len(x), (spec.finetune.batch,), generator=gen)
        feats = bert_pool(w, bert_encode(w, x[idx], spec.heads))
        return torch.nn.functional.cross_entropy(head(feats), y[idx])

    _train([t for t in w.values() if t.requires_grad], loss, spec.finetune)
    return {n: t.detach() for n, t in w.items()}


def build_transformer_zoo(spec: TransformerZooSpec, out: Path) -> dict[str, Any]:
    """Train the zoo described by `spec` into folder `out`; return its meta (also meta.json)."""
    t0 = time.perf_counter()
    torch.manual_seed(spec.seed)
    gen = torch.Generator().manual_seed(spec.seed)
    rng = np.random.default_rng(spec.seed)
    tasks = [parse_seq_task(t) for t in spec.tasks]
    split = split_data(spec.seed, SIZES)
    base = init_weights(spec, gen)
    _pretrain(spec, base, split["train"], gen, rng)
    ce = torch.nn.functional.cross_entropy
    arrays: dict[str, np.ndarray] = {f"base/{k}": v.numpy().copy() for k, v in base.items()}
    expert_acc, pre_acc = [], []
    for k, task in enumerate(tasks):
        data = {s: tuple(torch.from_numpy(a) for a in task.apply(*split[s])) for s in SIZES}
        xtr, ytr = data["train"]
        # Frozen head: a linear probe on the pre-trained features from a few shots per class.
        picks = [rng.permutation(np.flatnonzero(ytr.numpy() == c))[: spec.probe_shots]
                 for c in range(task.num_classes)]
        pidx = torch.from_numpy(np.concatenate(picks))
        feats, ptr = _features(spec, base, xtr[pidx]), ytr[pidx]
        head = torch.nn.Linear(spec.hidden, task.num_classes)
        _train(list(head.parameters()), lambda _s: ce(head(feats), ptr), spec.probe)  # noqa: B023
        head.requires_grad_(False)
        pre_acc.append(_accuracy(spec, base, head, *data["test"]))
        w = _finetune(spec, base, head, xtr, ytr, gen)
        expert_acc.append(_accuracy(spec, w, head, *data["test"]))
        arrays.update({f"expert{k}/{n}": t.numpy().copy() for n, t in w.items()})
        arrays[f"head{k}/W"] = head.weight.detach().numpy().copy()
        arrays[f"head{k}/b"] = head.bias.detach().numpy().copy()
        for s in ("val", "test"):
            arrays[f"{s}{k}/x"], arrays[f"{s}{k}/y"] = (a.numpy() for a in data[s])
    out.mkdir(parents=True, exist_ok=True)
    np.savez(out / "zoo.npz", **arrays)
    meta = {
        "spec": spec.key(), "model": spec.model(), "tasks": list(spec.tasks), "names": list(base),
        "expert_acc": expert_acc, "pretrained_acc": pre_acc,
        "build_seconds": round(time.perf_counter() - t0, 3),
    }
    (out / "meta.json").write_text(json.dumps(meta, indent=1) + "\n")
    return meta


POOL = [
    "mirror:parity", "roll1:identity", "noise20:mod3", "reverse:threshold",
    "swap:reverse", "mirror+noise10:mod4", "roll15:loops", "shift7:identity",
    "identity:shift3", "noise30:parity", "roll2+mirror:mod3", "perm1:identity",
    "interleave:threshold", "shift3:mod4", "reverse+noise10:loops", "perm2:parity",
]

ZOO_KEYS = {"hidden", "layers", "heads", "intermediate", "augment", "pool", "probe_shots",
            "pretrain", "probe", "finetune"}

# evaluator.config preset "transformer" (see presets.py for the keys).
PRESET: dict[str, Any] = {
    "family": "bert",
    "zoo": {
        "hidden": 128, "layers": 2, "heads": 4, "intermediate": 256, "augment": list(AUGMENT),
        "pool": POOL, "probe_shots": 2,
        "pretrain": {"optimizer": "adam", "steps": 1000, "lr": 2e-3, "batch": 64},
        "probe": {"optimizer": "adam", "steps": 300, "lr": 1e-2, "batch": 256},
        "finetune": {"optimizer": "sgd", "steps": 400, "lr": 0.003, "batch": 32},
    },
    "search": [{"seeds": [0, 1, 2], "tasks": list(range(8))}],
    # The held-out split is heldout.SUITES["transformer"]: eight zoos (seeds 100-107) on tasks
    # outside POOL, two backbone shapes, SGD and Adam (heldout.check_disjoint checks it).
}


def transformer_specs(shared: dict[str, Any], tasks: list[str], finetune: dict[str, Any],
                      seeds: list[int]) -> list[TransformerZooSpec]:
    """Specs of a split from the resolved ``zoo`` settings (ValueError names a bad task)."""
    for t in tasks:
        parse_seq_task(t)
    base = Recipe()
    return [
        TransformerZooSpec(
            seed=seed, tasks=tuple(tasks), hidden=int(shared["hidden"]),
            layers=int(shared["layers"]), heads=int(shared["heads"]),
            intermediate=int(shared["intermediate"]), augment=tuple(shared["augment"]),
            pretrain=Recipe.from_dict(shared["pretrain"], base),
            probe=Recipe.from_dict(shared["probe"], base),
            finetune=Recipe.from_dict(finetune, base), probe_shots=int(shared["probe_shots"]),
        )
        for seed in seeds
    ]
