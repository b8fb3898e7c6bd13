"""Circle packing evaluator: n circles in the unit square, score = sum of radii.

The candidate's ``run_packing()`` runs in a separate process (``ctx.run_candidate``) and
returns ``(centers, radii)``. Every float is turned into an exact ``fractions.Fraction``
(exact for IEEE doubles) and containment and non-overlap are checked with zero tolerance: a
packing that is off by any amount scores 0, with the offending circles in the artifacts.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

N_DEFAULT = 26
MAX_REPORTED = 8


def validity(ctx: Any) -> dict[str, Any]:
    """Run the candidate once and verify its packing exactly; score 1 if valid, else 0."""
    n = int(ctx.config.get("n", N_DEFAULT))
    run = ctx.run_candidate(ctx.config.get("function", "run_packing"))
    if run.status != "ok":
        status = {"timeout": "timeout", "oom": "oom"}.get(run.status, "failed")
        arts = {"error": run.error, "traceback": run.traceback, "stdout": run.stdout,
                "stderr": run.stderr}
        return {"score": 0.0, "status": status, "reason": f"candidate {run.status}: {run.error}",
                "artifacts": {k: v for k, v in arts.items() if v}}
    parsed = parse_packing(run.value, n)
    if isinstance(parsed, str):
        return {"score": 0.0, "reason": parsed, "artifacts": {"invalid": parsed}}
    centers, radii = parsed
    violations = exact_violations(centers, radii)
    if violations:
        shown = violations[:MAX_REPORTED]
        more = len(violations) - len(shown)
        text = "\n".join(shown) + (f"\n... and {more} more" if more else "")
        return {"score": 0.0, "reason": f"invalid packing: {violations[0]}",
                "artifacts": {"invalid": text}, "metrics": {"violations": len(violations)}}
    ctx.state["packing"] = (centers, radii)
    return {"score": 1.0, "artifacts": {"stdout": run.stdout} if run.stdout else {}}


def full(ctx: Any) -> dict[str, Any]:
    """Score the verified packing: the sum of radii, with metrics and features."""
    centers, radii = ctx.state["packing"]
    total = math.fsum(radii)
    mean = total / len(radii)
    spread = math.sqrt(math.fsum((r - mean) ** 2 for r in radii) / len(radii)) / mean
    return {
        "score": total,
        "metrics": {
            "sum_radii": total,
            "n_circles": len(radii),
            "n_valid": len(radii),
            "min_radius": min(radii),
            "max_radius": max(radii),
            "target_ratio": total / 2.635,
        },
        "features": {"radius_spread": spread},
        "artifacts": {"summary": f"{len(radii)} circles, sum of radii {total:.6f} "
                      f"(best known 2.635)"},
    }


def parse_packing(value: Any, n: int) -> tuple[list[tuple[float, float]], list[float]] | str:
    """(centers, radii) as floats, or a message saying what is wrong with the shape/types."""
    if not isinstance(value, list) or len(value) != 2:
        return "run_packing() must return (centers, radii)"
    centers, radii = value
    if not isinstance(centers, list) or len(centers) != n:
        return f"centers must be a list of {n} (x, y) pairs, got {_describe(centers)}"
    if not isinstance(radii, list) or len(radii) != n:
        return f"radii must be a list of {n} numbers, got {_describe(radii)}"
    out_c: list[tuple[float, float]] = []
    for i, c in enumerate(centers):
        if not isinstance(c, list) or len(c) != 2 or not all(_is_number(v) for v in c):
            return f"centers[{i}] must be a pair of finite numbers, got {c!r:.80}"
        out_c.append((float(c[0]), float(c[1])))
    for i, r in enumerate(radii):
        if not _is_number(r):
            return f"radii[{i}] must be a finite number, got {r!r:.80}"
    return out_c, [float(r) for r in radii]


def exact_violations(centers: list[tuple[float, float]], radii: list[float]) -> list[str]:
    """Every containment or overlap violation, checked in exact rational arithmetic."""
    xs = [Fraction(x) for x, _ in centers]
    ys = [Fraction(y) for _, y in centers]
    rs = [Fraction(r) for r in radii]
    out: list[str] = []
    for i, (x, y, r) in enumerate(zip(xs, ys, rs, strict=True)):
        if r <= 0:
            out.append(f"circle {i}: radius {float(r)!r} is not positive")
            continue
        for axis, c in (("x", x), ("y", y)):
            if r > c:
                out.append(f"circle {i}: crosses {axis} = 0 by {float(r - c):.3g}")
            if c + r > 1:
                out.append(f"circle {i}: crosses {axis} = 1 by {float(c + r - 1):.3g}")
    for i in range(len(rs)):
        for j in range(i + 1, len(rs)):
            d2 = (xs[i] - xs[j]) ** 2 + (ys[i] - ys[j]) ** 2
            s = rs[i] + rs[j]
            if d2 < s * s:
                gap = float(s) - math.sqrt(float(d2))
                out.append(
                    f"circles {i} and {j} overlap by {gap:.3g} (exactly: (ri+rj)^2 - d^2 = "
                    f"{float(s * s - d2):.3g})"
                )
    return out


def _is_number(v: Any) -> bool:
    if isinstance(v, bool):
        return False
    if isinstance(v, int):
        return abs(v) <= 2**53  # math.isfinite would overflow on huge ints
    return isinstance(v, float) and math.isfinite(v)


def _describe(v: Any) -> str:
    if isinstance(v, list):
        return f"a list of {len(v)}"
    return type(v).__name__
