"""Pack 26 circles in the unit square so that the sum of their radii is as large as possible."""

import math

N = 26


# EVOLVE-BLOCK-START
def construct_centers():
    """Staggered rows of circles, spread over the square with a margin."""
    rows = [5, 6, 5, 5, 5]
    margin = 0.12
    stagger = 0.5
    centers = []
    for i, count in enumerate(rows):
        y = margin + (1.0 - 2 * margin) * i / (len(rows) - 1)
        shift = stagger * (i % 2) / count
        for j in range(count):
            x = margin + (1.0 - 2 * margin) * (j + shift) / (count - 1)
            centers.append((min(x, 1.0 - margin), y))
    return centers


def compute_radii(centers):
    """Largest radii that keep every circle inside the square and apart from the others."""
    radii = [min(x, y, 1.0 - x, 1.0 - y) for x, y in centers]
    for _ in range(3):
        for i in range(len(centers)):
            for j in range(i + 1, len(centers)):
                d = math.dist(centers[i], centers[j])
                if radii[i] + radii[j] > d:
                    scale = d / (radii[i] + radii[j])
                    radii[i] *= scale
                    radii[j] *= scale
    shrink = 0.999
    return [r * shrink for r in radii]
# EVOLVE-BLOCK-END


def run_packing():
    """Entry point: returns (centers, radii) for the evaluator."""
    centers = construct_centers()
    radii = compute_radii(centers)
    return centers, radii


if __name__ == "__main__":
    c, r = run_packing()
    print(f"sum of radii: {sum(r):.6f}")
