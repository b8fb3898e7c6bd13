"""Baseline: simple average: θ = mean_t θ_t.

Candidate API: merge_tensor(base, experts, name) -> Tensor (see problems/merge/prompt.md).
"""

import torch


# EVOLVE-BLOCK-START
def merge_tensor(base: torch.Tensor, experts: list[torch.Tensor], name: str) -> torch.Tensor:
    return torch.stack(experts).mean(0)
# EVOLVE-BLOCK-END
