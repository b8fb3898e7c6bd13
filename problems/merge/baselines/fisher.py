"""Baseline (data-assisted): Fisher merging (Matena & Raffel 2022).

θ = Σ_t F_t ⊙ θ_t / Σ_t F_t, with F_t the diagonal empirical Fisher of expert t on task t's
calibration inputs, using the expert's own predicted labels: F_t = mean_x (∇ log p_t(ŷ | x))².
Entries no expert is sensitive to fall back to the plain average (the ε in the denominator).

Candidate API: merge_model(base, experts, calib) -> dict (see docs/merge.md, data-assisted track).
"""

import torch

# EVOLVE-BLOCK-START
EPS = 1e-8  # added to every Fisher entry: where all are ~0 the merge is the plain average


def _fisher(weights, calib, task):
    params = {n: t.detach().clone().requires_grad_(True) for n, t in weights.items()}
    fisher = {n: torch.zeros_like(t) for n, t in weights.items()}
    inputs = calib.inputs[task]
    for i in range(len(inputs)):
        logits = calib.logits(params, task, inputs[i : i + 1])
        logp = torch.log_softmax(logits, dim=1)
        label = int(logp.argmax(1))
        grads = torch.autograd.grad(logp[0, label], list(params.values()), allow_unused=True)
        for (n, _), g in zip(params.items(), grads):
            if g is not None:
                fisher[n] += g.detach() ** 2
    return {n: f / max(1, len(inputs)) for n, f in fisher.items()}


def merge_model(base, experts, calib):
    fishers = [_fisher(e, calib, t) for t, e in enumerate(experts)]
    merged = {}
    for n in base:
        num = sum((f[n] + EPS) * e[n] for f, e in zip(fishers, experts))
        den = sum(f[n] + EPS for f in fishers)
        merged[n] = num / den
    return merged
# EVOLVE-BLOCK-END
