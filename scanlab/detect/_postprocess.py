"""From an anomaly map to a decision: image score, regions and threshold calibration."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import cv2
import numpy as np

from scanlab.detect._result import Detection, Region
from scanlab.errors import SpecError

__all__ = ["calibrate_threshold", "find_regions", "make_detection"]


def find_regions(anomaly_map: np.ndarray, threshold: float) -> list[Region]:
    """Connected components (8-connectivity) of ``anomaly_map >= threshold``, best first.

    Examples
    --------
    >>> m = np.zeros((8, 8), np.float32); m[2:4, 3:6] = 0.75
    >>> find_regions(m, 0.5)
    [Region(bbox=(2, 3, 4, 6), score=0.75, area=6)]
    """
    above = (anomaly_map >= threshold).astype(np.uint8)
    if not above.any():
        return []
    n, labels, stats, _ = cv2.connectedComponentsWithStats(above, connectivity=8)
    regions = []
    for i in range(1, n):
        c0, r0, w, h, area = (int(v) for v in stats[i])
        window = anomaly_map[r0 : r0 + h, c0 : c0 + w]
        score = float(window[labels[r0 : r0 + h, c0 : c0 + w] == i].max())
        regions.append(Region((r0, c0, r0 + h, c0 + w), score, area))
    return sorted(regions, key=lambda r: -r.score)


def make_detection(
    anomaly_map: np.ndarray, threshold: float, input_mode: str, **facts: Any
) -> Detection:
    """A :class:`Detection` whose score is the map's maximum, so that a scan is flagged
    exactly when it has a region. Maps are float32, so the threshold is rounded to float32
    (keeping the score and the regions consistent). ``facts`` are further fields of the
    Detection (pitch, domain check)."""
    anomaly_map = np.ascontiguousarray(anomaly_map, dtype=np.float32)
    threshold = float(np.float32(threshold))
    return Detection(
        float(anomaly_map.max()),
        anomaly_map,
        find_regions(anomaly_map, threshold),
        threshold,
        input_mode,
        **facts,
    )


def calibrate_threshold(clean_scores: Sequence[float], false_alarm_rate: float) -> float:
    """The lowest threshold that flags at most ``false_alarm_rate`` of clean scans.

    With ``n`` clean scores, ``k = floor(rate * n)`` may reach the threshold: it lies just
    above the (k + 1)-th highest score. Fewer than ``1 / rate`` scans give the maximum
    (a stricter rate than asked; calibrate on more clean scans to reach the stated one).

    Examples
    --------
    >>> t = calibrate_threshold([0.1, 0.2, 0.3, 0.9], 0.25)
    >>> 0.3 < t < 0.30001
    True
    """
    scores = np.sort(np.asarray(clean_scores, dtype=np.float64))[::-1]
    if scores.size == 0 or not np.isfinite(scores).all():
        raise SpecError("calibrate_threshold: needs finite scores of at least one clean scan")
    if not 0.0 <= false_alarm_rate < 1.0:
        raise SpecError(
            f"calibrate_threshold: false_alarm_rate must be in [0, 1), got {false_alarm_rate!r}"
        )
    k = min(math.floor(round(false_alarm_rate * scores.size, 9)), scores.size - 1)
    value = float(np.float32(scores[k]))
    return float(np.nextafter(np.float32(value), np.float32(np.inf)))
