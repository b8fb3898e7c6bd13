"""Spread twelve points in the unit square so that the closest pair is as far apart as
possible: a ShinkaEvolve-format example for codeevo."""

import math
import random

N_POINTS = 12


# EVOLVE-BLOCK-START
def place_points(rng):
    cols = 4
    rows = math.ceil(N_POINTS / cols)
    jitter = 0.05
    points = []
    for k in range(N_POINTS):
        r, c = divmod(k, cols)
        x = (c + 0.5) / cols + rng.uniform(-jitter, jitter)
        y = (r + 0.5) / rows + rng.uniform(-jitter, jitter)
        points.append((min(max(x, 0.0), 1.0), min(max(y, 0.0), 1.0)))
    return points
# EVOLVE-BLOCK-END


def run_experiment(seed=0):
    """Called by evaluate.py: the points for one seeded run."""
    return place_points(random.Random(seed))
