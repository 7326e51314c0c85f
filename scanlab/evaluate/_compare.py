"""Paired comparison of detectors on the same scans: DeLong's test and a paired bootstrap of
the AUROC difference, and McNemar's test on detections at a chosen false-alarm rate."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist
from typing import Any

import numpy as np

from scanlab.errors import SpecError
from scanlab.evaluate._interval import ConfidenceInterval
from scanlab.evaluate._metrics import _check_binary, auroc, bootstrap_ci
from scanlab.i18n import N_

__all__ = [
    "DelongResult",
    "McNemarResult",
    "compare_detectors",
    "delong_test",
    "mcnemar_test",
    "paired_auroc_bootstrap",
    "threshold_at_fpr",
]

_NORMAL = NormalDist()


@dataclass(frozen=True)
class DelongResult:
    """DeLong's test of two correlated AUROCs (same scans, two detectors).

    Attributes
    ----------
    auroc_a, auroc_b : float
    difference : float
        ``auroc_a - auroc_b``.
    se : float
        Standard error of the difference from the structural components.
    z, p_value : float
        ``difference / se`` and its two-sided normal p-value (NaN when ``se`` is 0).
    ci : ConfidenceInterval
        Normal interval of the difference, ``difference -/+ z_(1+level)/2 se``.
    """

    auroc_a: float
    auroc_b: float
    difference: float
    se: float
    z: float
    p_value: float
    ci: ConfidenceInterval


def _structural_components(y: np.ndarray, s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """DeLong's V10 (one per positive) and V01 (one per negative) of one detector.

    ``V10(X_i) = mean_j psi(X_i, Y_j)`` and ``V01(Y_j) = mean_i psi(X_i, Y_j)``, with
    ``psi = 1, 1/2, 0`` as the positive scores above, equal to, below the negative. They come
    from midranks (Sun & Xu 2014) rather than the m x n comparisons: the midrank of a
    positive among all scores minus its midrank among the positives counts the negatives
    below it (ties one half).
    """
    from scipy.stats import rankdata

    pos, neg = s[y], s[~y]
    m, n = pos.size, neg.size
    all_ranks = rankdata(np.concatenate([pos, neg]))
    v10 = (all_ranks[:m] - rankdata(pos)) / n
    v01 = 1.0 - (all_ranks[m:] - rankdata(neg)) / m
    return v10, v01


def delong_test(y_true: Any, scores_a: Any, scores_b: Any, *, level: float = 0.95) -> DelongResult:
    """Compare the AUROCs of two detectors scored on the same samples (DeLong et al. 1988).

    Each AUROC is the mean of its structural components (see
    :func:`_structural_components`); their covariance across the two detectors,
    ``S = S10 / m + S01 / n`` (S10 over the m positives, S01 over the n negatives, each with
    divisor m - 1 or n - 1), gives ``var(A - B) = S_aa + S_bb - 2 S_ab``, which accounts for
    the two detectors having seen the same scans.

    Examples
    --------
    >>> y = [1, 1, 1, 0, 0, 0]
    >>> r = delong_test(y, [0.9, 0.8, 0.3, 0.5, 0.2, 0.1], [0.7, 0.4, 0.6, 0.5, 0.3, 0.8])
    >>> round(r.auroc_a, 4), round(r.auroc_b, 4), round(r.difference, 4)
    (0.8889, 0.5556, 0.3333)
    """
    y, a = _check_binary(y_true, scores_a, "delong_test")
    _, b = _check_binary(y_true, scores_b, "delong_test")
    if min(int(y.sum()), int((~y).sum())) < 2:
        raise SpecError("delong_test: needs at least two positives and two negatives")
    comps = [_structural_components(y, s) for s in (a, b)]
    v10 = np.stack([c[0] for c in comps])  # (2, m)
    v01 = np.stack([c[1] for c in comps])  # (2, n)
    m, n = v10.shape[1], v01.shape[1]
    aucs = v10.mean(axis=1)
    cov = np.cov(v10) / m + np.cov(v01) / n
    var = float(cov[0, 0] + cov[1, 1] - 2.0 * cov[0, 1])
    diff = float(aucs[0] - aucs[1])
    se = math.sqrt(max(var, 0.0))
    if se > 0:
        z = diff / se
        p = 2.0 * (1.0 - _NORMAL.cdf(abs(z)))
    else:
        z = p = math.nan
    half = _NORMAL.inv_cdf(0.5 + level / 2.0) * se
    return DelongResult(
        float(aucs[0]),
        float(aucs[1]),
        diff,
        se,
        z,
        p,
        ConfidenceInterval(diff, diff - half, diff + half, se),
    )


def paired_auroc_bootstrap(
    y_true: Any, scores_a: Any, scores_b: Any, *, n: int = 1000, seed: int = 0, level: float = 0.95
) -> ConfidenceInterval:
    """Percentile interval of ``AUROC(a) - AUROC(b)`` resampling scans, both detectors alike.

    Examples
    --------
    >>> y = [1, 1, 1, 0, 0, 0, 1, 0]
    >>> ci = paired_auroc_bootstrap(y, [8, 7, 3, 5, 2, 1, 6, 4], [8, 7, 3, 5, 2, 1, 6, 4], n=50)
    >>> ci.low, ci.estimate, ci.high
    (0.0, 0.0, 0.0)
    """
    y = np.asarray(y_true)
    a, b = np.asarray(scores_a, dtype=np.float64), np.asarray(scores_b, dtype=np.float64)
    return bootstrap_ci(
        lambda yy, aa, bb: auroc(yy, aa) - auroc(yy, bb), y, a, b, n=n, seed=seed, level=level
    )


def threshold_at_fpr(y_true: Any, scores: Any, *, fpr: float) -> float:
    """The threshold of :func:`~scanlab.evaluate.detection_rate_at_fpr`: a sample is called
    positive when its score is strictly above it; ``-inf`` when ``fpr`` lets every
    negative through.

    Examples
    --------
    >>> threshold_at_fpr([0] * 10 + [1], list(range(10)) + [5], fpr=0.1)
    8.0
    """
    y, s = _check_binary(y_true, scores, "threshold_at_fpr")
    if not 0.0 <= fpr <= 1.0:
        raise SpecError(f"threshold_at_fpr: fpr must be in [0, 1], got {fpr!r}")
    negatives = np.sort(s[~y])[::-1]
    k = math.floor(round(fpr * negatives.size, 9))
    return -math.inf if k >= negatives.size else float(negatives[k])


@dataclass(frozen=True)
class McNemarResult:
    """McNemar's test on paired detections of the positives.

    Attributes
    ----------
    only_a, only_b : int
        Positives detected by one detector and missed by the other (the discordant pairs).
    both, neither : int
    p_value : float
        Exact two-sided binomial p-value of ``only_a`` among ``only_a + only_b`` at 1/2
        (1.0 without discordant pairs).
    chi2 : float
        The continuity-corrected statistic ``(|b - c| - 1)^2 / (b + c)``, for reference.
    """

    only_a: int
    only_b: int
    both: int
    neither: int
    p_value: float
    chi2: float


def mcnemar_test(detected_a: Any, detected_b: Any) -> McNemarResult:
    """McNemar's test of two detectors' detections of the same positives.

    Examples
    --------
    >>> r = mcnemar_test([1] * 10 + [0] * 2 + [1] * 5, [0] * 10 + [1] * 2 + [1] * 5)
    >>> r.only_a, r.only_b, round(r.p_value, 5)
    (10, 2, 0.03857)
    """
    a = np.asarray(detected_a).astype(bool)
    b = np.asarray(detected_b).astype(bool)
    if a.ndim != 1 or a.shape != b.shape:
        raise SpecError("mcnemar_test: give two 1-D detection arrays of the same length")
    only_a, only_b = int(np.sum(a & ~b)), int(np.sum(~a & b))
    n = only_a + only_b
    if n == 0:
        p, chi2 = 1.0, 0.0
    else:
        k = min(only_a, only_b)
        tail = sum(math.comb(n, i) for i in range(k + 1)) / 2.0**n
        p = min(1.0, 2.0 * tail)
        chi2 = (abs(only_a - only_b) - 1.0) ** 2 / n if only_a != only_b else 0.0
    return McNemarResult(only_a, only_b, int(np.sum(a & b)), int(np.sum(~a & ~b)), p, chi2)


def compare_detectors(
    per_scan: dict[str, list[dict[str, Any]]],
    *,
    fprs: Sequence[float] = (0.01, 0.05),
    n_bootstrap: int = 1000,
) -> list[dict[str, Any]]:
    """Every pair of detectors of a batch run compared on the scans both evaluated.

    For each pair (a, b): the AUROC difference ``a - b`` with its paired bootstrap interval
    and DeLong's test, and at each false-alarm rate McNemar's test on the concealed scans,
    each detector thresholded on its own clean scores as in
    :func:`~scanlab.evaluate.detection_rate_at_fpr`.
    """
    names = list(per_scan)
    scores = {
        n: {r["scan_id"]: r for r in rows if "error" not in r} for n, rows in per_scan.items()
    }
    out = []
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            ids = sorted(scores[a].keys() & scores[b].keys())
            y = np.array([not scores[a][k]["clean"] for k in ids], dtype=bool)
            sa = np.array([scores[a][k]["score"] for k in ids], dtype=np.float64)
            sb = np.array([scores[b][k]["score"] for k in ids], dtype=np.float64)
            entry: dict[str, Any] = {
                "a": a,
                "b": b,
                "n_scans": len(ids),
                "n_concealed": int(y.sum()),
                "n_clean": int((~y).sum()),
            }
            if min(entry["n_concealed"], entry["n_clean"]) < 2:
                # English in the data; the report translates it
                entry["note"] = N_("fewer than two concealed or two clean scans in common")
                out.append(entry)
                continue
            d = delong_test(y, sa, sb)
            entry["auroc_a"], entry["auroc_b"] = d.auroc_a, d.auroc_b
            entry["auroc_difference"] = d.difference
            entry["delong"] = {
                "se": d.se,
                "z": d.z,
                "p_value": d.p_value,
                "low": d.ci.low,
                "high": d.ci.high,
            }
            try:
                ci = paired_auroc_bootstrap(y, sa, sb, n=n_bootstrap, seed=0)
                entry["bootstrap"] = {"low": ci.low, "high": ci.high, "se": ci.se}
            except SpecError:
                entry["bootstrap"] = {"low": math.nan, "high": math.nan, "se": math.nan}
            entry["mcnemar"] = {}
            for fpr in fprs:
                ta = threshold_at_fpr(y, sa, fpr=fpr)
                tb = threshold_at_fpr(y, sb, fpr=fpr)
                m = mcnemar_test(sa[y] > ta, sb[y] > tb)
                entry["mcnemar"][f"{fpr:g}"] = {
                    "only_a": m.only_a,
                    "only_b": m.only_b,
                    "both": m.both,
                    "neither": m.neither,
                    "p_value": m.p_value,
                }
            out.append(entry)
    return out
