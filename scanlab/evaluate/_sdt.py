"""Signal-detection scores of a screener (d', A'), rate corrections and their reliability.

A *trial* is one scan judged "threat" or "clear": signal trials hold a threat, noise trials
are clean. Hit rate = hits / signal trials; false-alarm rate = false alarms / noise trials.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist

from scanlab.errors import SpecError
from scanlab.evaluate._interval import ConfidenceInterval
from scanlab.i18n import _

__all__ = [
    "RATE_CORRECTIONS",
    "RELIABLE_N_TRIALS",
    "RatingRoc",
    "a_prime",
    "area_ci",
    "d_prime",
    "d_prime_ci",
    "rate_ci",
    "rates_with_correction",
    "rating_roc",
    "reliability_note",
]

#: Accepted values of ``rates_with_correction(..., correction=)``.
RATE_CORRECTIONS = ("loglinear", "1/2n", "none")
#: Trials (signal + noise) screener research asks for before a score is called reliable.
RELIABLE_N_TRIALS = 100

_NORMAL = NormalDist()


def d_prime(hit_rate: float, fa_rate: float) -> float:
    """Sensitivity d' = z(H) - z(F), with z the inverse of the standard normal CDF.

    Parameters
    ----------
    hit_rate, fa_rate : float
        Strictly between 0 and 1; correct raw rates of 0 or 1 first with
        :func:`rates_with_correction` (d' would be infinite).

    Examples
    --------
    >>> round(d_prime(0.8, 0.2), 4)
    1.6832
    """
    h = _check_rate(hit_rate, "hit_rate", open_interval=True)
    f = _check_rate(fa_rate, "fa_rate", open_interval=True)
    return _NORMAL.inv_cdf(h) - _NORMAL.inv_cdf(f)


def a_prime(hit_rate: float, fa_rate: float) -> float:
    """Non-parametric sensitivity A' (Pollack & Norman 1964, formula of Grier 1971).

    For H >= F: ``A' = 1/2 + (H - F)(1 + H - F) / (4 H (1 - F))``;
    for H < F (below chance): ``A' = 1/2 - (F - H)(1 + F - H) / (4 F (1 - H))``,
    so that A' runs from 0 to 1 with 0.5 at chance. H = F gives 0.5 (including 0 and 1).

    Examples
    --------
    >>> a_prime(0.8, 0.2)
    0.875
    >>> a_prime(0.2, 0.8)
    0.125
    """
    h = _check_rate(hit_rate, "hit_rate", open_interval=False)
    f = _check_rate(fa_rate, "fa_rate", open_interval=False)
    if h == f:
        return 0.5
    if h > f:
        return 0.5 + (h - f) * (1.0 + h - f) / (4.0 * h * (1.0 - f))
    return 0.5 - (f - h) * (1.0 + f - h) / (4.0 * f * (1.0 - h))


def rates_with_correction(
    hits: int,
    n_signal: int,
    false_alarms: int,
    n_noise: int,
    *,
    correction: str = "loglinear",
) -> tuple[float, float]:
    """Hit and false-alarm rates from counts, corrected so that d' stays finite.

    Parameters
    ----------
    hits, n_signal : int
        Signal trials answered "threat", and the number of signal trials (> 0).
    false_alarms, n_noise : int
        Noise trials answered "threat", and the number of noise trials (> 0).
    correction : {"loglinear", "1/2n", "none"}
        ``"loglinear"`` (Hautus 1995): ``(count + 0.5) / (trials + 1)``, applied to *every*
        rate, extreme or not, which keeps d' nearly unbiased. ``"1/2n"`` (Macmillan &
        Kaplan 1985): only a rate of 0 becomes ``0.5 / trials`` and a rate of 1 becomes
        ``1 - 0.5 / trials``. ``"none"``: raw rates.

    Returns
    -------
    (hit_rate, fa_rate) : tuple of float

    Examples
    --------
    >>> rates_with_correction(20, 20, 0, 20)
    (0.9761904761904762, 0.023809523809523808)
    >>> rates_with_correction(20, 20, 0, 20, correction="1/2n")
    (0.975, 0.025)
    """
    if correction not in RATE_CORRECTIONS:
        raise SpecError(f"correction must be one of {RATE_CORRECTIONS}, got {correction!r}")
    return (
        _corrected_rate(hits, n_signal, "hits", "n_signal", correction),
        _corrected_rate(false_alarms, n_noise, "false_alarms", "n_noise", correction),
    )


def _corrected_rate(count: int, n: int, count_name: str, n_name: str, correction: str) -> float:
    count, n = _check_count(count, count_name), _check_count(n, n_name)
    if n == 0:
        raise SpecError(f"{n_name} must be at least 1")
    if count > n:
        raise SpecError(f"{count_name} ({count}) cannot exceed {n_name} ({n})")
    if correction == "loglinear":
        return (count + 0.5) / (n + 1)
    if correction == "1/2n" and count == 0:
        return 0.5 / n
    if correction == "1/2n" and count == n:
        return 1.0 - 0.5 / n
    return count / n


def rate_ci(successes: int, n_trials: int, *, level: float = 0.95) -> ConfidenceInterval:
    """Standard error and Wilson score interval of a rate (hit rate or false-alarm rate).

    ``se = sqrt(p (1 - p) / n)`` with ``p = successes / n``. The interval is Wilson's
    rather than ``p ± z se``, which collapses to a point at rates of 0 and 1, exactly where
    trainees often are.

    Examples
    --------
    >>> ci = rate_ci(40, 50)
    >>> round(ci.estimate, 3), round(ci.se, 4), round(ci.low, 3), round(ci.high, 3)
    (0.8, 0.0566, 0.67, 0.888)
    """
    k, n = _check_count(successes, "successes"), _check_count(n_trials, "n_trials")
    if n == 0:
        raise SpecError("n_trials must be at least 1")
    if k > n:
        raise SpecError(f"successes ({k}) cannot exceed n_trials ({n})")
    z = _z(level)
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    se = math.sqrt(p * (1 - p) / n)
    return ConfidenceInterval(p, max(centre - half, 0.0), min(centre + half, 1.0), se)


def d_prime_ci(
    hit_rate: float, fa_rate: float, n_signal: int, n_noise: int, *, level: float = 0.95
) -> ConfidenceInterval:
    """d' with its standard error and normal-approximation interval.

    Uses the variance of Gourevitch & Galanter (1967),
    ``var(d') = H(1-H) / (N_s phi(z_H)^2) + F(1-F) / (N_n phi(z_F)^2)``, with phi the
    standard normal density. Miller (1996) showed it is accurate once each kind of trial
    numbers a few dozen and rates are away from 0 and 1; below that, read it as a rough
    guide. Pass rates already corrected with :func:`rates_with_correction`.

    Examples
    --------
    >>> ci = d_prime_ci(0.8, 0.2, 50, 50)
    >>> round(ci.estimate, 4), round(ci.se, 4), round(ci.low, 3), round(ci.high, 3)
    (1.6832, 0.2858, 1.123, 2.243)
    """
    h = _check_rate(hit_rate, "hit_rate", open_interval=True)
    f = _check_rate(fa_rate, "fa_rate", open_interval=True)
    ns, nn = _check_count(n_signal, "n_signal"), _check_count(n_noise, "n_noise")
    if ns == 0 or nn == 0:
        raise SpecError("n_signal and n_noise must be at least 1")
    zh, zf = _NORMAL.inv_cdf(h), _NORMAL.inv_cdf(f)
    var = h * (1 - h) / (ns * _NORMAL.pdf(zh) ** 2) + f * (1 - f) / (nn * _NORMAL.pdf(zf) ** 2)
    se = math.sqrt(var)
    d, half = zh - zf, _z(level) * se
    return ConfidenceInterval(d, d - half, d + half, se)


def reliability_note(n_trials: int) -> str:
    """One sentence saying whether ``n_trials`` (signal + noise) give a reliable score.

    Screener research (X-ray competency tests) asks for about
    :data:`RELIABLE_N_TRIALS` = 100 trials. The note quotes the 95 % half-width of d' for a
    typical trainee (H = 0.8, F = 0.2, trials split evenly), from :func:`d_prime_ci`.

    Examples
    --------
    >>> reliability_note(100)
    "100 trials: enough for a reliable score; a d' near 1.7 is known to ± 0.56."
    """
    n = _check_count(n_trials, "n_trials")
    if n < 2:
        raise SpecError(f"n_trials must be at least 2 (one signal, one noise), got {n}")
    half = d_prime_ci(0.8, 0.2, n // 2, n - n // 2).se * _z(0.95)
    tail = _("a d' near 1.7 is known to ± {half:.2f}.").format(half=half)
    if n >= RELIABLE_N_TRIALS:
        return _("{n} trials: enough for a reliable score; {tail}").format(n=n, tail=tail)
    if n >= 30:
        return _(
            "{n} trials: fewer than the ~{reliable} a reliable score needs, treat it as "
            "indicative; {tail}"
        ).format(n=n, reliable=RELIABLE_N_TRIALS, tail=tail)
    return _(
        "{n} trials: far too few for a score (about {reliable} needed), treat it as "
        "anecdotal; {tail}"
    ).format(n=n, reliable=RELIABLE_N_TRIALS, tail=tail)


def _z(level: float) -> float:
    if not 0.0 < level < 1.0:
        raise SpecError(f"level must be in (0, 1), got {level!r}")
    return _NORMAL.inv_cdf(0.5 + level / 2.0)


def _check_rate(value: float, name: str, *, open_interval: bool) -> float:
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise SpecError(f"{name} must be a number, got {value!r}") from None
    if open_interval and not 0.0 < x < 1.0:
        raise SpecError(
            f"{name} must be strictly between 0 and 1, got {value!r}; "
            "correct extreme rates with rates_with_correction"
        )
    if not 0.0 <= x <= 1.0:
        raise SpecError(f"{name} must be in [0, 1], got {value!r}")
    return x


def _check_count(value: int, name: str) -> int:
    try:
        ok = not isinstance(value, bool) and float(value).is_integer() and value >= 0
    except (TypeError, ValueError, OverflowError):
        ok = False
    if not ok:
        raise SpecError(f"{name} must be a non-negative integer, got {value!r}")
    return int(value)


@dataclass(frozen=True)
class RatingRoc:
    """A screener's ROC from confidence ratings: one operating point per rating criterion.

    Attributes
    ----------
    criteria : list of int
        Each point counts a trial as "threat" when its rating is at least this.
    hit_rates, fa_rates : list of float
        Raw rates at each criterion, strictest first.
    area : float
        Area under the empirical ROC through (0, 0), the points and (1, 1): the probability
        that a signal trial is rated above a noise trial, ties counting half.
    d_a : float
        Sensitivity from the binormal model fitted to the points in z coordinates
        (z(H) = a + b z(F), least squares on log-linear corrected rates):
        ``d_a = a * sqrt(2 / (1 + b**2))``, which is d' when the variances are equal
        (b = 1). NaN with fewer than two usable points.
    slope : float
        b of that fit (NaN when d_a is).
    area_low, area_high : float
        95 % interval of the area (:func:`area_ci`, Newcombe's method 5); it reaches 1 (or
        0) when the area does.
    d_prime, d_prime_low, d_prime_high : float
        The equal-variance d' the area implies, ``sqrt(2) z(A)``, with its 95 % interval
        (the area's, transformed). Like the d' of hits and false alarms it uses a corrected
        area, ``(pairs ranked right + 0.5) / (pairs + 1)``, so a perfect rater stays finite.
    """

    criteria: list[int]
    hit_rates: list[float]
    fa_rates: list[float]
    area: float
    d_a: float
    slope: float
    area_low: float = math.nan
    area_high: float = math.nan
    d_prime: float = math.nan
    d_prime_low: float = math.nan
    d_prime_high: float = math.nan


def rating_roc(signal: Sequence[int], noise: Sequence[int]) -> RatingRoc:
    """ROC, its area and d_a from ratings of signal and noise trials (higher: surer threat).

    Ratings are ordinal, e.g. -4 (sure clear) to 4 (sure threat), so that each rating is
    one criterion a screener could have used: the curve comes from one session, where
    hits and false alarms alone give a single point.

    Examples
    --------
    >>> roc = rating_roc([4, 3, 3, 1], [1, -2, -4, 3])
    >>> roc.criteria, roc.hit_rates, roc.fa_rates
    ([4, 3, 1, -2], [0.25, 0.75, 1.0, 1.0], [0.0, 0.25, 0.5, 0.75])
    >>> round(roc.area, 4)
    0.8438
    """
    sig = [int(r) for r in signal]
    noi = [int(r) for r in noise]
    if not sig or not noi:
        raise SpecError(f"rating_roc needs signal and noise trials, got {len(sig)} and {len(noi)}")
    criteria = sorted(set(sig) | set(noi), reverse=True)[:-1]  # the lowest says all "threat"
    hit_rates = [sum(r >= c for r in sig) / len(sig) for c in criteria]
    fa_rates = [sum(r >= c for r in noi) / len(noi) for c in criteria]
    # Pairs ranked right, ties half, counted per rating level (not per pair of trials).
    levels = sorted(set(sig) | set(noi))
    n_sig = [sig.count(v) for v in levels]
    n_noi = [noi.count(v) for v in levels]
    below = 0  # noise trials rated below the current level
    wins = 0.0
    for k_sig, k_noi in zip(n_sig, n_noi, strict=True):
        wins += k_sig * (below + 0.5 * k_noi)
        below += k_noi
    area = wins / (len(sig) * len(noi))
    zs = [
        (
            _NORMAL.inv_cdf((h * len(sig) + 0.5) / (len(sig) + 1)),
            _NORMAL.inv_cdf((f * len(noi) + 0.5) / (len(noi) + 1)),
        )
        for h, f in zip(hit_rates, fa_rates, strict=True)
    ]
    d_a = slope = math.nan
    if len(zs) >= 2:
        zh = [h for h, _ in zs]
        zf = [f for _, f in zs]
        mean_h, mean_f = sum(zh) / len(zh), sum(zf) / len(zf)
        sxx = sum((f - mean_f) ** 2 for f in zf)
        if sxx > 0:
            slope = sum((f - mean_f) * (h - mean_h) for h, f in zs) / sxx
            intercept = mean_h - slope * mean_f
            d_a = intercept * math.sqrt(2.0 / (1.0 + slope**2))
    n_pairs = len(sig) * len(noi)
    area_int = area_ci(area, len(sig), len(noi))
    corrected = area_ci((wins + 0.5) / (n_pairs + 1), len(sig), len(noi))
    d = [math.sqrt(2.0) * _NORMAL.inv_cdf(a) for a in corrected[:3]]
    return RatingRoc(
        criteria, hit_rates, fa_rates, area, d_a, slope, area_int.low, area_int.high, *d
    )


def area_ci(area: float, n_signal: int, n_noise: int, *, level: float = 0.95) -> ConfidenceInterval:
    """Interval of an ROC area (a Mann-Whitney probability) from ``n_signal`` and
    ``n_noise`` trials: Newcombe's (2006) method 5.

    The variance is Hanley & McNeil's (1982) exponential-model one with both sample sizes
    set to their mean ``N``, ``var(A) = A (1 - A) / (m n) * (2N - 1 - (3N - 3) / ((2 - A)
    (1 + A)))``; as in Wilson's interval for a rate, the bounds are the areas ``t`` with
    ``(A - t)^2 = z^2 var(t)``, so the interval stays in [0, 1] and does not collapse when
    a trainee ranks every pair right (A = 1), where ``A ± z se`` would.

    Examples
    --------
    >>> ci = area_ci(0.8, 20, 20)
    >>> round(ci.low, 3), round(ci.high, 3), round(ci.se, 4)
    (0.626, 0.9, 0.071)
    >>> area_ci(1.0, 10, 10).high
    1.0
    """
    a = _check_rate(area, "area", open_interval=False)
    m, n = _check_count(n_signal, "n_signal"), _check_count(n_noise, "n_noise")
    if m == 0 or n == 0:
        raise SpecError("n_signal and n_noise must be at least 1")
    z2 = _z(level) ** 2
    half_n = (m + n) / 2.0

    def var(t: float) -> float:
        return t * (1 - t) / (m * n) * (2 * half_n - 1 - (3 * half_n - 3) / ((2 - t) * (1 + t)))

    def root(lo: float, hi: float) -> float:
        # f(t) = (a - t)^2 - z^2 var(t) is <= 0 at t = a and >= 0 at t = 0 and 1 (var 0).
        inside_lo = (a - lo) ** 2 - z2 * var(lo) <= 0
        for _step in range(80):
            mid = 0.5 * (lo + hi)
            if ((a - mid) ** 2 - z2 * var(mid) <= 0) == inside_lo:
                lo = mid
            else:
                hi = mid
        return 0.5 * (lo + hi)

    low = 0.0 if a == 0.0 else root(0.0, a)
    high = 1.0 if a == 1.0 else root(a, 1.0)
    return ConfidenceInterval(a, low, high, math.sqrt(max(var(a), 0.0)))
