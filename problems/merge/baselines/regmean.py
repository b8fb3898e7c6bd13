"""Baseline (data-assisted): RegMean (Jin et al. 2023).

Per linear layer, the weight that best reproduces every expert's outputs on its own task's
inputs: W* = (Σ_t W_t G_t)(Σ_t G_t)⁻¹ with G_t = X_tᵀ X_t the Gram matrix of the layer's inputs
under expert t on task t's calibration inputs, off-diagonal entries shrunk by ALPHA. Every other
tensor (biases, LayerNorm, embeddings) is averaged. A tiny ridge pulls input directions that no
task's inputs ever use (e.g. always-blank pixels) toward the plain average.

Candidate API: merge_model(base, experts, calib) -> dict (see docs/merge.md, data-assisted track).
"""

import torch

# EVOLVE-BLOCK-START
ALPHA = 0.95  # off-diagonal shrinkage of each Gram matrix (1 = exact least squares)
RIDGE = 1e-4  # pull toward the plain average along input directions no task ever uses


def merge_model(base, experts, calib):
    grams = []
    with torch.no_grad():
        for t, e in enumerate(experts):
            xs = calib.layer_inputs(e, calib.inputs[t])
            grams.append({n: x.t() @ x / len(x) for n, x in xs.items()})
    merged = {}
    for n in base:
        if n in grams[0]:
            gs = []
            for g in grams:
                diag = torch.diag(torch.diag(g[n]))
                gs.append(ALPHA * g[n] + (1 - ALPHA) * diag)
            total = sum(gs)
            ridge = RIDGE * float(torch.diag(total).mean()) + 1e-12
            avg = sum(e[n] for e in experts) / len(experts)
            num = sum(e[n] @ g for e, g in zip(experts, gs)) + ridge * avg
            eye = torch.eye(total.shape[0], dtype=total.dtype)
            merged[n] = torch.linalg.solve(total + ridge * eye, num.t()).t()
        else:
            merged[n] = sum(e[n] for e in experts) / len(experts)
    return merged
# EVOLVE-BLOCK-END
