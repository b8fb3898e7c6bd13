"""Baseline (data-assisted): saliency merging in the spirit of Optimal Brain Merging.

Following Optimal Brain Iterative Merging (OBIM, Wang et al. 2025) and Optimal Brain Surgeon's
saliency: an entry of task vector τ_t matters by how much removing it changes the layer's output
on task t's inputs, s_t[i, j] = τ_t[i, j]² · h_t[j] with h_t[j] = mean x_j² the diagonal of the
layer's input Gram matrix under expert t (tensors that are not linear weights use τ_t²).
Intra-model: each task keeps its top DENSITY share of entries by saliency. Inter-model: every
entry goes to exactly one task, the most salient among those keeping it (no averaging, no sign
conflicts). θ = θ0 + SCALE · Σ_t mask_t ⊙ τ_t.

Candidate API: merge_model(base, experts, calib) -> dict (see docs/merge.md, data-assisted track).
"""

import torch

# EVOLVE-BLOCK-START
DENSITY = 0.3  # share of each task vector's entries kept (by saliency) per tensor
SCALE = 1.0


def merge_model(base, experts, calib):
    curv = []
    with torch.no_grad():
        for t, e in enumerate(experts):
            xs = calib.layer_inputs(e, calib.inputs[t])
            curv.append({n: (x ** 2).mean(0) for n, x in xs.items()})
    merged = {}
    for n, b in base.items():
        taus = torch.stack([e[n] - b for e in experts])
        sal = torch.stack([tau ** 2 * c[n] if n in c else tau ** 2 for tau, c in zip(taus, curv)])
        flat = sal.reshape(len(experts), -1)
        keep = max(1, int(DENSITY * flat.shape[1]))
        cut = flat.kthvalue(flat.shape[1] - keep + 1, dim=1, keepdim=True).values
        kept = (flat >= cut) & (flat > 0)
        # Mutually exclusive: the most salient kept task owns the entry.
        owner = torch.where(kept, flat, torch.full_like(flat, -1.0)).argmax(0)
        mask = kept & (torch.arange(len(experts)).unsqueeze(1) == owner.unsqueeze(0))
        delta = (taus.reshape(len(experts), -1) * mask).sum(0).reshape(b.shape)
        merged[n] = b + SCALE * delta
    return merged
# EVOLVE-BLOCK-END
