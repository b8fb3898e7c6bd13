"""Baseline (data-assisted): Fisher merging (Matena & Raffel 2022).

θ = Σ_t F_t ⊙ θ_t / Σ_t F_t, with F_t the diagonal Fisher of expert t on task t's calibration
inputs, as the paper computes it for classifiers: the expectation over the expert's own predictive
distribution, F_t = mean_x Σ_y p_t(y | x) (∇ log p_t(y | x))² (not the gradient at the argmax
label only, which vanishes for confident experts). Each F_t is then divided by its L2 norm over
the whole model (``normalize_fisher_weight``, as FusionBench / MergeLM run Fisher merging on CLIP
and GLUE): otherwise the least confident expert's Fisher is 10²–10⁴ times the others' and the
merge collapses onto it. Entries no expert is sensitive to fall back to the plain average (ε).

Candidate API: merge_model(base, experts, calib) -> dict (see docs/merge.md, data-assisted track).
"""

import torch

# EVOLVE-BLOCK-START
EPS = 1e-8  # added to every Fisher entry: where all are ~0 the merge is the plain average
NORMALIZE = True  # each expert's Fisher divided by its L2 norm over all tensors


def _fisher(weights, calib, task):
    params = {n: t.detach().clone().requires_grad_(True) for n, t in weights.items()}
    fisher = {n: torch.zeros_like(t) for n, t in weights.items()}
    inputs = calib.inputs[task]
    for i in range(len(inputs)):
        logits = calib.logits(params, task, inputs[i : i + 1])
        logp = torch.log_softmax(logits, dim=1)[0]
        probs = logp.detach().exp()
        for y in range(len(probs)):  # exact expectation over y ~ p(y | x)
            grads = torch.autograd.grad(logp[y], list(params.values()),
                                        retain_graph=y + 1 < len(probs), allow_unused=True)
            for (n, _), g in zip(params.items(), grads):
                if g is not None:
                    fisher[n] += probs[y] * g.detach() ** 2
    fisher = {n: f / max(1, len(inputs)) for n, f in fisher.items()}
    if NORMALIZE:
        norm = float(torch.sqrt(sum((f ** 2).sum() for f in fisher.values())))
        fisher = {n: f / max(norm, 1e-30) for n, f in fisher.items()}
    return fisher


def merge_model(base, experts, calib):
    fishers = [_fisher(e, calib, t) for t, e in enumerate(experts)]
    merged = {}
    for n in base:
        num = sum((f[n] + EPS) * e[n] for f, e in zip(fishers, experts))
        den = sum(f[n] + EPS for f in fishers)
        merged[n] = num / den
    return merged
# EVOLVE-BLOCK-END
