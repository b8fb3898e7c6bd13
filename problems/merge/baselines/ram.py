"""Baseline: RAM+ (Yuan 2026):
entries active in one model kept whole, shared ones averaged; unique parts rescaled.

Candidate API: merge_tensor(base, experts, name) -> Tensor (see problems/merge/prompt.md).
"""

import torch

# EVOLVE-BLOCK-START
EPS_REL = 0.1  # an entry is active when |τ| > EPS_REL · mean |τ| of that tensor
R = 0.1
ALPHA = 0.2
SCALE = 1.0


def merge_tensor(base: torch.Tensor, experts: list[torch.Tensor], name: str) -> torch.Tensor:
    taus = torch.stack([e - base for e in experts])
    eps = EPS_REL * taus.abs().mean(dim=tuple(range(1, taus.dim())), keepdim=True)
    active = (taus.abs() > eps).to(taus.dtype)
    count = active.sum(0)
    merged = (taus * active).sum(0) / count.clamp(min=1)
    unique = (count == 1).to(taus.dtype)
    # RAM+: boost each model's unique part by how much it is overshadowed by shared entries.
    for t in range(taus.shape[0]):
        mine = active[t] * unique
        shared = float((active[t] * (1 - unique)).sum())
        own = float(mine.sum())
        boost = 1 + R * min(max(shared / own, 0.0), ALPHA) if own > 0 else 1.0
        merged = merged + (boost - 1) * taus[t] * mine
    return base + SCALE * merged
# EVOLVE-BLOCK-END
