# Runs in the candidate's child process (source passed as run_candidate's `driver`): the globals
# load_candidate, emit and kwargs come from the runner. It only sees weights: zoo<i>.npz files
# holding base/<name> and expert<k>/<name>, never val/test data, labels or the evaluator's state.
# On the data-assisted track it also gets calib_<i>.npz (per task N unlabeled TRAINING inputs and
# the frozen heads) and calib_model.py (the forward passes), handed to merge_model as `calib`.
import importlib.util
import inspect
import sys
import time

import numpy as np
import torch

torch.set_num_threads(1)
sys.dont_write_bytecode = True  # python -I ignores PYTHONDONTWRITEBYTECODE: keep the folder clean
cand = load_candidate()  # noqa: F821
device = kwargs.get("device", "cpu")  # noqa: F821
calibrated = bool(kwargs.get("calibration"))  # noqa: F821
merge_model = getattr(cand, "merge_model", None)
merge_tensor = getattr(cand, "merge_tensor", None)
if not callable(merge_model) and not callable(merge_tensor):
    raise TypeError("the program defines neither merge_tensor(base, experts, name) nor "
                    "merge_model(base, experts) / merge_model(base, experts, calib)")


def _extra_arg(fn, plain):
    """'required' / 'optional' when fn takes a positional argument after its `plain` ones."""
    try:
        params = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):
        return None
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    if len(positional) <= plain:
        return None
    return "optional" if positional[plain].default is not inspect.Parameter.empty else "required"


wants = _extra_arg(merge_model, 2) if callable(merge_model) else None
if callable(merge_tensor) and not callable(merge_model) and _extra_arg(merge_tensor, 3):
    raise TypeError("merge_tensor takes a 4th argument: data-assisted methods define "
                    "merge_model(base, experts, calib) instead (calibration data is per model)")
if wants == "required" and not calibrated:
    raise TypeError("merge_model(base, experts, calib) needs calibration data, but this "
                    "evaluator gives none: set evaluator.config.calibration: {per_task: N} "
                    "(the data-assisted track, e.g. problems/merge_calib)")
use_calib = calibrated and wants is not None
if use_calib:
    spec = importlib.util.spec_from_file_location("calib_model", "calib_model.py")
    calib_model = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(calib_model)


def _calibration(i, k_experts):
    with np.load(f"calib_{i}.npz") as c:
        inputs = [torch.from_numpy(c[f"x{k}"]).to(device) for k in range(k_experts)]
        heads = [(torch.from_numpy(c[f"head{k}/W"]).to(device),
                  torch.from_numpy(c[f"head{k}/b"]).to(device)) for k in range(k_experts)]
    return calib_model.Calibration(kwargs["models"][i], inputs, heads)  # noqa: F821


seconds = []
for i in range(int(kwargs["zoos"])):  # noqa: F821
    with np.load(f"zoo{i}.npz") as z:
        names = [k[len("base/"):] for k in z.files if k.startswith("base/")]
        k_experts = len({k.split("/")[0] for k in z.files if k.startswith("expert")})
        base = {n: torch.from_numpy(z["base/" + n]).to(device) for n in names}
        experts = [{n: torch.from_numpy(z[f"expert{k}/{n}"]).to(device) for n in names}
                   for k in range(k_experts)]
    calib = _calibration(i, k_experts) if use_calib else None
    t0 = time.perf_counter()
    if use_calib:
        # Gradients stay available: Fisher-style methods differentiate through calib's passes.
        merged = merge_model(base, experts, calib)
    else:
        with torch.no_grad():
            if callable(merge_model):
                merged = merge_model(base, experts)
            else:
                merged = {n: merge_tensor(base[n], [e[n] for e in experts], n) for n in names}
    seconds.append(time.perf_counter() - t0)
    if not isinstance(merged, dict):
        raise TypeError(f"merge returned {type(merged).__name__}, expected a dict of tensors")
    out = {}
    for n in names:
        t = merged.get(n)
        if not isinstance(t, torch.Tensor):
            raise TypeError(f"merged tensor {n!r} is {type(t).__name__}, not a torch.Tensor")
        out[n] = t.detach().to("cpu", torch.float32).numpy()
    np.savez(f"merged_{i}.npz", **out)
emit({"seconds": seconds, "data_assisted": use_calib})  # noqa: F821
