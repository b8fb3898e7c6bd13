# Runs in the candidate's child process (source passed as run_candidate's `driver`): the globals
# load_candidate, emit and kwargs come from the runner. It only sees weights: zoo<i>.npz files
# holding base/<name> and expert<k>/<name>, never data, labels or heads.
import time

import numpy as np
import torch

torch.set_num_threads(1)
cand = load_candidate()  # noqa: F821
device = kwargs.get("device", "cpu")  # noqa: F821
merge_model = getattr(cand, "merge_model", None)
merge_tensor = getattr(cand, "merge_tensor", None)
if not callable(merge_model) and not callable(merge_tensor):
    raise TypeError("the program defines neither merge_tensor(base, experts, name) nor "
                    "merge_model(base, experts)")
seconds = []
for i in range(int(kwargs["zoos"])):  # noqa: F821
    with np.load(f"zoo{i}.npz") as z:
        names = [k[len("base/"):] for k in z.files if k.startswith("base/")]
        k_experts = len({k.split("/")[0] for k in z.files if k.startswith("expert")})
        base = {n: torch.from_numpy(z["base/" + n]).to(device) for n in names}
        experts = [{n: torch.from_numpy(z[f"expert{k}/{n}"]).to(device) for n in names}
                   for k in range(k_experts)]
    t0 = time.perf_counter()
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
emit({"seconds": seconds})  # noqa: F821
