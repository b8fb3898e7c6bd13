"""The zoo families' forward passes, written functionally over a state dict (torch ≥ 1.13).

One module serves three places: the host trains zoos with it, the evaluator scores merged
weights with it, and on the data-assisted track its source is handed to the candidate's process
(as ``calib_model.py``) so that a merge can run forward passes on any weights it builds. It
holds no data and no secrets; everything here is differentiable in the weights.

A model is described by a small dict ``model``: ``{"family": "mlp"}`` (``layers.<i>.weight`` /
``.bias``, ReLU) or ``{"family": "bert", "heads": H}`` (Hugging Face BERT parameter names,
post-LayerNorm encoder, tanh pooler on the first token). ``features(model, weights, x)`` is the
backbone's output that a task's frozen linear head reads.
"""

from __future__ import annotations

import math
from typing import Any

import torch

Weights = dict[str, torch.Tensor]
Capture = dict[str, list[torch.Tensor]]


def _linear(x: torch.Tensor, w: Weights, prefix: str, capture: Capture | None) -> torch.Tensor:
    """``x @ W.T + b`` for the Linear ``prefix``; its input rows are recorded in `capture`."""
    if capture is not None:
        capture.setdefault(prefix + ".weight", []).append(x.reshape(-1, x.shape[-1]))
    out = x @ w[prefix + ".weight"].t()
    bias = w.get(prefix + ".bias")
    return out if bias is None else out + bias


def _layer_norm(x: torch.Tensor, w: Weights, prefix: str) -> torch.Tensor:
    return torch.nn.functional.layer_norm(
        x, (x.shape[-1],), w[prefix + ".weight"], w[prefix + ".bias"], eps=1e-12)


def mlp_features(w: Weights, x: torch.Tensor, capture: Capture | None = None) -> torch.Tensor:
    i = 0
    while f"layers.{i}.weight" in w:
        x = torch.relu(_linear(x, w, f"layers.{i}", capture))
        i += 1
    return x


def bert_layers(w: Weights) -> int:
    n = 0
    while f"encoder.layer.{n}.attention.self.query.weight" in w:
        n += 1
    return n


def bert_encode(w: Weights, ids: torch.Tensor, heads: int,
                capture: Capture | None = None) -> torch.Tensor:
    """Token states (n, L, d) of a BERT-style encoder; `ids` (n, L) int64 token ids."""
    n, length = ids.shape
    h = (w["embeddings.word_embeddings.weight"][ids]
         + w["embeddings.position_embeddings.weight"][:length].unsqueeze(0))
    token_type = w.get("embeddings.token_type_embeddings.weight")
    if token_type is not None:  # every token is of type 0, as a single-segment BERT input
        h = h + token_type[0]
    h = _layer_norm(h, w, "embeddings.LayerNorm")
    d = h.shape[-1]
    hd = d // heads

    def split(t: torch.Tensor) -> torch.Tensor:
        return t.reshape(n, length, heads, hd).transpose(1, 2)

    for i in range(bert_layers(w)):
        p = f"encoder.layer.{i}."
        q = split(_linear(h, w, p + "attention.self.query", capture))
        k = split(_linear(h, w, p + "attention.self.key", capture))
        v = split(_linear(h, w, p + "attention.self.value", capture))
        att = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(hd), dim=-1)
        ctx = (att @ v).transpose(1, 2).reshape(n, length, d)
        h = _layer_norm(h + _linear(ctx, w, p + "attention.output.dense", capture), w,
                        p + "attention.output.LayerNorm")
        mid = torch.nn.functional.gelu(_linear(h, w, p + "intermediate.dense", capture))
        h = _layer_norm(h + _linear(mid, w, p + "output.dense", capture), w,
                        p + "output.LayerNorm")
    return h


def bert_pool(w: Weights, states: torch.Tensor, capture: Capture | None = None) -> torch.Tensor:
    """The pooler: tanh(dense(first token's state))."""
    return torch.tanh(_linear(states[:, 0], w, "pooler.dense", capture))


def features(model: dict[str, Any], w: Weights, x: torch.Tensor,
             capture: Capture | None = None) -> torch.Tensor:
    """The backbone's output features for inputs `x` (float rows for mlp, token ids for bert)."""
    family = model.get("family", "mlp")
    if family == "mlp":
        return mlp_features(w, x, capture)
    if family == "bert":
        return bert_pool(w, bert_encode(w, x, int(model["heads"]), capture), capture)
    raise ValueError(f"unknown model family {family!r}")


class Calibration:
    """What a data-assisted merge receives as ``calib`` (see docs/merge.md).

    ``inputs[t]``: N unlabeled inputs of task t, drawn from its TRAINING split only (float rows
    for the MLP zoos, int64 token ids with the [CLS] token first for the transformer zoos).
    ``heads[t]``: task t's frozen linear head ``(W, b)``, part of every expert's checkpoint.
    ``features(weights, x)``, ``logits(weights, t, x=None)`` and ``layer_inputs(weights, x)``
    run forward passes on any weights (a dict like ``base``), differentiable in them.
    """

    def __init__(self, model: dict[str, Any], inputs: list[torch.Tensor],
                 heads: list[tuple[torch.Tensor, torch.Tensor]]) -> None:
        self.model = dict(model)
        self.inputs = list(inputs)
        self.heads = list(heads)

    @property
    def per_task(self) -> int:
        return min((len(x) for x in self.inputs), default=0)

    def features(self, weights: Weights, x: torch.Tensor) -> torch.Tensor:
        return features(self.model, weights, x)

    def logits(self, weights: Weights, task: int, x: torch.Tensor | None = None) -> torch.Tensor:
        """Task `task`'s logits (its frozen head on the features); x defaults to its inputs."""
        w, b = self.heads[task]
        feats = features(self.model, weights, self.inputs[task] if x is None else x)
        return feats @ w.t() + b

    def layer_inputs(self, weights: Weights, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """Inputs of every linear layer: weight name -> (rows, in_features) (tokens are rows)."""
        capture: Capture = {}
        features(self.model, weights, x, capture)
        return {name: torch.cat(parts) for name, parts in capture.items()}
