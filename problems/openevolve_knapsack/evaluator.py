"""OpenEvolve-format evaluator (written for codeevo's tests): a two-stage cascade that imports
the program, runs solve() on seeded knapsack instances and compares with the optimum (dynamic
programming). Returns EvaluationResult with artifacts, as OpenEvolve evaluators do."""

import importlib.util
import random
import time

from openevolve.evaluation_result import EvaluationResult


def _instances(count, seed, n_items, capacity):
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        weights = [rng.randint(5, 40) for _ in range(n_items)]
        values = [max(1, int(w * rng.uniform(0.6, 1.6)) + rng.randint(-3, 3)) for w in weights]
        out.append((weights, values, capacity))
    return out


def _optimum(weights, values, capacity):
    best = [0] * (capacity + 1)
    for w, v in zip(weights, values):
        for c in range(capacity, w - 1, -1):
            best[c] = max(best[c], best[c - w] + v)
    return best[capacity]


def _load(program_path):
    spec = importlib.util.spec_from_file_location("program", program_path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _score(program_path, instances):
    module = _load(program_path)
    ratios, problems = [], []
    started = time.perf_counter()
    for k, (weights, values, capacity) in enumerate(instances):
        chosen = module.solve(list(weights), list(values), capacity)
        picked = sorted(set(int(i) for i in chosen))
        if len(picked) != len(list(chosen)) or any(i < 0 or i >= len(weights) for i in picked):
            problems.append(f"instance {k}: bad or repeated item indices")
            ratios.append(0.0)
            continue
        load = sum(weights[i] for i in picked)
        if load > capacity:
            problems.append(f"instance {k}: load {load} exceeds capacity {capacity}")
            ratios.append(0.0)
            continue
        ratios.append(sum(values[i] for i in picked) / _optimum(weights, values, capacity))
    elapsed = time.perf_counter() - started
    mean = sum(ratios) / len(ratios)
    metrics = {"combined_score": mean, "worst_ratio": min(ratios),
               "feasible": float(not problems), "seconds": elapsed}
    artifacts = {"problems": "\n".join(problems)} if problems else {}
    return EvaluationResult(metrics=metrics, artifacts=artifacts)


def evaluate_stage1(program_path):
    """Quick check on three small instances."""
    return _score(program_path, _instances(3, seed=1, n_items=12, capacity=60))


def evaluate_stage2(program_path):
    """The full test: twenty instances of forty items."""
    return _score(program_path, _instances(20, seed=2, n_items=40, capacity=200))


def evaluate(program_path):
    return evaluate_stage2(program_path)
