"""Baseline: DARE (Yu 2024):
drop entries of each τ with probability p, rescale by 1/(1-p), task arithmetic.

Candidate API: merge_tensor(base, experts, name) -> Tensor (see problems/merge/prompt.md).
"""

import torch

# EVOLVE-BLOCK-START
DROP = 0.5
SCALE = 0.3
SEED = 0


def merge_tensor(base: torch.Tensor, experts: list[torch.Tensor], name: str) -> torch.Tensor:
    # A fixed seed per tensor name keeps the merge deterministic.
    gen = torch.Generator().manual_seed(SEED + sum(map(ord, name)))
    total = torch.zeros_like(base)
    for e in experts:
        mask = (torch.rand(base.shape, generator=gen) >= DROP).to(base.dtype)
        total += (e - base) * mask / (1.0 - DROP)
    return base + SCALE * total
# EVOLVE-BLOCK-END
