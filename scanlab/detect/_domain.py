"""Whether a scan is like the clean scans a detector's threshold was calibrated on.

A detector trained on one scanner's images lights up on another's: a darker display curve,
other processing or energy shift every grey level, and the network paints the cargo and the
chassis. Two kinds of evidence say so without any labels. The grey levels: the thinnest
structures of the vehicle (container walls, the gap above the load), which a scanner and its
display curve put at one level whatever the cargo, the vehicle's median attenuation, and the
grain of its mid-grey areas (quantum noise, JPEG, noise reduction and sharpening), as the
network reads them, compared with the range of the calibration scans. The map: the share of
the scan the network scores above 0.5, which on clean calibration scans is a fraction of a
per cent and for a concealment a few per cent at most, and the number of separate regions
above the threshold (a concealment makes one to a few).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import cv2
import numpy as np

__all__ = [
    "ADAPT_HINT",
    "DEFAULT_MAX_HOT_SHARE",
    "DEFAULT_MAX_REGIONS",
    "check_domain",
    "domain_ranges",
    "input_statistics",
]

ADAPT_HINT = "not calibrated for this scanner: run scanlab adapt"
#: Without recorded ranges: a map above 0.5 on more than this share of the scan is not a
#: concealment (the largest simulated ones cover 2-3 % of a scan) but a scanner it does not know.
DEFAULT_MAX_HOT_SHARE = 0.05
#: More separate regions than this at the threshold is not a concealment (one to a few
#: places) but cargo and chassis lighting up all over: on clean calibration scans the count
#: is 0 for all but the false-alarm share, on real exports v1 gave 21 to 59.
DEFAULT_MAX_REGIONS = 8
#: Image statistics compared with the calibration range (see :func:`input_statistics`).
IMAGE_STATISTICS = ("thin_level", "median_level", "noise_level")
_SOLID = 0.05  # attenuation above which a pixel is part of the vehicle
_MID_GREY = (1.0, 4.0)  # attenuation of the areas whose grain noise_level measures
_MIN_PIXELS = 50  # fewer mid-grey pixels than this: no noise_level


def input_statistics(planes: np.ndarray) -> dict[str, float]:
    """Grey-level statistics of network input planes (at the model's pitch).

    ``thin_level`` is the 10th percentile of the vehicle's attenuation (pixels above 0.05):
    walls and empty space, the level a display curve moves most; ``median_level`` its
    median; ``noise_level`` the grain of its mid-grey areas (attenuation 1-4, one pixel in
    from their edges): the robust standard deviation (1.4826 times the median absolute
    deviation) of each pixel's difference from the mean of its 3 x 3 neighbourhood. NaN
    when the image shows no vehicle (``noise_level``: fewer than 50 mid-grey pixels).

    Examples
    --------
    >>> from scanlab.detect._preprocess import network_input
    >>> att = np.zeros((4, 10), np.float32); att[:, 5:] = np.arange(1, 6)
    >>> input_statistics(network_input(att))
    {'thin_level': 1.0, 'median_level': 3.0, 'noise_level': nan}
    >>> grain = np.random.default_rng(0).normal(0.0, 0.1, (60, 60)).astype(np.float32)
    >>> round(input_statistics(network_input(2.0 + grain))["noise_level"], 2)  # 0.1 * sqrt(8/9)
    0.09
    """
    att = (np.asarray(planes[0], dtype=np.float32) + np.float32(0.5)) * np.float32(3.0)
    solid = att[att > _SOLID]
    if solid.size < 16:
        return dict.fromkeys(IMAGE_STATISTICS, float("nan"))
    thin, median = np.percentile(solid, [10, 50])
    mid = ((att > _MID_GREY[0]) & (att < _MID_GREY[1])).astype(np.uint8)
    inner = cv2.erode(mid, np.ones((3, 3), np.uint8), borderType=cv2.BORDER_CONSTANT, borderValue=0)
    residual = (att - cv2.blur(att, (3, 3), borderType=cv2.BORDER_REFLECT))[inner.astype(bool)]
    noise = float("nan")
    if residual.size >= _MIN_PIXELS:
        noise = round(float(1.4826 * np.median(np.abs(residual - np.median(residual)))), 5)
    return {
        "thin_level": round(float(thin), 4),
        "median_level": round(float(median), 4),
        "noise_level": noise,
    }


def hot_share(anomaly_map: np.ndarray) -> float:
    """Share of the map at or above 0.5."""
    return float(np.mean(np.asarray(anomaly_map) >= 0.5))


def domain_ranges(records: Iterable[Mapping[str, float]]) -> dict[str, list[float]]:
    """Accepted range of each statistic from those of clean calibration scans.

    For an image statistic: from the 1st to the 99th percentile, each end widened by half
    its distance from the median and by 1 % of its value. The two sides are widened apart
    because the statistics are skewed: ``thin_level`` sits at the walls' level on almost
    every scan and rises only on a few (curtain-siders, loads to the roof), so a margin of
    the whole spread would accept another scanner's lighter walls. For ``hot_share``: up to
    the 99th percentile plus twice its spread, and at least :data:`DEFAULT_MAX_HOT_SHARE`
    (a large concealment lights up a few per cent of a scan in its own domain).

    Examples
    --------
    >>> records = [{"thin_level": v} for v in [0.15] * 90 + [0.2, 0.3, 0.4, 0.5] * 2 + [0.6, 0.6]]
    >>> domain_ranges(records)["thin_level"]  # 0.15 - 0.0015; 0.6 + 0.225 + 0.006
    [0.1485, 0.831]
    """
    rows = list(records)
    out: dict[str, list[float]] = {}
    for key in (*IMAGE_STATISTICS, "hot_share"):
        values = np.array([r[key] for r in rows if key in r and np.isfinite(r[key])], float)
        if values.size < 5:
            continue
        lo, mid, hi = np.percentile(values, [1, 50, 99])
        if key == "hot_share":
            span = max(hi - lo, 0.02 * max(abs(hi), 1e-3))
            out[key] = [0.0, round(float(max(hi + 2 * span, DEFAULT_MAX_HOT_SHARE)), 5)]
        else:
            low = lo - 0.5 * (mid - lo) - 0.01 * abs(lo)
            high = hi + 0.5 * (hi - mid) + 0.01 * abs(hi)
            out[key] = [round(float(low), 4), round(float(high), 4)]
    return out


def check_domain(statistics: Mapping[str, float], ranges: Mapping[str, Any] | None) -> list[str]:
    """Reasons (empty when none) why a scan with ``statistics`` lies outside ``ranges``.

    Without ranges (a card calibrated before they were recorded) only the map is checked:
    its hot share against :data:`DEFAULT_MAX_HOT_SHARE` and its number of regions against
    :data:`DEFAULT_MAX_REGIONS`.

    Examples
    --------
    >>> check_domain({"thin_level": 0.9, "hot_share": 0.0}, {"thin_level": [0.1, 0.3]})
    ['grey levels unlike the calibration scans (thin_level 0.9, calibrated 0.1-0.3)']
    >>> check_domain({"hot_share": 0.2}, None)
    ['20.0 % of the scan scores above 0.5 (clean calibration scans: at most 5.0 %)']
    """
    ranges = dict(ranges or {})
    reasons = []
    regions = statistics.get("n_regions")
    most = ranges.get("n_regions", [0, DEFAULT_MAX_REGIONS])[1]
    if regions is not None and regions > most:
        reasons.append(f"{regions:.0f} separate regions above the threshold (at most {most:.0f})")
    share = statistics.get("hot_share")
    limit = ranges.get("hot_share", [0.0, DEFAULT_MAX_HOT_SHARE])[1]
    if share is not None and share > limit:
        reasons.append(
            f"{100 * share:.1f} % of the scan scores above 0.5 (clean calibration scans: "
            f"at most {100 * limit:.1f} %)"
        )
    for key in IMAGE_STATISTICS:
        value, bounds = statistics.get(key), ranges.get(key)
        if value is None or bounds is None or not np.isfinite(value):
            continue
        if not bounds[0] <= value <= bounds[1]:
            reasons.append(
                f"grey levels unlike the calibration scans ({key} {value:.3g}, calibrated "
                f"{bounds[0]:.3g}-{bounds[1]:.3g})"
            )
    return reasons
