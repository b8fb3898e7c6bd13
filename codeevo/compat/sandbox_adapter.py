"""The evaluator module codeevo ships with a translated OpenEvolve / ShinkaEvolve folder.

Copied into the folder's composed evaluator tree as ``_codeevo_foreign.py``; the sandbox runner
imports it like any evaluator (stdlib only; it never imports codeevo). Every cascade stage calls
`run_stage`, which runs the foreign evaluator, with the candidate, in the runner's confined
child process (``ctx.run_candidate(driver=...)``): the foreign evaluator gets a program path,
imports or runs the candidate as it likes, and sends plain data back. The runner process, with
its result channel, never runs foreign code. Stand-ins for ``openevolve.evaluation_result`` and
``shinka.core`` travel with the folder's files into the child's folder, so neither framework
needs to be installed.

``ctx.config`` (written by codeevo.compat): ``format`` ("openevolve" | "shinkaevolve"),
``evaluator_file``, ``entry``, ``functions`` (stage name -> foreign function), ``stages``,
``feature_metrics``, ``score_feature``, ``text_feedback`` (Shinka: show text_feedback to the
model).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

FILES = ("standins", "files")  # sub-folders copied into the candidate's folder, in this order
_TAIL = 4000


def _snapshot() -> dict[str, bytes]:
    # Read now, at import, before any candidate ran: a candidate can rewrite the runner's
    # folder, but every evaluation still gets the original files.
    here = Path(__file__).resolve().parent
    out: dict[str, bytes] = {}
    for sub in FILES:
        root = here / sub
        if not root.is_dir():
            continue
        for path in sorted(root.rglob("*")):
            if path.is_file() and not path.is_symlink() and "__pycache__" not in path.parts:
                out[path.relative_to(root).as_posix()] = path.read_bytes()
    return out


_FILES = _snapshot()

_PLAIN = r'''
import math as _m
def _plain(v, depth=0):
    if depth > 50:
        return repr(v)[:200]
    if v is None or isinstance(v, (bool, str)):
        return v
    if isinstance(v, (int, float)):
        return v
    if isinstance(v, bytes):
        return v.decode("utf-8", "replace")
    if isinstance(v, dict):
        return {str(k): _plain(x, depth + 1) for k, x in v.items()}
    if isinstance(v, (list, tuple, set)):
        return [_plain(x, depth + 1) for x in v]
    item = getattr(v, "item", None)
    if callable(item):
        try:
            return _plain(item(), depth + 1)
        except Exception:
            pass
    tolist = getattr(v, "tolist", None)
    if callable(tolist):
        try:
            return _plain(tolist(), depth + 1)
        except Exception:
            pass
    return repr(v)[:2000]
'''

OPENEVOLVE_DRIVER = _PLAIN + r'''
import importlib.util, os, sys
_entry = os.path.abspath(kwargs["entry"])
_file = os.path.abspath(kwargs["evaluator_file"])
_spec = importlib.util.spec_from_file_location("evaluation_module", _file)
_mod = importlib.util.module_from_spec(_spec)
sys.modules["evaluation_module"] = _mod
_spec.loader.exec_module(_mod)
_fn = getattr(_mod, kwargs["function"], None)
if not callable(_fn):
    raise AttributeError("%s defines no function %s(program_path)"
                         % (os.path.basename(_file), kwargs["function"]))
_out = _fn(_entry)
if isinstance(_out, dict):
    emit({"metrics": _plain(_out), "artifacts": {}})
elif isinstance(getattr(_out, "metrics", None), dict):
    emit({"metrics": _plain(_out.metrics),
          "artifacts": _plain(getattr(_out, "artifacts", {}) or {})})
else:
    emit({"error": "%s returned %s, not a dict or an EvaluationResult"
                   % (kwargs["function"], type(_out).__name__)})
'''

SHINKA_DRIVER = _PLAIN + r'''
import json, os, runpy, sys
_entry = os.path.abspath(kwargs["entry"])
_file = os.path.abspath(kwargs["evaluator_file"])
_results = os.path.abspath("results")
os.makedirs(_results, exist_ok=True)
sys.argv = [_file, "--program_path", _entry, "--results_dir", _results]
_code, _ns = 0, None
try:
    _ns = runpy.run_path(_file, run_name="__main__")
except SystemExit as _exc:
    _code = _exc.code if isinstance(_exc.code, int) else (0 if _exc.code is None else 1)
_metrics_file = os.path.join(_results, "metrics.json")
if not os.path.exists(_metrics_file) and _ns is not None and callable(_ns.get("main")):
    _ns["main"](_entry, _results)  # an evaluate.py without a __main__ block
def _load(name):
    try:
        with open(os.path.join(_results, name)) as f:
            return json.load(f)
    except FileNotFoundError:
        return None
    except ValueError as exc:
        return {"_unreadable": str(exc)}
emit({"metrics": _plain(_load("metrics.json")), "correct": _plain(_load("correct.json")),
      "exit_code": _code, "files": sorted(os.listdir(_results))})
'''

_STATUS = {"error": "failed", "killed": "failed", "timeout": "timeout", "oom": "oom"}


def run_stage(ctx: Any) -> dict[str, Any]:
    """One cascade stage: the foreign function named for ``ctx.stage``, run in the child."""
    cfg = ctx.config
    fmt = cfg["format"]
    stages = list(cfg.get("stages") or [])
    if not stages or ctx.stage == stages[0]:
        ctx.state["merged"] = {}  # OpenEvolve merges the metrics of the stages of one job
    function = cfg["functions"][ctx.stage]
    driver = OPENEVOLVE_DRIVER if fmt == "openevolve" else SHINKA_DRIVER
    run = ctx.run_candidate(driver=driver, files=_FILES, kwargs={
        "entry": cfg["entry"], "evaluator_file": cfg["evaluator_file"], "function": function})
    if run.status != "ok":
        arts = {"traceback": run.traceback} if run.traceback else {}
        arts.update(_tails(run))
        reason = f"{cfg['evaluator_file']} ({function}): {run.error}"
        if "No module named 'openevolve" in reason or "No module named 'shinka" in reason:
            reason += (" (codeevo's stand-ins cover openevolve.evaluation_result and "
                       "shinka.core's run_shinka_eval only; this evaluator needs the framework "
                       "itself installed where the candidate runs)")
        return {"score": None, "status": _STATUS.get(run.status, "failed"),
                "reason": reason, "artifacts": arts}
    value = run.value if isinstance(run.value, dict) else {}
    if fmt == "openevolve":
        return _openevolve(ctx, value, run)
    return _shinka(ctx, value, run)


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, int | float) and math.isfinite(float(value)):
        return float(value)
    return None


def _tails(run: Any) -> dict[str, str]:
    out = {}
    for name in ("stdout", "stderr"):
        text = str(getattr(run, name, "") or "").strip()
        if text:
            out[name] = text[-_TAIL:]
    return out


def _openevolve(ctx: Any, value: dict[str, Any], run: Any) -> dict[str, Any]:
    cfg = ctx.config
    if "error" in value or not isinstance(value.get("metrics"), dict):
        reason = str(value.get("error") or "the evaluator sent no metrics")
        return {"score": None, "status": "failed", "reason": reason, "artifacts": _tails(run)}
    merged: dict[str, float] = ctx.state.setdefault("merged", {})
    artifacts: dict[str, str] = {}
    for key, raw in value["metrics"].items():
        num = _number(raw)
        if num is not None:
            merged[str(key)] = num
        elif raw is not None:
            artifacts[str(key)] = str(raw)
    for key, raw in (value.get("artifacts") or {}).items():
        artifacts[str(key)] = raw if isinstance(raw, str) else repr(raw)
    features_of = [str(f) for f in cfg.get("feature_metrics") or []]
    if "combined_score" in merged:
        fitness = merged["combined_score"]
    else:  # OpenEvolve's rule: the mean of the metrics that are not features (nor "error")
        pool = [v for k, v in merged.items() if k not in features_of and k != "error"]
        pool = pool or [v for k, v in merged.items() if k != "error"]
        if not pool:
            return {"score": None, "status": "failed", "artifacts": artifacts,
                    "reason": "the evaluator returned no numeric metric (and no combined_score)"}
        fitness = sum(pool) / len(pool)
    features = {k: merged[k] for k in features_of if k in merged}
    if cfg.get("score_feature"):
        features["score"] = fitness
    return {"score": fitness, "metrics": dict(merged), "features": features,
            "artifacts": artifacts}


def _shinka(ctx: Any, value: dict[str, Any], run: Any) -> dict[str, Any]:
    metrics = value.get("metrics")
    correct = value.get("correct")
    tails = _tails(run)
    if not isinstance(metrics, dict) or "_unreadable" in metrics:
        why = ("metrics.json is not valid JSON" if isinstance(metrics, dict)
               else "the evaluator wrote no metrics.json")
        code = value.get("exit_code")
        if code:
            why += f" (it exited with code {code})"
        return {"score": None, "status": "failed", "reason": why, "artifacts": tails}
    flat: dict[str, float] = {}
    artifacts: dict[str, str] = {}
    for key, raw in metrics.items():
        if key in ("public", "private") and isinstance(raw, dict):
            for sub, item in raw.items():
                num = _number(item)
                name = f"{key}.{sub}" if key == "private" else str(sub)
                if num is not None:
                    flat[name] = num
                elif item is not None:
                    artifacts[f"{key}.{sub}"] = item if isinstance(item, str) else repr(item)
            continue
        if key == "text_feedback":
            if raw:
                name = "text_feedback" if ctx.config.get("text_feedback") else "private.feedback"
                artifacts[name] = raw if isinstance(raw, str) else "\n".join(map(str, raw))
            continue
        num = _number(raw)
        if num is not None:
            flat[str(key)] = num
        elif raw not in (None, [], {}, ""):
            artifacts[str(key)] = raw if isinstance(raw, str) else repr(raw)
    score = _number(metrics.get("combined_score"))
    ok = isinstance(correct, dict) and bool(correct.get("correct"))
    if not ok:
        error = correct.get("error") if isinstance(correct, dict) else None
        reason = str(error or ("the evaluator wrote no correct.json" if correct is None
                               else "the evaluator marked the program incorrect"))
        artifacts.update(tails)
        return {"score": score, "status": "failed", "reason": reason, "metrics": flat,
                "artifacts": artifacts}
    if score is None:
        return {"score": None, "status": "failed", "metrics": flat, "artifacts": artifacts,
                "reason": "metrics.json has no numeric combined_score"}
    return {"score": score, "metrics": flat, "artifacts": artifacts}


