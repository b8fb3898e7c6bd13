"""Baseline: TSV-M (Gargiulo 2025): per-task low-rank SVD, whitened (orthogonalised) bases, summed.

Candidate API: merge_tensor(base, experts, name) -> Tensor (see problems/merge/prompt.md).
"""

import torch

# EVOLVE-BLOCK-START
ALPHA = 1.0


def _polar(m: torch.Tensor) -> torch.Tensor:
    p, _, qh = torch.linalg.svd(m, full_matrices=False)
    return p @ qh


def merge_tensor(base: torch.Tensor, experts: list[torch.Tensor], name: str) -> torch.Tensor:
    taus = [e - base for e in experts]
    if base.dim() != 2:
        return base + sum(taus) / len(taus)
    k = max(1, min(base.shape) // len(taus))
    us, ss, vs = [], [], []
    for tau in taus:
        u, s, vh = torch.linalg.svd(tau, full_matrices=False)
        us.append(u[:, :k])
        ss.append(s[:k])
        vs.append(vh[:k].t())
    u = _polar(torch.cat(us, 1))
    v = _polar(torch.cat(vs, 1))
    return base + ALPHA * (u * torch.cat(ss)) @ v.t()
# EVOLVE-BLOCK-END
