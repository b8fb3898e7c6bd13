"""Merge-problem evaluator (runs inside the sandbox: torch 1.13, numpy 1.24).

One stage, ``fitness``: the candidate's merge runs in a child process on the zoos' weights only
(``driver.py``); its merged backbones are scored here with the frozen heads and the secret
val/test data read in ``setup``. Score = mean over zoos of the test normalized accuracy at the λ
chosen on validation (the fair protocol in ``scoring.py``); a merge that fails, times out, or
returns NaN / wrong shapes scores 0 with the reason. Per-zoo scores are metrics
(``zoo<i>_normalized``) with their spread (``normalized_std``, ``normalized_min``) and, in the
``zoos`` artifact, each zoo's label: `codeevo report` builds its intervals from them.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import torch
from presets import SCALES, check_config  # type: ignore[import-not-found]
from scoring import check_merged, expert_accuracies, load_zoo, score_merged  # type: ignore[import-not-found]
from user_zoo import load_user, score_user  # type: ignore[import-not-found]

HERE = Path(__file__).resolve().parent
DRIVER = (HERE / "driver.py").read_text()
# The forward passes a data-assisted candidate may run (no data, no secrets in it).
MODELS = (HERE / "models.py").read_bytes()


def resolve_device(want: str) -> tuple[str, str | None]:
    """(device, note): CUDA when asked for (or auto) and present, else CPU with a note."""
    want = (want or "auto").strip()
    if want == "cpu":
        return "cpu", None
    if want != "auto" and not want.startswith("cuda"):
        return "cpu", f"device {want!r} not understood; using cpu"
    if torch.cuda.is_available():
        return ("cuda" if want == "auto" else want), None
    if want == "auto":
        return "cpu", None
    return "cpu", f"device {want!r} requested but CUDA is not available; falling back to cpu"


def setup(ctx: Any) -> None:
    """Read the zoos (weights, heads, data) into memory before the assets are deleted."""
    check_config(ctx.config)
    device, note = resolve_device(str(ctx.config.get("device", "auto")))
    manifest = json.loads((ctx.assets / "manifest.json").read_text())
    zoos: list[Any] = []
    weights = []
    if manifest.get("user"):
        # Bring-your-own zoo: the user's scorer reads its data now, before assets go away.
        blob = (ctx.assets / "weights_0.npz").read_bytes()
        with np.load(io.BytesIO(blob)) as w:
            base = {k[5:]: torch.from_numpy(w[k]).to(device) for k in w.files
                    if k.startswith("base/")}
        ctx.state.update(user=load_user(ctx.assets / "user"), zoos=[base], weights=[blob],
                         device=device, device_note=note)
        return
    calib: dict[str, bytes] = {}
    for i, info in enumerate(manifest["zoos"]):
        blob = (ctx.assets / f"weights_{i}.npz").read_bytes()
        weights.append(blob)
        with np.load(io.BytesIO(blob)) as w, np.load(ctx.assets / f"eval_{i}.npz") as e:
            arrays = {**{k: w[k] for k in w.files}, **{k: e[k] for k in e.files}}
        zoo = load_zoo(arrays, info["names"], info["tasks"], device, info.get("model"))
        experts = {s: expert_accuracies(zoo, s) for s in ("val", "test")}
        zoos.append((zoo, experts))
        if manifest.get("calibration"):
            # Unlabeled training inputs + heads only (calibration.py): what the candidate gets.
            calib[f"calib_{i}.npz"] = (ctx.assets / f"calib_{i}.npz").read_bytes()
    labels = [str(info.get("label", f"zoo{i}")) for i, info in enumerate(manifest["zoos"])]
    ctx.state.update(zoos=zoos, weights=weights, calib=calib, device=device, device_note=note,
                     labels=labels, time_scale=float(manifest.get("time_scale", 1.0)))


def _fail(status: str, reason: str, artifacts: dict[str, str]) -> dict[str, Any]:
    return {"score": 0.0, "status": status, "reason": reason[:500], "artifacts": artifacts,
            "metrics": {"normalized_acc": 0.0}}


def fitness(ctx: Any) -> dict[str, Any]:
    zoos = ctx.state["zoos"]
    device = ctx.state["device"]
    artifacts: dict[str, str] = {"device": f"scoring on {device}"}
    if ctx.state["device_note"]:
        artifacts["device"] += f" ({ctx.state['device_note']})"
    files = {f"zoo{i}.npz": blob for i, blob in enumerate(ctx.state["weights"])}
    calibrated = bool(ctx.state.get("calib"))
    if calibrated:
        files.update(ctx.state["calib"])
        files["calib_model.py"] = MODELS
    models = [zoo.model for zoo, _ in zoos] if calibrated else []
    run = ctx.run_candidate(
        driver=DRIVER, files=files,
        kwargs={"zoos": len(zoos), "device": "cpu", "calibration": calibrated, "models": models},
        # time_limit is for the search split's zoos; prepare's time_scale keeps it per zoo.
        timeout=float(ctx.config.get("time_limit", 60)) * ctx.state.get("time_scale", 1.0),
    )
    if run.stdout:
        artifacts["stdout"] = run.stdout[-2000:]
    if run.status != "ok":
        if run.traceback:
            artifacts["traceback"] = run.traceback[-3000:]
        status = {"timeout": "timeout", "oom": "oom"}.get(run.status, "failed")
        return _fail(status, f"merge {run.status}: {run.error or run.stderr[-300:]}", artifacts)
    scales = tuple(float(s) for s in ctx.config.get("scales", SCALES))
    if ctx.state.get("user"):
        return _user_fitness(ctx, run, scales, artifacts)
    results = []
    for i, (zoo, experts) in enumerate(zoos):
        try:
            # run.open: no symlink followed, nothing outside the candidate's run folder
            with run.open(f"merged_{i}.npz") as fh, np.load(fh, allow_pickle=False) as z:
                merged = {n: torch.from_numpy(np.array(z[n])).to(device)
                          for n in z.files if n in zoo.base}
        except (OSError, ValueError, KeyError) as exc:
            return _fail("failed", f"zoo {i}: merged weights unreadable: {exc}", artifacts)
        problem = check_merged(zoo, merged)
        if problem:
            return _fail("failed", f"zoo {i}: {problem}", artifacts)
        merged = {n: t.float() for n, t in merged.items()}
        results.append(score_merged(zoo, merged, scales, experts))
    norm = float(np.mean([r.normalized for r in results]))
    metrics = {
        "normalized_acc": norm,
        "gap_closed": float(np.mean([r.gap_closed for r in results])),
        "worst_task": float(np.mean([r.worst for r in results])),
        "pretrained_acc": float(np.mean([r.pretrained for r in results])),
        "scale": float(np.mean([r.scale for r in results])),
        "merge_seconds": float(sum((run.value or {}).get("seconds", [0.0]))),
        # 1 when the merge read calibration data: such methods rank in their own table.
        "data_assisted": float(bool((run.value or {}).get("data_assisted"))),
    }
    per_zoo = [r.normalized for r in results]
    metrics.update(zoos=float(len(results)), normalized_min=float(min(per_zoo)),
                   normalized_std=float(np.std(per_zoo, ddof=1)) if len(per_zoo) > 1 else 0.0)
    for i, r in enumerate(results):
        metrics[f"zoo{i}_normalized"] = r.normalized
        metrics[f"zoo{i}_scale"] = r.scale
    labels = ctx.state.get("labels") or [f"zoo{i}" for i in range(len(results))]
    artifacts["zoos"] = json.dumps([
        {"zoo": i, "label": label, "normalized": r.normalized, "gap_closed": r.gap_closed,
         "worst_task": r.worst, "scale": r.scale}
        for i, (label, r) in enumerate(zip(labels, results, strict=False))], indent=1)
    lines = [f"zoo {i} ({labels[i]}): normalized {r.normalized:.4f} at scale {r.scale}; "
             "per task "
             + ", ".join(f"{t}={a:.3f}" for t, a in zip(zoo.tasks, r.per_task, strict=False))
             for i, (r, (zoo, _)) in enumerate(zip(results, zoos, strict=False))]
    artifacts["per_task"] = "\n".join(lines)
    return {"score": norm, "metrics": metrics, "artifacts": artifacts,
            "features": {"worst_task": metrics["worst_task"], "scale": metrics["scale"]}}


def _user_fitness(ctx: Any, run: Any, scales: tuple[float, ...],
                  artifacts: dict[str, str]) -> dict[str, Any]:
    mod, state = ctx.state["user"]
    base = ctx.state["zoos"][0]
    try:
        with run.open("merged_0.npz") as fh, np.load(fh, allow_pickle=False) as z:
            merged = {n: torch.from_numpy(np.array(z[n])).to(base[n].device)
                      for n in z.files if n in base}
    except (OSError, ValueError) as exc:
        return _fail("failed", f"merged weights unreadable: {exc}", artifacts)
    for n, t in base.items():
        if n not in merged or tuple(merged[n].shape) != tuple(t.shape):
            return _fail("failed", f"tensor {n!r} missing or of the wrong shape", artifacts)
        if not bool(torch.isfinite(merged[n]).all()):
            return _fail("failed", f"tensor {n!r} holds NaN or infinite values", artifacts)
    metrics = score_user(mod, state, base, merged, scales)
    return {"score": metrics["normalized_acc"], "metrics": metrics, "artifacts": artifacts,
            "features": {"worst_task": metrics["worst_task"], "scale": metrics["scale"]}}
