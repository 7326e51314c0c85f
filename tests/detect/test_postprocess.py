"""Regions, detections and threshold calibration (no torch needed)."""

from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np
import pytest

from scanlab.detect import Region, calibrate_threshold, find_regions
from scanlab.detect._postprocess import _t_quantile, fit_threshold, make_detection
from scanlab.errors import SpecError


def test_regions_are_connected_components_best_first():
    amap = np.zeros((20, 30), np.float32)
    amap[2:5, 3:8] = 0.6
    amap[10:12, 20:29] = 0.9
    amap[10, 20] = 0.95
    regions = find_regions(amap, 0.5)
    assert [r.bbox for r in regions] == [(10, 20, 12, 29), (2, 3, 5, 8)]
    assert regions[0].score == pytest.approx(0.95)
    assert regions[0].area == 18 and regions[1].area == 15
    assert find_regions(amap, 0.99) == []


def test_detection_is_flagged_exactly_when_it_has_regions():
    amap = np.zeros((8, 8), np.float32)
    amap[3, 3] = 0.7
    above = make_detection(amap, 0.7, "dual")
    below = make_detection(amap, 0.71, "dual")
    assert above.is_anomalous and above.regions == [Region((3, 3, 4, 4), above.score, 1)]
    assert not below.is_anomalous and below.regions == []
    assert above.to_dict()["regions"] == [{"bbox": [3, 3, 4, 4], "score": above.score, "area": 1}]


def test_a_float64_map_is_decided_in_float32_and_keeps_what_the_caller_said():
    # A detector's float64 map at exactly the asked threshold 0.1: the map and the threshold
    # are both rounded to float32 (0.1 -> 0.100000001...), so the scan is flagged, with its
    # region, as it would be had the detector produced float32 (in float64, 0.1 would fall
    # just under the float32 threshold and the scan would pass).
    amap = np.zeros((6, 6), np.float64)
    amap[2, 4] = 0.1
    det = make_detection(amap, 0.1, "single", pitch_mm=(5.0, 5.0), pitch_source="option")
    assert det.anomaly_map.dtype == np.float32 and det.anomaly_map.flags.c_contiguous
    assert det.is_anomalous and det.regions == [Region((2, 4, 3, 5), det.score, 1)]
    assert det.input_mode == "single"
    assert (det.pitch_mm, det.pitch_source) == ((5.0, 5.0), "option")


def test_calibrated_threshold_flags_at_most_the_stated_share():
    clean = np.random.default_rng(0).random(1000).astype(np.float32)
    t = calibrate_threshold(clean, 0.01)
    assert np.sum(clean >= t) == 10
    assert np.sum(clean >= np.nextafter(np.float32(t), np.float32(0))) == 11
    # Too few scans for the rate: the maximum, so none is flagged.
    few = [0.2, 0.4, 0.3]
    assert not any(s >= calibrate_threshold(few, 0.01) for s in few)


@pytest.mark.parametrize(("scores", "rate"), [([], 0.01), ([0.1, np.nan], 0.01), ([0.1], 1.0)])
def test_calibration_rejects_bad_input(scores, rate):
    with pytest.raises(SpecError):
        calibrate_threshold(scores, rate)


def _flood_regions(amap: np.ndarray, threshold: float) -> list[tuple]:
    """Brute force: 8-connected flood fill over the pixels at or above the threshold."""
    above = amap >= threshold
    seen = np.zeros_like(above)
    out = []
    rows, cols = amap.shape
    for r in range(rows):
        for c in range(cols):
            if above[r, c] and not seen[r, c]:
                stack, pixels = [(r, c)], []
                seen[r, c] = True
                while stack:
                    y, x = stack.pop()
                    pixels.append((y, x))
                    for dy in (-1, 0, 1):
                        for dx in (-1, 0, 1):
                            v, u = y + dy, x + dx
                            if 0 <= v < rows and 0 <= u < cols and above[v, u] and not seen[v, u]:
                                seen[v, u] = True
                                stack.append((v, u))
                ys, xs = zip(*pixels)
                bbox = (min(ys), min(xs), max(ys) + 1, max(xs) + 1)
                out.append((bbox, float(max(amap[p] for p in pixels)), len(pixels)))
    return sorted(out, key=lambda t: -t[1])


def test_regions_match_a_brute_force_flood_fill():
    rng = np.random.default_rng(3)
    for _ in range(20):
        amap = rng.random((17, 23)).astype(np.float32)
        for threshold in (0.8, 0.9, 0.97):
            got = [(r.bbox, r.score, r.area) for r in find_regions(amap, threshold)]
            expected = _flood_regions(amap, threshold)
            assert sorted(got) == sorted(expected)
            assert [s for _, s, _ in got] == sorted((s for _, s, _ in got), reverse=True)
    # Diagonal neighbours are one region (8-connectivity); the score is the region's own
    # maximum even where another region's pixels lie inside its bounding box.
    amap = np.zeros((6, 6), np.float32)
    amap[0, 0], amap[1, 1], amap[2, 2], amap[3, 3] = 0.6, 0.7, 0.6, 0.6
    amap[0, 3] = 0.99  # inside the diagonal's bbox, not connected to it
    regions = find_regions(amap, 0.5)
    assert [(r.bbox, r.score, r.area) for r in regions] == [
        ((0, 3, 1, 4), pytest.approx(0.99), 1),
        ((0, 0, 4, 4), pytest.approx(0.7), 4),
    ]


def test_calibrated_threshold_is_the_lowest_that_keeps_the_rate():
    """Brute force over every candidate: the smallest float32 t with at most
    floor(rate * n) clean scores >= t."""
    rng = np.random.default_rng(5)
    for n in (1, 3, 10, 57, 100, 200):
        scores = rng.random(n).astype(np.float32)
        scores[: n // 4] = scores[n - 1]  # ties
        for rate in (0.0, 0.01, 0.05, 0.1, 0.25, 0.5, 0.99):
            allowed = min(math.floor(round(rate * n, 9)), n - 1)
            candidates = sorted({float(np.nextafter(s, np.float32(np.inf))) for s in scores})
            best = next(t for t in candidates if np.sum(scores >= np.float32(t)) <= allowed)
            t = calibrate_threshold(scores, rate)
            assert t == best, (n, rate)
            assert np.sum(scores >= np.float32(t)) <= allowed
    assert calibrate_threshold([0.5] * 10, 0.1) == float(
        np.nextafter(np.float32(0.5), np.float32(1))
    )


def test_calibration_edge_cases_and_messages():
    scores = np.array([0.3, 0.1, 0.2], np.float32)
    # A rate a rounding error below 1 lets all but one scan through, never indexes past the end.
    almost_one = calibrate_threshold(scores, 1 - 1e-12)
    assert almost_one == float(np.nextafter(np.float32(0.1), np.float32(1)))
    with pytest.raises(
        SpecError, match=r"^calibrate_threshold: needs finite scores of at least one clean scan$"
    ):
        calibrate_threshold([], 0.01)
    with pytest.raises(SpecError, match=r"false_alarm_rate must be in \[0, 1\), got 1.0"):
        calibrate_threshold(scores, 1.0)


def test_t_quantiles_match_the_printed_table():
    """Student's t at 0.99 from a printed table (two-sided 0.02 column)."""
    table = {10: 2.764, 20: 2.528, 39: 2.426, 120: 2.358}
    for dof, value in table.items():
        assert _t_quantile(0.99, dof) == pytest.approx(value, abs=0.002)


def test_fitted_threshold_aims_at_the_stated_rate_with_few_clean_scans():
    """40 clean scores drawn 2,000 times (seeded) from a known distribution, logits Gumbel
    (location -1, scale 1); each threshold's true exceedance is 1 - exp(-exp(-(logit(t) +
    1))). The empirical threshold (the maximum of 40) is exceeded one time in 41 on average
    (the order statistic: 2.44 %); the fitted one about 1 %, as asked. Logits normal
    instead (a lighter tail than the fit assumes): the fit errs on the safe side."""
    rng = np.random.default_rng(13)
    normal = NormalDist(-1.0, 1.5)
    fitted, empirical, light = [], [], []

    def logit(t: float) -> float:
        return math.log(t / (1 - t))

    for _ in range(2000):
        scores = 1 / (1 + np.exp(-rng.gumbel(-1.0, 1.0, 40)))
        for out, t in (
            (fitted, fit_threshold(scores, 0.01)),
            (empirical, calibrate_threshold(scores, 0.01)),
        ):
            out.append(1 - math.exp(-math.exp(-(logit(t) + 1.0))))
        scores = 1 / (1 + np.exp(-rng.normal(normal.mean, normal.stdev, 40)))
        light.append(1 - normal.cdf(logit(fit_threshold(scores, 0.01))))
    assert np.mean(empirical) == pytest.approx(1 / 41, rel=0.1)
    assert 0.009 < np.mean(fitted) < 0.0125
    assert np.mean(light) < 0.003
    assert all(f <= e for f, e in zip(fitted, empirical, strict=True))


def test_fitted_threshold_falls_back_to_the_empirical_one():
    """Identical scores (no spread) and two scans give the empirical threshold; a single
    outlier far above a tight cluster is never cut below."""
    assert fit_threshold([0.3] * 10, 0.01) == calibrate_threshold([0.3] * 10, 0.01)
    assert fit_threshold([0.2, 0.4], 0.01) == calibrate_threshold([0.2, 0.4], 0.01)
    scores = [0.1] * 30 + [0.11] * 9 + [0.999]
    assert fit_threshold(scores, 0.01) == calibrate_threshold(scores, 0.01) > 0.999
