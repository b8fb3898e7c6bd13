"""Model-merging method: task arithmetic (Ilharco et al. 2023), written as a parameterised family.

merge_tensor(base, experts, name) is called once per weight tensor of the backbone; it returns
the merged tensor (same shape). See prompt.md for the API, the metric and the known methods.
With every knob at its identity value (as below) this is exactly task arithmetic,
θ = θ0 + SCALE · Σ_t (θ_t − θ0); moving a knob away from it walks toward Iso-C
(SPECTRUM_POWER → 0, SPECTRUM_ROOTS up, ISO_BLEND → 1), TIES' sign election (SIGN_ELECT → 1) or layer-wise
merging (LAYER_GROWTH, BIAS_SCALE).

The helpers above the EVOLVE-BLOCK are fixed scaffolding: the shape guard and the tensor-name
parser sit outside the evolvable region, so no edit of the block can break them.
"""

import re

import torch

# Block index in a tensor name: `layers.<i>.` (this zoo, Llama), `encoder.layer.<i>.` (BERT),
# `h.<i>.` (GPT-2), `blocks.<i>.` / `resblocks.<i>.` (ViT, CLIP).
_LAYER_NAME = re.compile(r"(?:^|\.)(?:layers|layer|h|blocks|resblocks)\.(\d+)\.")


def layer_index(name: str) -> int | None:
    """The block a tensor belongs to, or None (embeddings, heads, final norms)."""
    found = _LAYER_NAME.search(name)
    return int(found.group(1)) if found else None


def is_matrix(t: torch.Tensor) -> bool:
    """Spectrum shaping applies to 2-D weights; everything else is a vector (bias, norm)."""
    return t.dim() == 2


# EVOLVE-BLOCK-START
SCALE = 0.3  # global λ on the merged task vector (the evaluator still picks a factor on a grid)
SPECTRUM_POWER = 1.0  # matrices: singular values s -> s_max (s / s_max)^p; 1 keeps, 0 flattens
SPECTRUM_ROOTS = 0  # square-root the shaped spectrum this many times (exponent p / 2^n)
ISO_BLEND = 0.0  # matrices: blend the shaped spectrum with a flat one at s_max (1 = Iso-C-like)
SIGN_ELECT = 0.0  # blend of the plain sum (0) and TIES' sign-elected disjoint mean × K (1)
LAYER_GROWTH = 1.0  # layer i's task vector is scaled by LAYER_GROWTH ** i
BIAS_SCALE = 1.0  # extra factor for tensors that are not matrices (biases, norms)
# Knobs that act through layer_index; `codeevo merge` warns when no tensor name matches it.
LAYER_KNOBS = ("LAYER_GROWTH",)


def merge_tensor(base: torch.Tensor, experts: list[torch.Tensor], name: str) -> torch.Tensor:
    """θ0 + factor · Δ, with Δ the (sign-elected, spectrum-shaped) sum of the task vectors."""
    taus = [(e - base).float() for e in experts]
    total = sum(taus)
    # Sign election (TIES): per entry, the mean of the task vectors whose sign agrees with the
    # sum's, times K so that it keeps the plain sum's magnitude.
    agree = [torch.relu(torch.sign(t) * torch.sign(total)) for t in taus]
    disjoint = sum(t * a for t, a in zip(taus, agree)) / sum(agree).clamp(min=1) * len(taus)
    delta = total + SIGN_ELECT * (disjoint - total)
    factor = SCALE * LAYER_GROWTH ** (layer_index(name) or 0)
    if is_matrix(delta):
        # Spectrum shaping: Δ = U S Vᵀ -> U S' Vᵀ; the identity knobs above give Δ back.
        u, s, vh = torch.linalg.svd(delta, full_matrices=False)
        top = s.max().clamp(min=torch.finfo(s.dtype).tiny)
        shaped = top * (s / top) ** (abs(SPECTRUM_POWER) / 2 ** abs(SPECTRUM_ROOTS))
        shaped = shaped + ISO_BLEND * (top - shaped)
        delta = (u * shaped) @ vh
    else:
        factor *= BIAS_SCALE
    return base + (factor * delta).to(base.dtype)
# EVOLVE-BLOCK-END
