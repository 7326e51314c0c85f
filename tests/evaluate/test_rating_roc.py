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


def _newcombe_bounds(area: float, m: int, n: int) -> tuple[float, float]:
    """Newcombe's method 5 as the roots in [0, 1] of its quartic, found by numpy (not by
    the bisection under test): (A - t)^2 (2 - t)(1 + t) m n = z^2 t (1 - t) ((2N - 1)(2 - t)
    (1 + t) - (3N - 3)) with N = (m + n) / 2."""
    z2 = _N.inv_cdf(0.975) ** 2
    big_n = (m + n) / 2
    t = np.polynomial.Polynomial([0.0, 1.0])
    g = (2 - t) * (1 + t)
    poly = (area - t) ** 2 * g * m * n - z2 * t * (1 - t) * ((2 * big_n - 1) * g - (3 * big_n - 3))
    roots = [r.real for r in poly.roots() if abs(r.imag) < 1e-9 and -1e-9 <= r.real <= 1 + 1e-9]
    below = [r for r in roots if r <= area + 1e-12]
    above = [r for r in roots if r >= area - 1e-12]
    return max(below), min(above)


# (0.92, 1, 100): so few signal trials that beyond 1 the variance turns positive again and a
# bisection searching past 1 finds another root (a mutant of the search interval).
@pytest.mark.parametrize(
    ("area", "m", "n"), [(0.8, 20, 20), (0.65, 12, 30), (0.93, 8, 5), (0.92, 1, 100)]
)
def test_area_interval_is_newcombes_method_5(area: float, m: int, n: int) -> None:
    from scanlab.evaluate import area_ci

    ci = area_ci(area, m, n)
    low, high = _newcombe_bounds(area, m, n)
    assert (ci.low, ci.high) == pytest.approx((low, high), abs=1e-9)
    # Hanley & McNeil's standard error, with Q1 = A / (2 - A), Q2 = 2 A^2 / (1 + A) and
    # both sample sizes set to their mean, by hand.
    big_n = (m + n) / 2
    q1, q2 = area / (2 - area), 2 * area**2 / (1 + area)
    var = (area * (1 - area) + (big_n - 1) * (q1 - area**2 + q2 - area**2)) / (m * n)
    assert ci.se == pytest.approx(math.sqrt(var))


def test_a_perfect_rater_gets_an_interval_not_a_point() -> None:
    roc = rating_roc([4, 4, 3, 2, 3], [-4, -3, -1, -2])
    assert roc.area == 1.0 and roc.area_high == 1.0 and 0.5 < roc.area_low < 1.0
    # d' from the corrected area (20 pairs right + 0.5) / 21: finite, as for hits and FAs.
    assert roc.d_prime == pytest.approx(math.sqrt(2) * _N.inv_cdf(20.5 / 21))
    assert roc.d_prime_low < roc.d_prime < roc.d_prime_high < math.inf
    inverted = rating_roc([-4, -3, -1, -2], [4, 4, 3, 2, 3])
    assert inverted.area == 0.0 and inverted.area_low == 0.0
    assert inverted.d_prime == pytest.approx(-roc.d_prime)
    constant = rating_roc([1, 1, 1], [1, 1])
    assert constant.area == 0.5 and constant.d_prime == pytest.approx(0.0, abs=1e-12)


def test_area_interval_covers_the_true_area_about_95_percent() -> None:
    """Simulated screeners (binormal, d' = 1.2, ratings -4..4 at fixed criteria, 25 signal
    and 25 noise trials): the interval holds the true area Phi(1.2 / sqrt 2) in about 95 %
    of sessions, and so does the d' interval hold d' = 1.2."""
    rng = np.random.default_rng(20)
    cuts = np.array([-1.5, -0.9, -0.4, 0.0, 0.4, 0.9, 1.5, 2.0])
    true_d = 1.2
    true_area = _N.cdf(true_d / math.sqrt(2))
    area_in = d_in = 0
    sessions = 400
    for _ in range(sessions):
        sig = np.searchsorted(cuts, rng.normal(true_d, 1.0, 25))
        noi = np.searchsorted(cuts, rng.normal(0.0, 1.0, 25))
        to_rating = np.array([-4, -3, -2, -1, 1, 2, 3, 4, 4])  # 9 bins, 0 is no rating
        roc = rating_roc(to_rating[sig].tolist(), to_rating[noi].tolist())
        area_in += roc.area_low <= true_area <= roc.area_high
        d_in += roc.d_prime_low <= true_d <= roc.d_prime_high
    assert 0.91 <= area_in / sessions <= 0.99
    assert 0.89 <= d_in / sessions <= 0.99


def test_d_a_of_two_points_and_few_trials_by_hand() -> None:
    # Ratings 1-3 give two criteria. At >= 3: hits 2/5, false alarms 1/5; at >= 2: 4/5 and 2/5.
    # Log-linear rates (k + 0.5) / (n + 1); the line through the two points in z coordinates.
    roc = rating_roc([3, 3, 2, 2, 1], [3, 2, 1, 1, 1])
    assert (roc.criteria, roc.hit_rates, roc.fa_rates) == ([3, 2], [0.4, 0.8], [0.2, 0.4])
    z = _N.inv_cdf
    (h1, f1), (h2, f2) = (z(2.5 / 6), z(1.5 / 6)), (z(4.5 / 6), z(2.5 / 6))
    slope = (h2 - h1) / (f2 - f1)
    intercept = h1 - slope * f1
    assert roc.slope == pytest.approx(slope, rel=1e-12)
    assert roc.d_a == pytest.approx(intercept * math.sqrt(2 / (1 + slope**2)), rel=1e-12)
    # Unequal numbers of signal and noise trials (7 and 3), four points: a least-squares line.
    sig, noi = [4, 4, 3, 3, 2, 1, 1], [3, 2, 1]
    roc = rating_roc(sig, noi)
    zh = [z((sum(r >= c for r in sig) + 0.5) / 8) for c in (4, 3, 2)]
    zf = [z((sum(r >= c for r in noi) + 0.5) / 4) for c in (4, 3, 2)]
    b, a = np.polyfit(zf, zh, 1)
    assert roc.slope == pytest.approx(b, rel=1e-9)
    assert roc.d_a == pytest.approx(a * math.sqrt(2 / (1 + b**2)), rel=1e-9)


def test_points_on_one_false_alarm_rate_give_no_line() -> None:
    # Every noise trial rated lowest: both points have F = 0, so no slope can be fitted.
    roc = rating_roc([3, 2, 1, 3], [1, 1, 1])
    assert roc.fa_rates == [0.0, 0.0]
    assert math.isnan(roc.d_a) and math.isnan(roc.slope)
    assert roc.area == pytest.approx((2 * 1.0 + 1 * 1.0 + 1 * 0.5) / 4)  # 3 of 4 above, 1 tied


def test_area_interval_of_one_trial_each_and_its_refusals() -> None:
    from scanlab.evaluate import area_ci

    # One pair: the interval is still Newcombe's (the roots of his quartic), not a refusal.
    low, high = _newcombe_bounds(0.5, 1, 1)
    assert (area_ci(0.5, 1, 1).low, area_ci(0.5, 1, 1).high) == pytest.approx((low, high), abs=1e-9)
    for counts in [(0, 5), (5, 0)]:
        with pytest.raises(SpecError, match=r"^n_signal and n_noise must be at least 1$"):
            area_ci(0.5, *counts)
    with pytest.raises(SpecError, match=r"^area must be in \[0, 1\], got 1\.5$"):
        area_ci(1.5, 5, 5)
    with pytest.raises(SpecError, match=r"^n_signal must be a non-negative integer, got -1$"):
        area_ci(0.5, -1, 5)
    with pytest.raises(SpecError, match=r"^n_noise must be a non-negative integer, got 1\.5$"):
        area_ci(0.5, 5, 1.5)
