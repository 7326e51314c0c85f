"""ROC and d_a from confidence ratings, against the binormal model and a brute-force area."""

from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np
import pytest

from scanlab.errors import SpecError
from scanlab.evaluate import auroc, rating_roc

_N = NormalDist()


def _binormal_ratings(d: float, sigma: float, n: int) -> tuple[list[int], list[int]]:
    """Ratings 1..5 whose counts follow the binormal model exactly (to 1/n): criteria at
    z = -1, 0, 1, 2 on the noise axis; the signal's mean d, standard deviation sigma."""
    cuts = [-1.0, 0.0, 1.0, 2.0]

    def counts(mean: float, sd: float) -> list[int]:
        above = [1.0 - _N.cdf((c - mean) / sd) for c in cuts]
        edges = [1.0, *above, 0.0]
        return [round(n * (edges[i] - edges[i + 1])) for i in range(5)]

    def ratings(cs: list[int]) -> list[int]:
        return [r + 1 for r, c in enumerate(cs) for _ in range(c)]

    return ratings(counts(d, sigma)), ratings(counts(0.0, 1.0))


@pytest.mark.parametrize(("d", "sigma"), [(1.5, 1.0), (0.8, 1.0), (2.0, 1.25)])
def test_d_a_recovers_the_binormal_separation(d: float, sigma: float) -> None:
    signal, noise = _binormal_ratings(d, sigma, 200_000)
    roc = rating_roc(signal, noise)
    slope = 1.0 / sigma  # z(H) = d/sigma + z(F)/sigma
    expected = (d / sigma) * math.sqrt(2.0 / (1.0 + slope**2))
    assert roc.slope == pytest.approx(slope, abs=0.01)
    assert roc.d_a == pytest.approx(expected, abs=0.01)
    # The binormal area Phi(d_a / sqrt 2) and the empirical one agree in shape (the
    # empirical area under 4 points is a little lower than the smooth curve's).
    smooth = _N.cdf(expected / math.sqrt(2.0))
    assert smooth - 0.03 < roc.area <= smooth


def test_area_is_the_probability_a_signal_trial_is_rated_higher() -> None:
    rng = np.random.default_rng(7)
    signal = rng.integers(-4, 5, 40).tolist()
    noise = rng.integers(-4, 3, 30).tolist()
    roc = rating_roc(signal, noise)
    brute = np.mean([(s > n) + 0.5 * (s == n) for s in signal for n in noise])
    assert roc.area == pytest.approx(brute)
    labels = [1] * len(signal) + [0] * len(noise)
    assert roc.area == pytest.approx(auroc(labels, signal + noise))  # the same from scores
    assert roc.hit_rates == sorted(roc.hit_rates) and roc.fa_rates == sorted(roc.fa_rates)


def test_one_criterion_gives_no_d_a_and_empty_sides_are_refused() -> None:
    roc = rating_roc([1, 1], [0, 0])
    assert roc.criteria == [1] and roc.area == 1.0 and math.isnan(roc.d_a)
    with pytest.raises(SpecError, match="signal and noise"):
        rating_roc([], [1])
