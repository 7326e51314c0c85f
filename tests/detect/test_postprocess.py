"""Regions, detections and threshold calibration (no torch needed)."""

from __future__ import annotations

import numpy as np
import pytest

from scanlab.detect import Region, calibrate_threshold, find_regions
from scanlab.detect._postprocess import make_detection
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
