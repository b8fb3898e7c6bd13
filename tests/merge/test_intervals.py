"""Bootstrap intervals over zoos: arithmetic, determinism, and what pairing buys."""

from __future__ import annotations

import random
import statistics

import pytest

from codeevo.merging.intervals import bootstrap_mean, paired_difference


def test_mean_and_interval_bracket_it() -> None:
    values = [0.8, 0.5, 1.2, 1.4, 2.2, 4.6, 3.5, 14.3, -1.0, 2.2]
    iv = bootstrap_mean(values)
    assert iv.mean == pytest.approx(statistics.mean(values))
    assert iv.low < iv.mean < iv.high and iv.n == 10
    assert iv.low > min(values) and iv.high < max(values)
    assert bootstrap_mean(values) == iv  # seeded: the same scores, the same interval
    assert bootstrap_mean(values, level=0.5).high - bootstrap_mean(values, level=0.5).low \
        < iv.high - iv.low


def test_degenerate_inputs() -> None:
    assert bootstrap_mean([0.7]).low == bootstrap_mean([0.7]).high == 0.7
    same = bootstrap_mean([0.3, 0.3, 0.3])
    assert (same.low, same.high) == (0.3, 0.3) and same.excludes_zero
    with pytest.raises(ValueError, match="no values"):
        bootstrap_mean([])
    with pytest.raises(ValueError, match="level"):
        bootstrap_mean([1.0, 2.0], level=1.5)
    with pytest.raises(ValueError, match="same zoos"):
        paired_difference([1.0, 2.0], [1.0])


def test_interval_width_matches_the_standard_error() -> None:
    # For a large sample the percentile interval is about mean ± 1.96 standard errors.
    rng = random.Random(1)
    values = [rng.gauss(0.0, 1.0) for _ in range(400)]
    iv = bootstrap_mean(values, resamples=4000)
    se = statistics.stdev(values) / len(values) ** 0.5
    assert (iv.high - iv.low) / 2 == pytest.approx(1.96 * se, rel=0.1)


def test_pairing_cancels_what_zoos_share() -> None:
    # Zoos differ a lot in difficulty; method a is 1 point better than b on every zoo.
    rng = random.Random(0)
    b = [rng.uniform(0.6, 0.9) for _ in range(10)]
    a = [x + 0.01 for x in b]
    unpaired_overlap = bootstrap_mean(a).low < bootstrap_mean(b).high
    diff = paired_difference(a, b)
    assert unpaired_overlap  # the means' intervals overlap ...
    assert diff.low == pytest.approx(0.01) and diff.high == pytest.approx(0.01)
    assert diff.excludes_zero and diff.low > 0  # ... yet a is better on the same zoos


def test_difference_with_mixed_signs_straddles_zero() -> None:
    d = paired_difference([0.80, 0.70, 0.90, 0.75], [0.78, 0.73, 0.88, 0.76])
    assert d.low < 0 < d.high and not d.excludes_zero
