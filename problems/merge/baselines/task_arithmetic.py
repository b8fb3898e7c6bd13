"""Baseline: task arithmetic (Ilharco 2023): θ = θ0 + λ Σ_t τ_t.

Candidate API: merge_tensor(base, experts, name) -> Tensor (see problems/merge/prompt.md).
"""

import torch

# EVOLVE-BLOCK-START
SCALE = 0.3


def merge_tensor(base: torch.Tensor, experts: list[torch.Tensor], name: str) -> torch.Tensor:
    return base + SCALE * torch.stack([e - base for e in experts]).sum(0)
# EVOLVE-BLOCK-END
