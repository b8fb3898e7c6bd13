"""0/1 knapsack heuristic, an OpenEvolve-format example for codeevo (no EVOLVE-BLOCK markers:
the whole file evolves). The evaluator calls solve(weights, values, capacity) and expects the
indices of the chosen items."""

RATIO_POWER = 1.0  # how strongly value density is preferred over raw value
SWAP_ROUNDS = 0  # improvement passes after the greedy fill


def score_item(weight, value):
    return value / (weight ** RATIO_POWER)


def solve(weights, values, capacity):
    order = sorted(range(len(weights)), key=lambda i: -score_item(weights[i], values[i]))
    chosen, load = [], 0
    for i in order:
        if load + weights[i] <= capacity:
            chosen.append(i)
            load += weights[i]
    for _ in range(SWAP_ROUNDS):
        improved = False
        outside = [i for i in range(len(weights)) if i not in chosen]
        for a in list(chosen):
            for b in outside:
                if values[b] > values[a] and load - weights[a] + weights[b] <= capacity:
                    chosen.remove(a)
                    chosen.append(b)
                    load += weights[b] - weights[a]
                    improved = True
                    break
            if improved:
                break
        if not improved:
            break
    return chosen
