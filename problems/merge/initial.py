"""Model-merging method: task arithmetic (Ilharco et al. 2023) with per-layer knobs.

merge_tensor(base, experts, name) is called once per weight tensor of the backbone; it returns
the merged tensor (same shape). See prompt.md for the API, the metric and the known methods.
"""

import torch

# EVOLVE-BLOCK-START
SCALE = 0.3  # global λ on the summed task vectors
LAYER_SCALES = [1.0, 1.0, 1.0, 1.0]  # extra factor per layer index (layers.<i>.*)
BIAS_SCALE = 1.0  # extra factor for bias vectors


def merge_tensor(base: torch.Tensor, experts: list[torch.Tensor], name: str) -> torch.Tensor:
    """θ = θ0 + λ · Σ_t (θ_t − θ0), with per-layer and bias factors."""
    task_vectors = [e - base for e in experts]
    delta = torch.stack(task_vectors).sum(0)
    layer = int(name.split(".")[1]) if name.startswith("layers.") else 0
    factor = SCALE * LAYER_SCALES[min(layer, len(LAYER_SCALES) - 1)]
    if base.dim() == 1:
        factor *= BIAS_SCALE
    return base + factor * delta
# EVOLVE-BLOCK-END
