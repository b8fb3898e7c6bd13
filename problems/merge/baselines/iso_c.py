"""Baseline: Iso-C (Marczak 2025): flatten the spectrum of the summed task matrix.

Candidate API: merge_tensor(base, experts, name) -> Tensor (see problems/merge/prompt.md).
"""

import torch

# EVOLVE-BLOCK-START
ALPHA = 1.3


def merge_tensor(base: torch.Tensor, experts: list[torch.Tensor], name: str) -> torch.Tensor:
    delta = torch.stack([e - base for e in experts]).sum(0)
    if base.dim() != 2:
        return base + delta / len(experts)
    u, s, vh = torch.linalg.svd(delta, full_matrices=False)
    return base + ALPHA * (u * s.mean()) @ vh
# EVOLVE-BLOCK-END
