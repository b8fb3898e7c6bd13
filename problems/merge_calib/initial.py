"""Data-assisted merging: Gram-weighted averaging (a RegMean family), written with knobs.

merge_model(base, experts, calib) gets the pre-trained weights, the experts' weights and the
calibration data: ``calib.inputs[t]`` (a few unlabeled training inputs of task t),
``calib.layer_inputs(weights, x)`` (every linear layer's inputs under `weights`: name ->
(rows, in_features)), ``calib.logits(weights, t, x)`` and ``calib.features(weights, x)``
(forward passes on any weights you build, differentiable in them). See prompt.md.

Per linear layer: W = W0 + (Σ_t τ_t G_t)(Σ_t G_t)⁻¹ with G_t the Gram matrix of the layer's
inputs under expert t on task t's inputs. GRAM_MIX is the share of each Gram's off-diagonal
part kept: 0 (as below) weights every input feature by its energy alone (a per-feature weighted
average of the experts), about 0.95 is RegMean (Jin et al. 2023); each step of the int knob
GRAM_HALVINGS halves its distance to 1. SPECTRUM_POWER then shapes the merged update's
singular values (1 keeps them, 0 flattens them, as Iso-C does).
"""

import torch

# EVOLVE-BLOCK-START
SCALE = 1.0  # factor on every merged task vector (the evaluator still picks λ on a grid)
GRAM_MIX = 0.0  # share of each Gram matrix's off-diagonal part kept (0.95 ≈ RegMean)
GRAM_HALVINGS = 0  # int: halve the distance of GRAM_MIX to 1 this many times (coarse steps)
RIDGE = 0.0001  # pulls input directions no task uses toward the plain average
SPECTRUM_POWER = 1.0  # matrices: singular values s -> s_max (s / s_max)^p of the merged update
BIAS_SCALE = 1.0  # factor on tensors that are not linear weights (biases, norms, embeddings)


def _grams(experts, calib):
    grams = []
    with torch.no_grad():
        for t, weights in enumerate(experts):
            inputs = calib.layer_inputs(weights, calib.inputs[t])
            grams.append({n: x.t() @ x / len(x) for n, x in inputs.items()})
    return grams


def _shape_spectrum(delta):
    u, s, vh = torch.linalg.svd(delta, full_matrices=False)
    top = s.max().clamp(min=torch.finfo(s.dtype).tiny)
    return (u * (top * (s / top) ** abs(SPECTRUM_POWER))) @ vh


def merge_model(base, experts, calib):
    grams = _grams(experts, calib)
    merged = {}
    for name, w0 in base.items():
        taus = [e[name] - w0 for e in experts]
        if name in grams[0]:
            mix = 1 - (1 - GRAM_MIX) / 2 ** abs(GRAM_HALVINGS)
            mixed = [mix * g[name] + (1 - mix) * torch.diag(torch.diag(g[name])) for g in grams]
            total = sum(mixed)
            # never below float eps (relative): a singular Gram sum must still solve
            ridge = max(abs(RIDGE), torch.finfo(total.dtype).eps) * float(torch.diag(total).mean())
            ridge += torch.finfo(total.dtype).tiny
            num = sum(tau @ g for tau, g in zip(taus, mixed)) + ridge * sum(taus) / len(taus)
            eye = torch.eye(total.shape[0], dtype=total.dtype)
            delta = torch.linalg.solve(total + ridge * eye, num.t()).t()
            delta = _shape_spectrum(delta)
        else:
            delta = BIAS_SCALE * sum(taus) / len(taus)
        merged[name] = w0 + SCALE * delta
    return merged
# EVOLVE-BLOCK-END
