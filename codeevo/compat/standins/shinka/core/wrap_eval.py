"""Stand-in for ``shinka.core.wrap_eval.run_shinka_eval``: import the program, call its
experiment function `num_runs` times, validate and aggregate the results, and write
``metrics.json`` and ``correct.json`` into `results_dir` (ShinkaEvolve's results contract).

Runs are sequential (`run_workers` is accepted and ignored: the sandbox gives a candidate one
process group and a CPU budget). Early stopping is accepted and ignored (every run executes).
Plots (`plotting_fn`) are not drawn. ``extra_data`` in the metrics is saved to ``extra.pkl``.
"""

from __future__ import annotations

import importlib.util
import json
import math
import os
import pickle
import statistics
import time
import traceback
from collections.abc import Callable
from types import ModuleType
from typing import Any

DEFAULT_METRICS_ON_ERROR: dict[str, Any] = {
    "combined_score": 0.0,
    "execution_time_mean": 0.0,
    "execution_time_std": 0.0,
    "num_successful_runs": 0,
    "num_valid_runs": 0,
    "num_invalid_runs": 0,
    "all_validation_errors": [],
}


def load_program(program_path: str) -> ModuleType:
    """Import the program file as a module named ``program``."""
    spec = importlib.util.spec_from_file_location("program", program_path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load a module from {program_path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _jsonable(value: Any) -> Any:
    item = getattr(value, "item", None)
    if callable(item):
        try:
            return item()
        except (TypeError, ValueError):
            pass
    tolist = getattr(value, "tolist", None)
    if callable(tolist):
        return tolist()
    return repr(value)


def save_json_results(results_dir: str, metrics: dict[str, Any], correct: bool,
                      error: str | None = None, verbose: bool = True) -> None:
    """Write ``correct.json`` ({"correct", "error"}) and ``metrics.json``."""
    os.makedirs(results_dir, exist_ok=True)
    with open(os.path.join(results_dir, "correct.json"), "w") as fh:
        json.dump({"correct": bool(correct), "error": error}, fh, indent=2)
    with open(os.path.join(results_dir, "metrics.json"), "w") as fh:
        json.dump(metrics, fh, indent=2, default=_jsonable)
    if verbose:
        print(f"results saved to {results_dir}")


def run_shinka_eval(
    program_path: str,
    results_dir: str,
    experiment_fn_name: str,
    num_runs: int,
    get_experiment_kwargs: Callable[[int], dict[str, Any]] | None = None,
    aggregate_metrics_fn: Callable[[list[Any]], dict[str, Any]] | None = None,
    validate_fn: Callable[[Any], tuple[bool, str | None]] | None = None,
    plotting_fn: Callable[[Any], list[Any]] | None = None,
    default_metrics_on_error: dict[str, Any] | None = None,
    early_stop_method: Any = None,
    early_stop_threshold: float | None = None,
    early_stop_score_fn: Callable[[Any], float] | None = None,
    early_stop_kwargs: dict[str, Any] | None = None,
    run_workers: int = 1,
    max_workers_cap: int | None = None,
    verbose: bool | None = None,
) -> tuple[dict[str, Any], bool, str | None]:
    """Returns (metrics, correct, first error message) and writes them to `results_dir`."""
    if verbose is None:
        verbose = os.environ.get("SHINKA_EVAL_VERBOSE", "1") != "0"
    if run_workers < 1:
        raise ValueError("run_workers must be >= 1")
    if early_stop_method is not None and early_stop_threshold is None:
        raise ValueError("early_stop_threshold is required when early_stop_method is set")
    correct = True
    first_error: str | None = None
    errors: list[str] = []
    valid = invalid = 0
    results: list[Any] = []
    times: list[float] = []
    try:
        module = load_program(program_path)
        experiment = getattr(module, experiment_fn_name, None)
        if not callable(experiment):
            raise AttributeError(
                f"experiment function {experiment_fn_name!r} not found in {program_path}")
        for i in range(num_runs):
            kwargs = get_experiment_kwargs(i) if get_experiment_kwargs else {"seed": i + 1}
            if verbose:
                print(f"run {i + 1}/{num_runs}")
            t0 = time.perf_counter()
            result = experiment(**kwargs)
            times.append(time.perf_counter() - t0)
            results.append(result)
            if validate_fn is not None:
                ok, message = validate_fn(result)
                if ok:
                    valid += 1
                else:
                    invalid += 1
                    correct = False
                    if message:
                        first_error = first_error or f"Validation failed: {message}"
                        if message not in errors:
                            errors.append(message)
        if aggregate_metrics_fn is not None:
            metrics = dict(aggregate_metrics_fn(results))
        else:
            metrics = {"num_successful_runs": len(results),
                       "first_run_result_type": str(type(results[0])) if results else "N/A",
                       "raw_results_preview": str(results[:2]) if results else "N/A"}
        metrics["execution_time_mean"] = statistics.fmean(times) if times else 0.0
        metrics["execution_time_std"] = statistics.pstdev(times) if times else 0.0
        if validate_fn is not None:
            metrics["num_valid_runs"] = valid
            metrics["num_invalid_runs"] = invalid
            metrics["all_validation_errors"] = errors
        score = metrics.get("combined_score")
        if isinstance(score, float) and not math.isfinite(score):
            correct = False
            first_error = first_error or f"combined_score is {score}"
    except Exception as exc:
        if verbose:
            traceback.print_exc()
        base = dict(default_metrics_on_error or DEFAULT_METRICS_ON_ERROR)
        metrics = {k: base.get(k, v) for k, v in DEFAULT_METRICS_ON_ERROR.items()}
        if validate_fn is not None:
            metrics["num_invalid_runs"] = len(results) or num_runs
            metrics["all_validation_errors"] = [str(exc)]
        first_error = str(exc)
        correct = False
    if "extra_data" in metrics:
        extra = metrics.pop("extra_data")
        os.makedirs(results_dir, exist_ok=True)
        with open(os.path.join(results_dir, "extra.pkl"), "wb") as fh:
            pickle.dump(extra, fh)
    save_json_results(results_dir, metrics, correct, first_error, verbose=bool(verbose))
    return metrics, correct, first_error
