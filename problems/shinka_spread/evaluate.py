"""ShinkaEvolve-format evaluator (written for codeevo's tests): run_shinka_eval runs the program
three times, validates each set of points and aggregates the smallest pairwise distance."""

import argparse
import itertools
import math

from shinka.core import run_shinka_eval

N_POINTS = 12


def validate(points):
    if not isinstance(points, (list, tuple)) or len(points) != N_POINTS:
        return False, f"expected {N_POINTS} points"
    for i, p in enumerate(points):
        if len(p) != 2 or not all(isinstance(v, (int, float)) for v in p):
            return False, f"point {i} is not a pair of numbers"
        if not all(0.0 <= v <= 1.0 and math.isfinite(v) for v in p):
            return False, f"point {i} = {tuple(p)} lies outside the unit square"
    return True, None


def _closest(points):
    return min(math.dist(a, b) for a, b in itertools.combinations(points, 2))


def aggregate(results):
    gaps = [_closest(points) for points in results]
    mean = sum(gaps) / len(gaps)
    return {
        "combined_score": mean,
        "public": {"closest_pair": mean, "worst_run": min(gaps)},
        "private": {"runs": len(gaps)},
        "text_feedback": f"closest pair {mean:.4f} (worst run {min(gaps):.4f})",
    }


def main(program_path, results_dir):
    metrics, correct, error = run_shinka_eval(
        program_path=program_path,
        results_dir=results_dir,
        experiment_fn_name="run_experiment",
        num_runs=3,
        get_experiment_kwargs=lambda i: {"seed": i},
        validate_fn=validate,
        aggregate_metrics_fn=aggregate,
    )
    print("correct" if correct else f"incorrect: {error}", metrics.get("combined_score"))


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--program_path", default="initial.py")
    parser.add_argument("--results_dir", default="results")
    args = parser.parse_args()
    main(args.program_path, args.results_dir)
