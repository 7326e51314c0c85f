from __future__ import annotations

import math

import numpy as np
import pytest

from scanlab.errors import SpecError
from scanlab.evaluate import (
    a_prime,
    d_prime,
    d_prime_ci,
    rate_ci,
    rates_with_correction,
    reliability_note,
)

Z80 = 0.8416212335729143  # z(0.8), from tables


def test_d_prime_hand_values():
    assert d_prime(0.8, 0.2) == pytest.approx(1.6832, abs=1e-4)
    assert d_prime(0.8, 0.2) == pytest.approx(2 * Z80, rel=1e-12)
    assert d_prime(0.5, 0.5) == 0.0
    assert d_prime(0.6, 0.3) == pytest.approx(0.2533471 + 0.5244005, abs=1e-6)
    assert d_prime(0.2, 0.8) == pytest.approx(-2 * Z80)


@pytest.mark.parametrize(
    ("rates", "field"),
    [
        ((1.0, 0.2), "hit_rate"),
        ((0.8, 0.0), "fa_rate"),
        ((1.2, 0.2), "hit_rate"),
        ((0.5, -0.1), "fa_rate"),
    ],
)
def test_d_prime_refuses_extreme_rates(rates, field):
    with pytest.raises(SpecError, match=rf"^{field}\b"):
        d_prime(*rates)


def test_a_prime_hand_values_both_branches():
    assert a_prime(0.8, 0.2) == pytest.approx(0.875)  # 0.5 + 0.6*1.6 / (4*0.8*0.8)
    assert a_prime(0.9, 0.6) == pytest.approx(0.5 + 0.3 * 1.3 / (4 * 0.9 * 0.4))
    assert a_prime(0.6, 0.9) == pytest.approx(0.5 - 0.3 * 1.3 / (4 * 0.9 * 0.4))
    assert a_prime(0.2, 0.8) == pytest.approx(0.125)
    assert (a_prime(1, 0), a_prime(0, 1), a_prime(0, 0), a_prime(1, 1)) == (1.0, 0.0, 0.5, 0.5)


def test_a_prime_is_antisymmetric_about_one_half():
    rng = np.random.default_rng(0)
    for h, f in rng.uniform(0.01, 0.99, size=(50, 2)):
        assert a_prime(h, f) + a_prime(f, h) == pytest.approx(1.0)
        assert (a_prime(h, f) > 0.5) == (h > f)


def test_loglinear_correction_at_rates_zero_and_one():
    h, f = rates_with_correction(10, 10, 0, 10)
    assert (h, f) == (10.5 / 11, 0.5 / 11)
    assert d_prime(h, f) == pytest.approx(2 * 1.6906216, abs=1e-6)  # z(21/22) = 1.6906
    # Hautus (1995): applied to every rate, not only extreme ones.
    assert rates_with_correction(8, 10, 3, 20) == (8.5 / 11, 3.5 / 21)


def test_half_trial_and_no_correction():
    assert rates_with_correction(10, 10, 0, 10, correction="1/2n") == (0.95, 0.05)
    assert rates_with_correction(8, 10, 3, 20, correction="1/2n") == (0.8, 0.15)
    assert rates_with_correction(10, 10, 0, 10, correction="none") == (1.0, 0.0)


@pytest.mark.parametrize(
    ("args", "kwargs", "field"),
    [
        ((11, 10, 0, 10), {}, "hits"),
        ((1, 10, 11, 10), {}, "false_alarms"),
        ((0, 0, 0, 10), {}, "n_signal"),
        ((0, 10, 0, 0), {}, "n_noise"),
        ((-1, 10, 0, 10), {}, "hits"),
        ((1.5, 10, 0, 10), {}, "hits"),
        ((1, 10, 0, 10), {"correction": "probit"}, "correction"),
    ],
)
def test_correction_rejects_bad_counts(args, kwargs, field):
    # The message names the field as the caller knows it (a whole word).
    with pytest.raises(SpecError, match=rf"\b{field}\b"):
        rates_with_correction(*args, **kwargs)


def test_d_prime_ci_gourevitch_galanter_variance():
    phi = math.exp(-(Z80**2) / 2) / math.sqrt(2 * math.pi)
    se = math.sqrt(2 * 0.8 * 0.2 / (50 * phi**2))
    ci = d_prime_ci(0.8, 0.2, 50, 50)
    assert ci.estimate == pytest.approx(2 * Z80)
    assert ci.se == pytest.approx(se)
    assert ci.se == pytest.approx(0.2858, abs=1e-4)
    assert (ci.low, ci.high) == pytest.approx((2 * Z80 - 1.959964 * se, 2 * Z80 + 1.959964 * se))
    # Four times the trials halve the standard error.
    assert d_prime_ci(0.8, 0.2, 200, 200).se == pytest.approx(se / 2)
    wide = d_prime_ci(0.8, 0.2, 50, 50, level=0.99)
    assert wide.high - wide.low > ci.high - ci.low


def test_rate_ci_wilson_interval():
    ci = rate_ci(40, 50)
    assert ci.estimate == 0.8
    assert ci.se == pytest.approx(math.sqrt(0.8 * 0.2 / 50))
    assert (ci.low, ci.high) == pytest.approx((0.669629, 0.887562), abs=1e-6)  # by hand
    zero, full = rate_ci(0, 20), rate_ci(20, 20)
    assert zero.low == 0.0 and 0.1 < zero.high < 0.2
    assert full.high == 1.0 and 0.8 < full.low < 0.9
    with pytest.raises(SpecError, match="n_trials"):
        rate_ci(1, 0)
    with pytest.raises(SpecError, match="level"):
        rate_ci(1, 2, level=1.0)


def test_reliability_note():
    assert "enough for a reliable score" in reliability_note(100)
    assert "indicative" in reliability_note(60)
    assert "far too few" in reliability_note(10)
    assert "± 1.25" in reliability_note(20)  # 10 + 10 trials
    with pytest.raises(SpecError, match="n_trials"):
        reliability_note(0)


def _half_width_by_hand(n_signal, n_noise):
    """95 % half-width of d' at H = 0.8, F = 0.2 (Gourevitch-Galanter), from tables."""
    phi = math.exp(-(Z80**2) / 2) / math.sqrt(2 * math.pi)
    var = 0.8 * 0.2 / (n_signal * phi**2) + 0.2 * 0.8 / (n_noise * phi**2)
    return 1.959964 * math.sqrt(var)


def test_reliability_note_at_its_boundaries():
    # 2 trials (one of each kind) is the least there is; 30 and 100 start the next bands.
    assert reliability_note(2).startswith("2 trials: far too few")
    assert f"± {_half_width_by_hand(1, 1):.2f}." in reliability_note(2)
    assert reliability_note(29).startswith("29 trials: far too few")
    assert reliability_note(30).startswith("30 trials: fewer than the ~100")
    assert reliability_note(99).startswith("99 trials: fewer than the ~100")
    assert reliability_note(100).startswith("100 trials: enough")
    # An odd count splits 15 + 16.
    assert reliability_note(31).endswith(f"± {_half_width_by_hand(15, 16):.2f}.")
    with pytest.raises(
        SpecError, match=r"^n_trials must be at least 2 \(one signal, one noise\), got 1$"
    ):
        reliability_note(1)
    with pytest.raises(SpecError, match=r"^n_trials must be a non-negative integer, got 2\.5$"):
        reliability_note(2.5)


def test_rate_ci_of_one_trial_and_the_messages_of_bad_counts():
    # One trial, one success: Wilson's interval is [1 / (1 + z^2), 1] (by hand, z = 1.959964).
    ci = rate_ci(1, 1)
    assert (ci.estimate, ci.se, ci.high) == (1.0, 0.0, 1.0)
    assert ci.low == pytest.approx(1 / (1 + 1.959964**2), abs=1e-6)
    # At a rate of 1 the upper bound is 1 exactly (unclamped, rounding gives 1 + 2e-16 at n = 9).
    assert rate_ci(9, 9).high == 1.0
    with pytest.raises(SpecError, match=r"^successes must be a non-negative integer, got -1$"):
        rate_ci(-1, 5)
    with pytest.raises(SpecError, match=r"^n_trials must be a non-negative integer, got 2\.5$"):
        rate_ci(1, 2.5)
    with pytest.raises(SpecError, match=r"^n_trials must be at least 1$"):
        rate_ci(0, 0)
    with pytest.raises(SpecError, match=r"^successes \(6\) cannot exceed n_trials \(5\)$"):
        rate_ci(6, 5)
    with pytest.raises(SpecError, match=r"^n_noise must be a non-negative integer, got -2$"):
        rates_with_correction(1, 10, 0, -2)


def test_rates_outside_their_range_are_refused_with_the_field_and_the_remedy():
    with pytest.raises(SpecError, match=r"^hit_rate must be a number, got 'high'$"):
        d_prime("high", 0.2)
    with pytest.raises(SpecError, match=r"; correct extreme rates with rates_with_correction$"):
        d_prime(0.8, 0.0)
    # A' takes rates of 0 and 1 (a perfect screener), nothing outside [0, 1].
    assert a_prime(1.0, 0.0) == 1.0
    with pytest.raises(SpecError, match=r"^hit_rate must be in \[0, 1\], got 1\.5$"):
        a_prime(1.5, 0.2)
    with pytest.raises(SpecError, match=r"^fa_rate must be in \[0, 1\], got -0\.1$"):
        a_prime(0.5, -0.1)
    with pytest.raises(SpecError, match=r"^fa_rate must be a number, got None$"):
        a_prime(0.5, None)
    # d' intervals need rates strictly inside (0, 1) too.
    with pytest.raises(SpecError, match=r"^hit_rate must be strictly between 0 and 1, got 1\.0"):
        d_prime_ci(1.0, 0.2, 10, 10)
    with pytest.raises(SpecError, match=r"^fa_rate must be strictly between 0 and 1, got 0\.0"):
        d_prime_ci(0.8, 0.0, 10, 10)
    with pytest.raises(SpecError, match=r"^level must be in \(0, 1\), got 0\.0$"):
        rate_ci(1, 2, level=0.0)


def test_d_prime_ci_of_one_trial_each_and_its_refused_counts():
    # One signal and one noise trial: the Gourevitch-Galanter variance by hand.
    phi = math.exp(-(Z80**2) / 2) / math.sqrt(2 * math.pi)
    assert d_prime_ci(0.8, 0.2, 1, 1).se == pytest.approx(math.sqrt(2 * 0.16 / phi**2))
    for counts in [(0, 10), (10, 0), (0, 0)]:
        with pytest.raises(SpecError, match=r"^n_signal and n_noise must be at least 1$"):
            d_prime_ci(0.8, 0.2, *counts)
    with pytest.raises(SpecError, match=r"^n_signal must be a non-negative integer, got -1$"):
        d_prime_ci(0.8, 0.2, -1, 5)
    with pytest.raises(SpecError, match=r"^n_noise must be a non-negative integer, got 1\.5$"):
        d_prime_ci(0.8, 0.2, 5, 1.5)
    with pytest.raises(SpecError, match=r"^successes must be a non-negative integer, got 'many'$"):
        rate_ci("many", 5)
