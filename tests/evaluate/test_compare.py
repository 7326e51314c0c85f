"""Paired detector comparison against brute force and hand-worked values."""

from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np
import pytest

from scanlab.errors import SpecError
from scanlab.evaluate import (
    auroc,
    compare_detectors,
    delong_test,
    detection_rate_at_fpr,
    mcnemar_test,
    paired_auroc_bootstrap,
    threshold_at_fpr,
)


def _delong_brute_force(y, a, b):
    """DeLong 1988 written out: psi over every (positive, negative) pair, then the
    covariance of the structural components, by explicit loops."""
    y = np.asarray(y, bool)
    scores = [np.asarray(a, float), np.asarray(b, float)]

    def psi(x, z):
        return 1.0 if x > z else 0.5 if x == z else 0.0

    v10, v01 = [], []
    for s in scores:
        pos, neg = s[y], s[~y]
        v10.append([sum(psi(x, z) for z in neg) / len(neg) for x in pos])
        v01.append([sum(psi(x, z) for x in pos) / len(pos) for z in neg])
    m, n = len(v10[0]), len(v01[0])
    auc = [sum(v) / m for v in v10]

    def cov(v, k, r, s):
        return sum((v[r][i] - auc[r]) * (v[s][i] - auc[s]) for i in range(k)) / (k - 1)

    s = [[cov(v10, m, r, q) / m + cov(v01, n, r, q) / n for q in range(2)] for r in range(2)]
    var = s[0][0] + s[1][1] - 2 * s[0][1]
    z = (auc[0] - auc[1]) / math.sqrt(var)
    return auc, var, 2 * (1 - NormalDist().cdf(abs(z)))


def test_delong_hand_worked_example():
    # Three positives, three negatives; detector a has AUROC 8/9, b 5/9.
    # V10(a) = (1, 1, 2/3)     deviations (1, 1, -2)/9     V01(a) = (2/3, 1, 1)  dev (-2, 1, 1)/9
    # V10(b) = (2/3, 1/3, 2/3) deviations (1, -2, 1)/9     V01(b) = (2/3, 1, 0)  dev (1, 4, -5)/9
    # S10 (divisor m - 1 = 2): aa 6/162, bb 6/162, ab -3/162
    # S01 (divisor n - 1 = 2): aa 6/162, bb 42/162, ab -3/162
    # var(A - B) = (6 + 6 + 6)/162/3 + (6 + 42 + 6)/162/3 = 1/27 + 3/27 = 4/27.
    y = [1, 1, 1, 0, 0, 0]
    r = delong_test(y, [0.9, 0.8, 0.3, 0.5, 0.2, 0.1], [0.7, 0.4, 0.6, 0.5, 0.3, 0.8])
    assert r.auroc_a == pytest.approx(8 / 9)
    assert r.auroc_b == pytest.approx(5 / 9)
    assert r.se == pytest.approx(math.sqrt(4 / 27))
    assert r.z == pytest.approx((1 / 3) / math.sqrt(4 / 27))
    assert r.p_value == pytest.approx(2 * (1 - NormalDist().cdf((1 / 3) / math.sqrt(4 / 27))))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_delong_matches_brute_force_with_ties(seed):
    rng = np.random.default_rng(seed)
    y = rng.random(40) < 0.4
    a = np.round(rng.normal(size=40) + 1.2 * y, 1)  # rounded: many ties
    b = np.round(0.6 * a + rng.normal(size=40) * 0.8, 1)  # correlated with a
    auc, var, p = _delong_brute_force(y, a, b)
    r = delong_test(y, a, b)
    assert [r.auroc_a, r.auroc_b] == pytest.approx(auc)
    assert r.se**2 == pytest.approx(var)
    assert r.p_value == pytest.approx(p)
    assert r.ci.low < r.difference < r.ci.high


def test_delong_identical_detectors_have_no_variance_and_needs_two_of_each():
    r = delong_test([1, 1, 0, 0], [0.9, 0.2, 0.5, 0.1], [0.9, 0.2, 0.5, 0.1])
    assert r.difference == 0 and r.se == 0 and math.isnan(r.p_value)
    with pytest.raises(SpecError, match="two positives"):
        delong_test([1, 0, 0], [1, 0, 0], [0, 1, 0])


def test_paired_bootstrap_interval_is_paired():
    rng = np.random.default_rng(5)
    y = rng.random(80) < 0.5
    a = rng.normal(size=80) + 2.0 * y
    b = a + rng.normal(size=80) * 0.05  # nearly the same detector
    ci = paired_auroc_bootstrap(y, a, b, n=300, seed=0)
    # Paired resampling cancels the scan-to-scan spread: the interval is far narrower than
    # that of either AUROC alone.
    from scanlab.evaluate import auroc, bootstrap_ci

    alone = bootstrap_ci(auroc, y, a, n=300, seed=0)
    assert ci.high - ci.low < 0.25 * (alone.high - alone.low)
    assert ci.low <= ci.estimate <= ci.high


def test_mcnemar_exact_binomial_by_hand():
    # 10 only by a, 2 only by b: p = 2 * (C(12,0) + C(12,1) + C(12,2)) / 2^12 = 158 / 4096.
    a = [1] * 10 + [0] * 2 + [1] * 5 + [0] * 3
    b = [0] * 10 + [1] * 2 + [1] * 5 + [0] * 3
    r = mcnemar_test(a, b)
    assert (r.only_a, r.only_b, r.both, r.neither) == (10, 2, 5, 3)
    assert r.p_value == pytest.approx(158 / 4096)
    assert r.chi2 == pytest.approx(49 / 12)
    assert mcnemar_test([1, 0], [1, 0]).p_value == 1.0
    assert mcnemar_test([1, 1, 1], [0, 0, 0]).p_value == pytest.approx(0.25)


def test_threshold_at_fpr_is_the_detection_rate_rule():
    rng = np.random.default_rng(2)
    y = rng.random(60) < 0.3
    s = rng.normal(size=60) + y
    for fpr in (0.0, 0.01, 0.05, 0.1, 0.5, 1.0):
        t = threshold_at_fpr(y, s, fpr=fpr)
        assert np.mean(s[y] > t) == detection_rate_at_fpr(y, s, fpr=fpr)
        assert np.mean(s[~y] > t) <= fpr


def _rows(clean, concealed):
    return [{"scan_id": f"c{i}", "clean": True, "score": s} for i, s in enumerate(clean)] + [
        {"scan_id": f"t{i}", "clean": False, "score": s} for i, s in enumerate(concealed)
    ]


def test_compare_detectors_by_hand():
    # Five clean scans c0-c4 and five concealed t0-t4, three detectors.
    #   a: clean 0.1-0.5, concealed 0.6-1.0: AUROC 1.
    #   b: concealed 0.4, 0.95, 0.6, 0.05, 0.8 beat 3, 5, 4, 0, 4 of its clean scores
    #      (0.5, 0.1, 0.9, 0.3, 0.2): AUROC 16/25 = 0.64.
    #   c: one failed scan (c1) and four others: in common with a or b, 1 clean and 3
    #      concealed scans, too few to compare.
    per_scan = {
        "a": _rows([0.1, 0.2, 0.3, 0.4, 0.5], [0.6, 0.7, 0.8, 0.9, 1.0]),
        "b": _rows([0.5, 0.1, 0.9, 0.3, 0.2], [0.4, 0.95, 0.6, 0.05, 0.8]),
        "c": [
            {"scan_id": "c0", "clean": True, "score": 0.3},
            {"scan_id": "c1", "error": "unreadable"},
            {"scan_id": "t0", "clean": False, "score": 0.9},
            {"scan_id": "t1", "clean": False, "score": 0.2},
            {"scan_id": "t2", "clean": False, "score": 0.7},
        ],
    }
    ab, ac, bc = compare_detectors(per_scan, fprs=(0.2, 0.0), n_bootstrap=200)
    assert (ab["a"], ab["b"], ac["a"], ac["b"], bc["a"], bc["b"]) == ("a", "b", "a", "c", "b", "c")
    assert (ab["n_scans"], ab["n_concealed"], ab["n_clean"]) == (10, 5, 5)
    for entry in (ac, bc):
        assert (entry["n_scans"], entry["n_concealed"], entry["n_clean"]) == (4, 3, 1)
        assert entry["note"] == "fewer than two concealed or two clean scans in common"
        assert "delong" not in entry and "mcnemar" not in entry
    assert ab["auroc_a"] == 1.0 and ab["auroc_b"] == pytest.approx(0.64)
    assert ab["auroc_difference"] == pytest.approx(0.36)
    y = [False] * 5 + [True] * 5
    sa = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0]
    sb = [0.5, 0.1, 0.9, 0.3, 0.2, 0.4, 0.95, 0.6, 0.05, 0.8]
    _, var, p = _delong_brute_force(y, sa, sb)
    half = NormalDist().inv_cdf(0.975) * math.sqrt(var)
    assert ab["delong"]["se"] == pytest.approx(math.sqrt(var))
    assert ab["delong"]["z"] == pytest.approx(0.36 / math.sqrt(var))
    assert ab["delong"]["p_value"] == pytest.approx(p)
    assert ab["delong"]["low"] == pytest.approx(0.36 - half)
    assert ab["delong"]["high"] == pytest.approx(0.36 + half)
    boot = ab["bootstrap"]
    assert boot["low"] < 0.36 < boot["high"] and boot["high"] <= 1.0 and boot["se"] > 0
    # At 20 % false alarms each detector's threshold is its second-highest clean score
    # (a: 0.4, b: 0.5): a detects all five concealed scans, b three (0.95, 0.6, 0.8), so
    # two are a's alone: p = 2 * (1/2)^2 = 0.5. At 0 %, the highest (a: 0.5, b: 0.9):
    # a five, b one (0.95): four a's alone, p = 2 * (1/2)^4 = 0.125.
    assert ab["mcnemar"]["0.2"] == {
        "only_a": 2,
        "only_b": 0,
        "both": 3,
        "neither": 0,
        "p_value": pytest.approx(0.5),
    }
    assert ab["mcnemar"]["0"] == {
        "only_a": 4,
        "only_b": 0,
        "both": 1,
        "neither": 0,
        "p_value": pytest.approx(0.125),
    }


def test_paired_bootstrap_draws_the_number_of_resamples_asked_for(monkeypatch):
    import scanlab.evaluate._compare as compare

    calls = []

    def counting(y, s):
        calls.append(1)
        return auroc(y, s)

    monkeypatch.setattr(compare, "auroc", counting)
    rng = np.random.default_rng(1)
    y = np.arange(40) % 2 == 0  # 20 of each: no resample of 40 lacks one kind (p = 2^-39)
    paired_auroc_bootstrap(y, rng.normal(size=40) + y, rng.normal(size=40), n=30, seed=0)
    assert len(calls) == 2 * (1 + 30)  # both detectors on all the scans, then 30 resamples


def test_compare_errors_name_the_function_and_the_problem():
    with pytest.raises(SpecError, match=r"^threshold_at_fpr: fpr must be in \[0, 1\], got 1.5"):
        threshold_at_fpr([0, 0, 1], [0.1, 0.2, 0.9], fpr=1.5)
    with pytest.raises(SpecError, match=r"^threshold_at_fpr: "):
        threshold_at_fpr([0, 0, 1], [0.1, 0.2], fpr=0.1)
    with pytest.raises(SpecError, match="same length"):
        mcnemar_test([1, 0, 1], [1, 0])


def test_compare_detectors_goes_on_past_a_pair_it_cannot_compare_and_is_reproducible():
    # "few" has 1 clean scan: both its pairs get a note, and the pair after them is still
    # compared. Two clean and two concealed scans are enough (DeLong needs two of each).
    per_scan = {
        "few": _rows([0.3], [0.9, 0.2]),
        "a": _rows([0.1, 0.2], [0.8, 0.9]),
        "b": _rows([0.3, 0.1], [0.2, 0.9]),
    }
    first = compare_detectors(per_scan, fprs=(0.5,), n_bootstrap=100)
    assert [(e["a"], e["b"]) for e in first] == [("few", "a"), ("few", "b"), ("a", "b")]
    assert "note" in first[0] and "note" in first[1]
    ab = first[2]
    assert (ab["n_concealed"], ab["n_clean"]) == (2, 2) and "note" not in ab
    assert ab["auroc_a"] == 1.0 and ab["auroc_b"] == pytest.approx(0.75)
    # The same results give the same report: the bootstrap is seeded.
    assert compare_detectors(per_scan, fprs=(0.5,), n_bootstrap=100) == first


def test_compare_detectors_draws_n_bootstrap_resamples(monkeypatch):
    import scanlab.evaluate._compare as compare

    calls = []

    def counting(y, s):
        calls.append(1)
        return auroc(y, s)

    monkeypatch.setattr(compare, "auroc", counting)
    rng = np.random.default_rng(4)
    clean = [float(v) for v in rng.normal(size=20)]
    concealed = [float(v) for v in rng.normal(size=20) + 1]
    per_scan = {"a": _rows(clean, concealed), "b": _rows(concealed, clean)}
    compare_detectors(per_scan, fprs=(0.1,), n_bootstrap=30)
    assert len(calls) == 2 * (1 + 30)  # no resample of 40 scans lacks a kind (p = 2^-39)
