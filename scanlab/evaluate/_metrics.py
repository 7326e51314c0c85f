"""Detector metrics in NumPy: ROC, AUROC, AP, detection rate at a fixed FPR, pixel AUROC,
AUPRO, FROC and the bootstrap. Every metric takes the truth first, then the test."""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from scanlab.errors import ScanlabError, ScanValidationError, SpecError
from scanlab.evaluate._interval import ConfidenceInterval
from scanlab.evaluate._marks import Mark
from scanlab.evaluate._matching import MatchResult, match_marks

__all__ = [
    "FrocCurve",
    "PixelHistogram",
    "aupro",
    "auroc",
    "average_precision",
    "bootstrap_ci",
    "detection_rate_at_fpr",
    "f1_max",
    "froc",
    "pixel_auroc",
    "roc_curve",
]

#: Default number of equal-width score bins of the streamed pixel metrics.
_N_BINS = 10_000


def roc_curve(y_true: Any, scores: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Receiver operating characteristic: one point per distinct score.

    Parameters
    ----------
    y_true : (n,) array_like of bool or {0, 1}
        1 for a positive (a threat), 0 for a negative.
    scores : (n,) array_like of float
        Higher means more suspicious. A sample is called positive when ``score >= t``.

    Returns
    -------
    fpr, tpr : (k + 1,) ndarray of float64
        False- and true-positive rates, from (0, 0) up to (1, 1).
    thresholds : (k + 1,) ndarray of float64
        ``inf`` then the k distinct scores in decreasing order.

    Examples
    --------
    >>> fpr, tpr, thr = roc_curve([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    >>> fpr, tpr
    (array([0. , 0. , 0.5, 0.5, 1. ]), array([0. , 0.5, 0.5, 1. , 1. ]))
    """
    y, s = _check_binary(y_true, scores, "roc_curve")
    values, pos, neg = _counts_by_value(y, s)
    tpr = np.concatenate([[0.0], np.cumsum(pos[::-1]) / pos.sum()])
    fpr = np.concatenate([[0.0], np.cumsum(neg[::-1]) / neg.sum()])
    return fpr, tpr, np.concatenate([[np.inf], values[::-1]])


def auroc(y_true: Any, scores: Any) -> float:
    """Area under the ROC curve: the probability that a random positive outscores a random
    negative, ties counting one half (the Mann-Whitney U statistic divided by n_pos n_neg).

    Examples
    --------
    >>> auroc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    0.75
    >>> auroc([0, 1], [0.5, 0.5])
    0.5
    """
    y, s = _check_binary(y_true, scores, "auroc")
    _, pos, neg = _counts_by_value(y, s)
    return _auc_from_counts(pos, neg)


def average_precision(y_true: Any, scores: Any) -> float:
    """Average precision: ``sum_k (R_k - R_{k-1}) P_k`` over the distinct scores taken as
    thresholds in decreasing order, without interpolation (as scikit-learn).

    Tied scores enter together, so their order does not matter. Needs at least one positive.

    Examples
    --------
    >>> round(average_precision([1, 0, 1, 0], [0.9, 0.8, 0.7, 0.1]), 4)
    0.8333
    """
    y, s = _check_binary(y_true, scores, "average_precision", need_negative=False)
    _, pos, neg = _counts_by_value(y, s)
    tp, fp = np.cumsum(pos[::-1]), np.cumsum(neg[::-1])
    precision = tp / (tp + fp)
    recall_step = pos[::-1] / tp[-1]
    return float(np.sum(recall_step * precision))


def f1_max(y_true: Any, scores: Any) -> float:
    """Best F1 score over all thresholds (a sample is positive when ``score >= t``), as
    anomalib reports it: ``max_t 2 TP / (2 TP + FP + FN)``. Needs at least one positive.

    Examples
    --------
    >>> round(f1_max([1, 0, 1, 0], [0.9, 0.8, 0.7, 0.1]), 4)   # t = 0.7: P 2/3, R 1
    0.8
    """
    y, s = _check_binary(y_true, scores, "f1_max", need_negative=False)
    _, pos, neg = _counts_by_value(y, s)
    return _f1_max_from_counts(pos, neg)


def _f1_max_from_counts(pos: np.ndarray, neg: np.ndarray) -> float:
    """Best F1 from counts per ascending score level (thresholds taken from the top)."""
    tp, fp = np.cumsum(pos[::-1]), np.cumsum(neg[::-1])
    return float(np.max(2.0 * tp / (tp + fp + pos.sum())))


def detection_rate_at_fpr(y_true: Any, scores: Any, *, fpr: float = 0.01) -> float:
    """Fraction of positives detected at the threshold that lets at most ``fpr`` of the
    negatives through: how a detector is calibrated on clean scans before deployment.

    With ``n`` negatives, ``k = floor(fpr * n)`` of them may be false alarms. The threshold
    ``t`` is the (k + 1)-th highest negative score, and a sample is detected when
    ``score > t`` strictly, so at most k negatives exceed it (fewer when negatives tie at
    ``t``) and the realised false-positive rate never exceeds ``fpr``. When
    ``fpr * n < 1`` (for instance fewer than 100 negatives at 1 %), ``t`` is the highest
    negative score. ``fpr = 1`` detects everything.

    Examples
    --------
    >>> y = [0] * 10 + [1] * 4
    >>> s = list(range(10)) + [9.5, 8.5, 5, 1]
    >>> detection_rate_at_fpr(y, s, fpr=0.1)   # t = 8: the 2nd highest negative
    0.5
    """
    y, s = _check_binary(y_true, scores, "detection_rate_at_fpr")
    if not 0.0 <= fpr <= 1.0:
        raise SpecError(f"detection_rate_at_fpr: fpr must be in [0, 1], got {fpr!r}")
    negatives = np.sort(s[~y])[::-1]
    k = math.floor(round(fpr * negatives.size, 9))
    if k >= negatives.size:
        return 1.0
    return float(np.mean(s[y] > negatives[k]))


def pixel_auroc(
    masks_true: Iterable[Any],
    maps: Iterable[Any],
    *,
    score_range: tuple[float, float] | None = None,
    n_bins: int = _N_BINS,
) -> float:
    """AUROC over all pixels of many images, streamed through a fixed score histogram.

    Each image adds its positive (mask) and negative pixels to two histograms of
    ``n_bins`` equal bins over ``score_range``; only one image is in memory at a time.
    Scores falling in the same bin count as ties, so the result differs from the exact
    AUROC by at most half the fraction of (positive, negative) pixel pairs that share a
    bin: with the default 10 000 bins, about 1e-4 for scores spread over the range.

    Parameters
    ----------
    masks_true : iterable of (row, col) array_like of bool
        Truth per image (an (N, row, col) array works too).
    maps : iterable of (row, col) array_like of float
        Anomaly maps, same shapes, higher = more anomalous.
    score_range : (low, high), optional
        Bin edges span it. Default: the min and max of all maps, found in a first pass
        (``maps`` must then be a sequence, not a one-shot iterator). Scores outside an
        explicit range raise ScanValidationError rather than being clipped.
    n_bins : int
        Histogram resolution.

    Examples
    --------
    >>> import numpy as np
    >>> truth = np.zeros((1, 4, 4), bool); truth[0, 1:3, 1:3] = True
    >>> pixel_auroc(truth, truth * 0.9 + 0.05)
    1.0
    """
    return PixelHistogram.from_images(
        masks_true, maps, score_range=score_range, n_bins=n_bins, func="pixel_auroc"
    ).auroc()


def aupro(
    masks_true: Iterable[Any],
    maps: Iterable[Any],
    *,
    max_fpr: float = 0.3,
    score_range: tuple[float, float] | None = None,
    n_bins: int = _N_BINS,
) -> float:
    """Area under the per-region-overlap curve up to ``max_fpr``, normalised to [0, 1].

    As in MVTec AD (Bergmann et al. 2021) and anomalib: the regions are the connected
    components of every truth mask (``cv2.connectedComponents``, 8-connectivity, so each
    concealment counts once however large). At a threshold t, PRO(t) is the mean over all
    regions of all images of the fraction of the region's pixels with score >= t, and
    FPR(t) the fraction of all truth-negative pixels with score >= t. The curve PRO(FPR),
    from (0, 0), is cut at ``max_fpr`` (linear interpolation), integrated with the
    trapezoid rule and divided by ``max_fpr``: a perfect map scores 1, a random one about
    ``max_fpr / 2``.

    Thresholds are the edges of the same streamed histogram as :func:`pixel_auroc`; each
    region pixel is added with weight 1 / (its region's size), so memory does not grow
    with the number of regions. Parameters ``masks_true``, ``maps``, ``score_range`` and
    ``n_bins`` are as there.

    Examples
    --------
    >>> import numpy as np
    >>> truth = np.zeros((1, 6, 6), bool); truth[0, :2, :2] = True; truth[0, 4:, 4:] = True
    >>> aupro(truth, truth.astype(float))
    1.0
    """
    return PixelHistogram.from_images(
        masks_true, maps, score_range=score_range, n_bins=n_bins, func="aupro"
    ).aupro(max_fpr=max_fpr)


@dataclass(frozen=True)
class PixelHistogram:
    """Pixel scores of many images binned once: what pixel AUROC and AUPRO are computed from.

    Histograms of images add up (``a + b``), so a dataset can be scored image by image, on
    several machines, and summed: the result is the same as scoring all at once.

    Attributes
    ----------
    pos, neg : ndarray of int64
        Counts of truth-positive and truth-negative pixels per score bin.
    pro : ndarray of float64
        Per bin, the sum over regions of (region pixels in the bin / region size).
    n_regions : int
        Connected truth regions (8-connectivity) counted in ``pro``.
    score_range : (float, float)
        The range the ``len(pos)`` equal bins span.
    """

    pos: np.ndarray
    neg: np.ndarray
    pro: np.ndarray
    n_regions: int
    score_range: tuple[float, float]

    @classmethod
    def from_images(
        cls,
        masks_true: Iterable[Any],
        maps: Iterable[Any],
        *,
        score_range: tuple[float, float] | None = None,
        n_bins: int = _N_BINS,
        func: str = "PixelHistogram",
    ) -> PixelHistogram:
        """Bin (mask, map) pairs; see :func:`pixel_auroc` for the arguments."""
        return _pixel_histograms(masks_true, maps, score_range, n_bins, func)

    def __add__(self, other: PixelHistogram) -> PixelHistogram:
        if self.score_range != other.score_range or self.pos.size != other.pos.size:
            raise SpecError("pixel histograms with different bins cannot be added")
        return PixelHistogram(
            self.pos + other.pos,
            self.neg + other.neg,
            self.pro + other.pro,
            self.n_regions + other.n_regions,
            self.score_range,
        )

    def auroc(self) -> float:
        """Pixel AUROC (ties within a bin count one half)."""
        if self.neg.sum() == 0 or self.pos.sum() == 0:
            raise SpecError("pixel AUROC: the masks need both anomalous and normal pixels")
        return _auc_from_counts(self.pos, self.neg)

    def average_precision(self) -> float:
        """Pixel-level average precision (area under the precision-recall curve, steps at
        the bin edges, without interpolation, as :func:`average_precision`)."""
        if self.pos.sum() == 0:
            raise SpecError("pixel average precision: the masks need anomalous pixels")
        tp, fp = np.cumsum(self.pos[::-1]), np.cumsum(self.neg[::-1])
        keep = self.pos[::-1] > 0
        return float(np.sum(self.pos[::-1][keep] / tp[-1] * tp[keep] / (tp[keep] + fp[keep])))

    def f1_max(self) -> float:
        """Pixel-level F1-max over the bin edges as thresholds."""
        if self.pos.sum() == 0:
            raise SpecError("pixel F1-max: the masks need anomalous pixels")
        return _f1_max_from_counts(self.pos, self.neg)

    def aupro(self, *, max_fpr: float = 0.3) -> float:
        """Area under the per-region-overlap curve up to ``max_fpr``; see :func:`aupro`."""
        if not 0.0 < max_fpr <= 1.0:
            raise SpecError(f"aupro: max_fpr must be in (0, 1], got {max_fpr!r}")
        if self.neg.sum() == 0 or self.n_regions == 0:
            raise SpecError("aupro: the masks need both anomalous and normal pixels")
        fpr = np.concatenate([[0.0], np.cumsum(self.neg[::-1]) / self.neg.sum()])
        overlap = np.concatenate([[0.0], np.cumsum(self.pro[::-1]) / self.n_regions])
        beyond = np.flatnonzero(fpr > max_fpr)
        if beyond.size:
            i = beyond[0]
            w = (max_fpr - fpr[i - 1]) / (fpr[i] - fpr[i - 1])
            fpr = np.append(fpr[:i], max_fpr)
            overlap = np.append(overlap[:i], overlap[i - 1] + w * (overlap[i] - overlap[i - 1]))
        return float(np.trapezoid(overlap, fpr) / max_fpr)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, sparse (only non-empty bins)."""
        nz = np.flatnonzero((self.pos > 0) | (self.neg > 0) | (self.pro > 0))
        return {
            "n_bins": int(self.pos.size),
            "score_range": list(self.score_range),
            "bins": nz.tolist(),
            "pos": self.pos[nz].tolist(),
            "neg": self.neg[nz].tolist(),
            "pro": self.pro[nz].tolist(),
            "n_regions": self.n_regions,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> PixelHistogram:
        n = int(d["n_bins"])
        pos, neg, pro = np.zeros(n, np.int64), np.zeros(n, np.int64), np.zeros(n, np.float64)
        idx = np.asarray(d["bins"], dtype=np.int64)
        pos[idx], neg[idx], pro[idx] = d["pos"], d["neg"], d["pro"]
        lo, hi = (float(v) for v in d["score_range"])
        return cls(pos, neg, pro, int(d["n_regions"]), (lo, hi))


@dataclass(frozen=True)
class FrocCurve:
    """Free-response ROC: sensitivity against mean false positives per image.

    Point k keeps the detections with ``confidence >= thresholds[k]``; point 0 keeps none
    (threshold ``inf``).
    """

    mean_false_positives: np.ndarray
    sensitivity: np.ndarray
    thresholds: np.ndarray

    def sensitivity_at(self, mean_false_positives: float) -> float:
        """Best sensitivity reached with at most this many false positives per image."""
        ok = self.mean_false_positives <= mean_false_positives
        return float(self.sensitivity[ok].max()) if ok.any() else 0.0


def froc(
    keys: Sequence[Any],
    detections: Sequence[Sequence[Mark]],
    *,
    match: Callable[[Any, list[Mark]], MatchResult] = match_marks,
) -> FrocCurve:
    """FROC of scored region detections over many images.

    Parameters
    ----------
    keys : sequence
        The truth per image, usually :class:`~scanlab.synth.AnswerKey`.
    detections : sequence of sequence of Mark
        Per image, the detector's regions; ``Mark.confidence`` is the score.
    match : callable ``(key, marks) -> MatchResult``
        Decides hits and false positives; default :func:`match_marks` with its defaults
        (wrap it in a lambda to change the rule).

    Notes
    -----
    Sensitivity is the number of objects hit over all objects of all images (object level,
    not image level); false positives are the unmatched detections. Because one-to-one
    matching at a lower threshold can reassign objects, every image is re-matched at each
    of its own distinct confidences (as many ``match`` calls as detections, not as
    thresholds times images), and the per-image counts are then swept together.

    Examples
    --------
    >>> import numpy as np
    >>> from scanlab.synth import AnswerKey, Difficulty, KeyObject
    >>> obj = KeyObject("o1", "weapon", "in_cargo", "steel", 1.0, (0, 0, 4, 4),
    ...                 np.ones((4, 4), bool), [], Difficulty(0, 0, 16, 1.0, "easy"))
    >>> keys = [AnswerKey("s1", (16, 16), [obj]), AnswerKey("s2", (16, 16))]
    >>> box = [(0, 0), (3, 3)]
    >>> dets = [[Mark("a", "rectangle", box, "weapon", confidence=0.9)],
    ...         [Mark("b", "rectangle", box, "weapon", confidence=0.8)]]
    >>> curve = froc(keys, dets)
    >>> curve.mean_false_positives, curve.sensitivity
    (array([0. , 0. , 0.5]), array([0., 1., 1.]))
    """
    if len(keys) != len(detections):
        raise SpecError(
            f"froc: {len(keys)} keys but {len(detections)} detection lists (one per image)"
        )
    if not keys:
        raise SpecError("froc: no images")
    base_hits = base_fps = n_objects = 0
    events: list[tuple[float, int, int]] = []
    for key, dets in zip(keys, detections, strict=True):
        dets = list(dets)
        res = match(key, [])
        n_objects += res.n_objects
        hits, fps = len(res.hits), res.n_false_alarms
        base_hits, base_fps = base_hits + hits, base_fps + fps
        for c in sorted({d.confidence for d in dets}, reverse=True):
            res = match(key, [d for d in dets if d.confidence >= c])
            events.append((c, len(res.hits) - hits, res.n_false_alarms - fps))
            hits, fps = len(res.hits), res.n_false_alarms
    if n_objects == 0:
        raise SpecError("froc: the answer keys hold no objects; sensitivity is undefined")
    events.sort(key=lambda e: -e[0])
    thresholds, d_hits, d_fps = [math.inf], [base_hits], [base_fps]
    for c, group in itertools.groupby(events, key=lambda e: e[0]):
        g = list(group)
        thresholds.append(c)
        d_hits.append(sum(e[1] for e in g))
        d_fps.append(sum(e[2] for e in g))
    return FrocCurve(
        mean_false_positives=np.cumsum(d_fps) / len(keys),
        sensitivity=np.cumsum(d_hits) / n_objects,
        thresholds=np.asarray(thresholds, dtype=np.float64),
    )


def bootstrap_ci(
    metric: Callable[..., float],
    *arrays: Any,
    n: int = 1000,
    seed: int = 0,
    level: float = 0.95,
) -> ConfidenceInterval:
    """Percentile bootstrap interval of ``metric(*arrays)``, resampling images.

    Each replicate draws len(arrays[0]) image indices with replacement and applies them
    to every array alike (NumPy arrays along axis 0, other sequences item by item), so
    paired data stay paired. Replicates where the metric raises a ScanlabError (for
    instance a resample with no positives) or returns a non-finite value are dropped;
    SpecError if more than half are.

    Returns
    -------
    ConfidenceInterval
        ``estimate`` on all data, ``low``/``high`` the (1 -/+ level) / 2 quantiles of the
        replicates, ``se`` their standard deviation. The same seed gives the same interval.

    Examples
    --------
    >>> y = [0, 0, 0, 1, 1, 1, 0, 1]
    >>> s = [0.1, 0.3, 0.6, 0.4, 0.8, 0.9, 0.2, 0.7]
    >>> ci = bootstrap_ci(auroc, y, s, n=200, seed=1)
    >>> ci.low <= ci.estimate <= ci.high
    True
    """
    if not arrays:
        raise SpecError("bootstrap_ci: give at least one array to resample")
    size = len(arrays[0])
    if size == 0 or any(len(a) != size for a in arrays):
        raise SpecError(
            "bootstrap_ci: arrays must be non-empty and equally long, "
            f"got lengths {[len(a) for a in arrays]}"
        )
    if n < 2:
        raise SpecError(f"bootstrap_ci: n must be at least 2, got {n}")
    if not 0.0 < level < 1.0:
        raise SpecError(f"bootstrap_ci: level must be in (0, 1), got {level!r}")
    estimate = float(metric(*arrays))
    rng = np.random.default_rng(seed)
    stats = []
    for _ in range(n):
        idx = rng.integers(0, size, size=size)
        resampled = [a[idx] if isinstance(a, np.ndarray) else [a[i] for i in idx] for a in arrays]
        try:
            value = float(metric(*resampled))
        except ScanlabError:
            continue
        if math.isfinite(value):
            stats.append(value)
    if len(stats) < n / 2:
        raise SpecError(
            f"bootstrap_ci: the metric failed on {n - len(stats)} of {n} resamples; "
            "too few images of some kind to bootstrap"
        )
    low, high = np.quantile(stats, [(1 - level) / 2, (1 + level) / 2])
    return ConfidenceInterval(estimate, float(low), float(high), float(np.std(stats, ddof=1)))


def _check_binary(
    y_true: Any, scores: Any, func: str, *, need_negative: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(y_true)
    s = np.asarray(scores, dtype=np.float64) if _is_numeric(scores) else None
    if y.ndim != 1 or not np.isin(y, (0, 1)).all():
        raise SpecError(f"{func}: y_true must be a 1-D array of 0/1 or bool labels")
    if s is None or s.shape != y.shape:
        raise SpecError(f"{func}: scores must be a 1-D numeric array as long as y_true ({y.size})")
    if not np.isfinite(s).all():
        raise SpecError(f"{func}: scores must be finite (found NaN or inf)")
    y = y.astype(bool)
    if not y.any() or (need_negative and y.all()):
        raise SpecError(f"{func}: y_true needs both positives and negatives")
    return y, s


def _is_numeric(values: Any) -> bool:
    try:
        return np.asarray(values).dtype.kind in "biuf"
    except (TypeError, ValueError):
        return False


def _counts_by_value(y: np.ndarray, s: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct scores ascending, with the number of positives and negatives at each."""
    values, inverse = np.unique(s, return_inverse=True)
    pos = np.bincount(inverse[y], minlength=values.size)
    neg = np.bincount(inverse[~y], minlength=values.size)
    return values, pos, neg


def _auc_from_counts(pos: np.ndarray, neg: np.ndarray) -> float:
    """Mann-Whitney AUC from counts per ascending score level (ties count one half)."""
    pos, neg = pos.astype(np.float64), neg.astype(np.float64)
    n_pos, n_neg = pos.sum(), neg.sum()
    if n_pos == 0 or n_neg == 0:
        raise SpecError("AUROC needs both positives and negatives")
    below = np.cumsum(neg) - neg
    return float(np.sum(pos * (below + 0.5 * neg)) / (n_pos * n_neg))


def _pixel_histograms(
    masks_true: Iterable[Any],
    maps: Iterable[Any],
    score_range: tuple[float, float] | None,
    n_bins: int,
    func: str,
) -> PixelHistogram:
    """Stream (mask, map) pairs into positive, negative and per-region-weighted histograms."""
    if int(n_bins) < 2:
        raise SpecError(f"{func}: n_bins must be at least 2, got {n_bins!r}")
    if score_range is None:
        if iter(maps) is maps:
            raise SpecError(f"{func}: pass score_range when maps is a one-shot iterator")
        lo, hi = math.inf, -math.inf
        for m in maps:
            m = _check_map(m, func)
            lo, hi = min(lo, float(m.min())), max(hi, float(m.max()))
        if lo > hi:
            raise SpecError(f"{func}: no maps given")
        hi = hi if hi > lo else lo + 1.0
    else:
        lo, hi = (float(v) for v in score_range)
        if not (math.isfinite(lo) and math.isfinite(hi) and hi > lo):
            raise SpecError(f"{func}: score_range must be finite (low, high) with high > low")
    scale = n_bins / (hi - lo)
    pos = np.zeros(n_bins, dtype=np.int64)
    neg = np.zeros(n_bins, dtype=np.int64)
    pro = np.zeros(n_bins, dtype=np.float64)
    n_regions = n_images = 0
    stop = object()
    for mask, amap in itertools.zip_longest(masks_true, maps, fillvalue=stop):
        if mask is stop or amap is stop:
            raise SpecError(f"{func}: masks_true and maps hold different numbers of images")
        amap = _check_map(amap, func)
        truth = np.asarray(mask)
        if truth.shape != amap.shape:
            raise ScanValidationError(
                f"{func}: image {n_images}: mask shape {truth.shape} != map shape {amap.shape}"
            )
        truth = truth.astype(bool, copy=False)
        if amap.min() < lo or amap.max() > hi:
            raise ScanValidationError(
                f"{func}: image {n_images}: scores outside score_range ({lo}, {hi})"
            )
        idx = np.minimum(((amap - lo) * scale).astype(np.int64), n_bins - 1)
        pos += np.bincount(idx[truth], minlength=n_bins)
        neg += np.bincount(idx[~truth], minlength=n_bins)
        if truth.any():
            import cv2

            n_labels, labels = cv2.connectedComponents(truth.astype(np.uint8), connectivity=8)
            inv_size = 1.0 / np.maximum(np.bincount(labels.ravel(), minlength=n_labels), 1)
            pro += np.bincount(idx[truth], weights=inv_size[labels[truth]], minlength=n_bins)
            n_regions += n_labels - 1
        n_images += 1
    if n_images == 0:
        raise SpecError(f"{func}: no images")
    return PixelHistogram(pos, neg, pro, n_regions, (lo, hi))


def _check_map(amap: Any, func: str) -> np.ndarray:
    a = np.asarray(amap)
    if a.ndim != 2 or a.size == 0 or a.dtype.kind not in "biuf":
        raise ScanValidationError(
            f"{func}: each map must be a non-empty 2-D numeric array, got shape {a.shape}"
        )
    a = a.astype(np.float64, copy=False)
    if not np.isfinite(a).all():
        raise ScanValidationError(f"{func}: maps must be finite (found NaN or inf)")
    return a
