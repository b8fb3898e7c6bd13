"""Baseline: Model Stock (Jang 2024):
interpolate between the average and θ0 by the task vectors' mean cosine.

Candidate API: merge_tensor(base, experts, name) -> Tensor (see problems/merge/prompt.md).
"""

import torch


# EVOLVE-BLOCK-START
def merge_tensor(base: torch.Tensor, experts: list[torch.Tensor], name: str) -> torch.Tensor:
    taus = [(e - base).flatten() for e in experts]
    n = len(taus)
    cos = []
    for i in range(n):
        for j in range(i + 1, n):
            cos.append(torch.nn.functional.cosine_similarity(taus[i], taus[j], dim=0, eps=1e-12))
    c = float(torch.stack(cos).mean()) if cos else 1.0
    t = n * c / (1 + (n - 1) * c) if (1 + (n - 1) * c) != 0 else 0.0
    avg = torch.stack(experts).mean(0)
    return t * avg + (1 - t) * base
# EVOLVE-BLOCK-END
