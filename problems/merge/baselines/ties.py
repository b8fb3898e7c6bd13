"""Baseline: TIES (Yadav 2023): trim to the top-k% |τ| per tensor, elect signs, disjoint mean.

Candidate API: merge_tensor(base, experts, name) -> Tensor (see problems/merge/prompt.md).
"""

import torch

# EVOLVE-BLOCK-START
DENSITY = 0.2  # share of entries kept per task vector
SCALE = 1.0


def merge_tensor(base: torch.Tensor, experts: list[torch.Tensor], name: str) -> torch.Tensor:
    taus = torch.stack([(e - base).flatten() for e in experts])
    n = taus.shape[1]
    keep = max(1, int(DENSITY * n))
    threshold = taus.abs().kthvalue(n - keep + 1, dim=1, keepdim=True).values
    taus = taus * (taus.abs() >= threshold)
    sign = torch.sign(taus.sum(0))
    agree = (torch.sign(taus) == sign) & (taus != 0)
    merged = (taus * agree).sum(0) / agree.sum(0).clamp(min=1)
    return base + SCALE * merged.reshape(base.shape)
# EVOLVE-BLOCK-END
