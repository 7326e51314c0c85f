from __future__ import annotations

import re

import numpy as np
import pytest

from scanlab.errors import ScanValidationError, SpecError
from scanlab.evaluate import (
    Mark,
    aupro,
    auroc,
    average_precision,
    bootstrap_ci,
    detection_rate_at_fpr,
    froc,
    match_marks,
    pixel_auroc,
    roc_curve,
)
from scanlab.synth import AnswerKey


def _brute_auroc(y, s):
    y = np.asarray(y, bool)
    p, n = np.asarray(s)[y], np.asarray(s)[~y]
    diff = p[:, None] - n[None, :]
    return float(((diff > 0) + 0.5 * (diff == 0)).mean())


# ---- image-level metrics -----------------------------------------------------------------------


def test_auroc_equals_pairwise_count_with_ties():
    rng = np.random.default_rng(11)
    for _ in range(20):
        y = rng.random(150) < 0.3
        s = rng.integers(0, 6, size=150) + y * rng.integers(0, 3, size=150)  # many ties
        assert auroc(y, s) == pytest.approx(_brute_auroc(y, s), abs=1e-12)


def test_auroc_is_area_under_roc_curve():
    rng = np.random.default_rng(12)
    y = rng.random(300) < 0.5
    s = np.round(rng.normal(y * 1.0, 1.0), 1)
    fpr, tpr, thr = roc_curve(y, s)
    assert auroc(y, s) == pytest.approx(np.trapezoid(tpr, fpr))
    assert (fpr[0], tpr[0], fpr[-1], tpr[-1]) == (0, 0, 1, 1)
    assert np.all(np.diff(fpr) >= 0) and np.all(np.diff(tpr) >= 0)
    assert thr[0] == np.inf and np.all(np.diff(thr) < 0)
    # fpr[k] is the fraction of negatives with score >= thr[k].
    for k in (1, 5, len(thr) - 1):
        assert fpr[k] == pytest.approx(np.mean(s[~y] >= thr[k]))


def test_auroc_extremes():
    assert auroc([0, 0, 1, 1], [1, 2, 3, 4]) == 1.0
    assert auroc([1, 1, 0, 0], [1, 2, 3, 4]) == 0.0
    assert auroc([0, 1, 0, 1], [5, 5, 5, 5]) == 0.5


def test_average_precision_known_cases():
    assert average_precision([1, 0, 1, 0], [0.9, 0.8, 0.7, 0.1]) == pytest.approx(5 / 6)
    # 1 at rank 1, 2 at rank 3, 3 at rank 6: (1 + 2/3 + 3/6) / 3
    y = [1, 0, 1, 0, 0, 1]
    assert average_precision(y, [6, 5, 4, 3, 2, 1]) == pytest.approx((1 + 2 / 3 + 1 / 2) / 3)
    assert average_precision([1, 1, 0], [3, 2, 1]) == 1.0
    assert average_precision([1, 0], [0.5, 0.5]) == 0.5  # a tie enters as one threshold
    assert average_precision([1, 1], [0.2, 0.4]) == 1.0  # no negatives is allowed


def test_detection_rate_at_fpr_threshold_rule():
    neg = np.arange(100.0)  # 0..99
    pos = np.array([99.5, 98.5, 98.0, 50.0])
    y = np.r_[np.zeros(100), np.ones(4)]
    s = np.r_[neg, pos]
    # fpr 1 %: one negative may pass; t = 98 (2nd highest); detected: score > 98.
    assert detection_rate_at_fpr(y, s, fpr=0.01) == 0.5
    # fpr 0: t = the highest negative (99).
    assert detection_rate_at_fpr(y, s, fpr=0.0) == 0.25
    assert detection_rate_at_fpr(y, s, fpr=0.45) == 0.75  # t = 54
    assert detection_rate_at_fpr(y, s, fpr=0.5) == 1.0  # t = 49 < 50
    assert detection_rate_at_fpr(y, s, fpr=1.0) == 1.0
    # 0.29 * 100 is 28.999... in floating point; still 29 negatives allowed (t = 70).
    assert detection_rate_at_fpr(y, s, fpr=0.29) == 0.75


def test_detection_rate_never_exceeds_the_target_fpr():
    rng = np.random.default_rng(3)
    y = rng.random(500) < 0.2
    s = np.round(rng.normal(y * 1.5, 1), 1)  # ties at the threshold
    for fpr in (0.01, 0.05, 0.1, 0.3):
        rate = detection_rate_at_fpr(y, s, fpr=fpr)
        neg = np.sort(s[~y])[::-1]
        t = neg[int(fpr * neg.size)]
        assert np.mean(neg > t) <= fpr
        assert rate == np.mean(s[y] > t)


@pytest.mark.parametrize(
    ("y", "s", "msg"),
    [
        ([0, 1, 2], [1, 2, 3], "y_true"),
        ([[0, 1]], [[1, 2]], "y_true"),
        ([0, 1], [1, 2, 3], "scores"),
        ([0, 1], [1, np.nan], "finite"),
        ([0, 1], ["a", "b"], "scores"),
        ([1, 1], [1, 2], "both"),
        ([0, 0], [1, 2], "both"),
    ],
)
def test_bad_labels_and_scores(y, s, msg):
    with pytest.raises(SpecError, match=msg):
        auroc(y, s)


# ---- pixel metrics ----------------------------------------------------------------------------


def _random_maps(seed, n=12, shape=(24, 32)):
    rng = np.random.default_rng(seed)
    masks = np.zeros((n, *shape), dtype=bool)
    for i in range(n):
        for _ in range(rng.integers(0, 3)):
            r, c = rng.integers(0, shape[0] - 6), rng.integers(0, shape[1] - 8)
            masks[i, r : r + rng.integers(2, 6), c : c + rng.integers(2, 8)] = True
    maps = rng.random(masks.shape) * 0.6 + masks * rng.random(masks.shape) * 0.5
    return masks, maps


def test_pixel_auroc_histogram_matches_exact_auroc():
    masks, maps = _random_maps(21)
    exact = auroc(masks.ravel(), maps.ravel())
    assert pixel_auroc(masks, maps) == pytest.approx(exact, abs=1e-3)
    # Streaming from a generator with a fixed range gives the same answer.
    streamed = pixel_auroc(iter(list(masks)), (m for m in maps), score_range=(0.0, 1.1))
    assert streamed == pytest.approx(exact, abs=1e-3)


def test_pixel_auroc_input_checks():
    masks, maps = _random_maps(22, n=3)
    with pytest.raises(SpecError, match="score_range"):
        pixel_auroc(masks, (m for m in maps))
    with pytest.raises(ScanValidationError, match="score_range"):
        pixel_auroc(masks, maps, score_range=(0.0, 0.5))
    with pytest.raises(SpecError, match="different numbers"):
        pixel_auroc(masks[:2], maps)
    with pytest.raises(ScanValidationError, match="shape"):
        pixel_auroc(masks[:, :, :-1], maps)
    bad = maps.copy()
    bad[0, 0, 0] = np.nan
    with pytest.raises(ScanValidationError, match="finite"):
        pixel_auroc(masks, bad)
    with pytest.raises(SpecError, match="both"):
        pixel_auroc(np.zeros_like(masks), maps)


def test_aupro_perfect_map_is_one():
    masks, _ = _random_maps(23)
    assert aupro(masks, masks.astype(float)) == pytest.approx(1.0, abs=1e-12)
    assert aupro(masks, masks.astype(float), max_fpr=1.0) == pytest.approx(1.0, abs=1e-12)


def test_aupro_constructed_case():
    # Regions A (2 px, both 0.9) and B (2 px: 0.9 and 0.1); 10 normal pixels: one 0.5, nine 0.
    truth = np.array([[1, 1, 0, 0, 1, 1, 0], [0] * 7], dtype=bool)
    amap = np.array([[0.9, 0.9, 0.5, 0, 0.9, 0.1, 0], [0] * 7])
    # Curve: (0, 0.75) until FPR 0.1, where it rises to 1; area to 0.3 = 0.075 + 0.2.
    assert aupro([truth], [amap]) == pytest.approx(0.275 / 0.3, abs=1e-12)
    # Up to FPR 0.1 the curve is flat at 0.75 (A fully found, B half).
    assert aupro([truth], [amap], max_fpr=0.1) == pytest.approx(0.75)


def test_aupro_weights_regions_equally_whatever_their_size():
    truth = np.zeros((10, 10), dtype=bool)
    truth[:4, :5] = True  # 20 px, found at the top threshold
    truth[8, 8] = True  # 1 px, never above the normal pixels
    amap = truth * 1.0
    amap[8, 8] = 0.0
    # PRO 0.5 at FPR 0 (pixel recall would be 20/21), then straight to (1, 1): at FPR 0.3
    # PRO is 0.65, so the area is 0.3 * (0.5 + 0.65) / 2.
    assert aupro([truth], [amap]) == pytest.approx(0.575)


def _exact_aupro(masks, maps, max_fpr):
    """PRO at every distinct score, regions with 8-connectivity, on all pixels at once."""
    import cv2

    labels = []
    offset = 0
    for m in masks:
        n, lab = cv2.connectedComponents(m.astype(np.uint8), connectivity=8)
        labels.append(np.where(lab > 0, lab + offset, 0))
        offset += n - 1
    labels, scores = np.stack(labels).ravel(), maps.ravel()
    normal = scores[labels == 0]
    fprs, pros = [0.0], [0.0]
    for t in np.unique(scores)[::-1]:
        above = scores >= t
        fprs.append(np.mean(normal >= t))
        pros.append(np.mean([above[labels == r].mean() for r in range(1, offset + 1)]))
    fprs, pros = np.array(fprs), np.array(pros)
    i = np.flatnonzero(fprs > max_fpr)[0]
    w = (max_fpr - fprs[i - 1]) / (fprs[i] - fprs[i - 1])
    x = np.r_[fprs[:i], max_fpr]
    y = np.r_[pros[:i], pros[i - 1] + w * (pros[i] - pros[i - 1])]
    return np.trapezoid(y, x) / max_fpr


def test_aupro_matches_exact_computation():
    masks, maps = _random_maps(24, n=4, shape=(16, 20))
    maps = np.round(maps, 3)  # ties, and scores off the bin edges
    for max_fpr in (0.3, 0.05):
        assert aupro(masks, maps, max_fpr=max_fpr) == pytest.approx(
            _exact_aupro(masks, maps, max_fpr), abs=1e-3
        )


def test_aupro_of_uninformative_map_is_about_max_fpr_over_two():
    rng = np.random.default_rng(25)
    masks = np.zeros((4, 128, 128), dtype=bool)
    masks[:, 20:60, 20:60] = True
    masks[:, 80:90, 30:100] = True
    assert aupro(masks, rng.random(masks.shape)) == pytest.approx(0.15, abs=0.01)


# ---- FROC -------------------------------------------------------------------------------------


def _rect(mark_id, r, c, conf, threat_class="cash"):
    return Mark(mark_id, "rectangle", [(r, c), (r + 4, c + 4)], threat_class, confidence=conf)


def test_froc_constructed_case(make_object):
    keys = [
        AnswerKey(
            "s1",
            (40, 40),
            [make_object("o1", "cash", (0, 0, 5, 5)), make_object("o2", "cash", (20, 20, 25, 25))],
        ),
        AnswerKey("s2", (40, 40), [make_object("o3", "cash", (10, 10, 15, 15))]),
        AnswerKey("s3", (40, 40)),
    ]
    dets = [
        [_rect("a", 0, 0, 0.9), _rect("b", 30, 30, 0.6), _rect("c", 20, 20, 0.3)],
        [_rect("d", 30, 0, 0.8), _rect("e", 10, 10, 0.6)],
        [_rect("f", 0, 30, 0.7)],
    ]
    curve = froc(keys, dets)
    np.testing.assert_allclose(curve.thresholds, [np.inf, 0.9, 0.8, 0.7, 0.6, 0.3])
    np.testing.assert_allclose(curve.mean_false_positives, np.array([0, 0, 1, 2, 3, 3]) / 3)
    np.testing.assert_allclose(curve.sensitivity, np.array([0, 1, 1, 1, 2, 3]) / 3)
    assert curve.sensitivity_at(0.5) == pytest.approx(1 / 3)
    assert curve.sensitivity_at(1.0) == 1.0
    # A custom matcher: the centroid rule with class required (all marks say "cash").
    strict = froc(keys, dets, match=lambda k, m: match_marks(k, m, rule="centroid"))
    np.testing.assert_allclose(strict.sensitivity, curve.sensitivity)


def test_froc_rematches_at_each_threshold(make_object):
    # Greedy-by-IoU at the low threshold would give the object to the low-scoring tight box;
    # at the high threshold only the loose box exists and must count as a hit.
    key = AnswerKey("s", (40, 40), [make_object("o", "cash", (10, 10, 15, 15))])
    loose = Mark("loose", "rectangle", [(8, 8), (17, 17)], "cash", confidence=0.9)
    tight = Mark("tight", "rectangle", [(10, 10), (14, 14)], "cash", confidence=0.2)
    curve = froc([key], [[loose, tight]])
    np.testing.assert_allclose(curve.sensitivity, [0, 1, 1])
    np.testing.assert_allclose(curve.mean_false_positives, [0, 0, 1])


def test_froc_bad_input(make_object):
    with pytest.raises(SpecError, match="one per image"):
        froc([AnswerKey("s", (8, 8))], [])
    with pytest.raises(SpecError, match="no objects"):
        froc([AnswerKey("s", (8, 8))], [[]])


# ---- bootstrap --------------------------------------------------------------------------------


def test_bootstrap_ci_contains_estimate_and_is_deterministic():
    rng = np.random.default_rng(31)
    y = rng.random(200) < 0.4
    s = rng.normal(y * 1.0, 1.0)
    ci = bootstrap_ci(auroc, y, s, n=300, seed=5)
    assert ci.estimate == auroc(y, s)
    assert ci.low < ci.estimate < ci.high
    assert 0.02 < ci.se < 0.06  # roughly the Hanley-McNeil SE of 0.036 for AUC 0.76, 80/120
    assert bootstrap_ci(auroc, y, s, n=300, seed=5) == ci
    assert bootstrap_ci(auroc, y, s, n=300, seed=6) != ci
    narrow = bootstrap_ci(auroc, y, s, n=300, seed=5, level=0.5)
    assert ci.low < narrow.low < narrow.high < ci.high


def test_bootstrap_resamples_images_of_pixel_maps_and_lists():
    masks, maps = _random_maps(32, n=10)
    ci = bootstrap_ci(pixel_auroc, masks, maps, n=40, seed=0)
    assert ci.low <= ci.estimate <= ci.high
    as_lists = bootstrap_ci(pixel_auroc, list(masks), list(maps), n=40, seed=0)
    assert as_lists == ci


def test_bootstrap_drops_failed_resamples_and_refuses_when_most_fail():
    y, s = [0, 0, 0, 0, 1, 0, 0, 0], [1, 2, 3, 4, 5, 6, 7, 8]
    # One positive in eight: about a third of resamples lack it and are dropped.
    ci = bootstrap_ci(auroc, y, s, n=100, seed=0)
    assert ci.low <= ci.estimate <= ci.high

    def picky(x):  # fails unless the resample holds exactly two ones: ~70 % of the time
        if sum(x) != 2:
            raise SpecError("not two")
        return 1.0

    with pytest.raises(SpecError, match="failed"):
        bootstrap_ci(picky, [1, 1] + [0] * 18, n=100, seed=0)
    with pytest.raises(SpecError, match="equally long"):
        bootstrap_ci(auroc, [0, 1], [1, 2, 3])


def test_pixel_histograms_add_up_to_the_whole():
    from scanlab.evaluate import PixelHistogram

    rng = np.random.default_rng(11)
    masks = rng.random((6, 20, 30)) > 0.8
    maps = np.clip(masks * 0.3 + rng.random((6, 20, 30)) * 0.7, 0, 1)
    whole = PixelHistogram.from_images(masks, maps, score_range=(0.0, 1.0), n_bins=500)
    parts = [
        PixelHistogram.from_images(
            masks[i : i + 1], maps[i : i + 1], score_range=(0.0, 1.0), n_bins=500
        )
        for i in range(6)
    ]
    total = parts[0]
    for part in parts[1:]:
        total = total + part
    assert total.auroc() == whole.auroc()
    assert total.aupro() == pytest.approx(whole.aupro(), abs=1e-12)
    back = PixelHistogram.from_dict(total.to_dict())
    assert back.auroc() == whole.auroc()
    assert back.n_regions == whole.n_regions


# ---- F1-max and pixel precision-recall -----------------------------------------------------------


def _brute_f1_max(y, s):
    y = np.asarray(y, bool)
    s = np.asarray(s, float)
    best = 0.0
    for t in np.unique(s):
        called = s >= t
        tp, fp, fn = np.sum(called & y), np.sum(called & ~y), np.sum(~called & y)
        best = max(best, 2 * tp / (2 * tp + fp + fn))
    return best


def test_f1_max_equals_a_sweep_over_every_threshold():
    from scanlab.evaluate import f1_max

    rng = np.random.default_rng(4)
    for _ in range(10):
        y = rng.random(60) < 0.3
        y[0] = True
        s = rng.integers(0, 8, size=60) + 2 * y  # ties
        assert f1_max(y, s) == pytest.approx(_brute_f1_max(y, s))
    assert f1_max([1, 1, 0], [0.9, 0.8, 0.1]) == 1.0


def test_pixel_precision_recall_from_histogram_matches_per_pixel_values():
    from scanlab.evaluate import PixelHistogram

    rng = np.random.default_rng(8)
    masks = [rng.random((12, 15)) < 0.2 for _ in range(3)]
    # Scores on a grid of 1/50 that falls inside single bins: binning loses nothing.
    maps = [
        np.round(np.clip(0.3 * m + rng.random(m.shape) * 0.7, 0, 0.98) * 50) / 50 + 0.001
        for m in masks
    ]
    hist = PixelHistogram.from_images(masks, maps, score_range=(0.0, 1.0), n_bins=1000)
    y = np.concatenate([m.ravel() for m in masks])
    s = np.concatenate([m.ravel() for m in maps])
    assert hist.average_precision() == pytest.approx(average_precision(y, s))
    assert hist.f1_max() == pytest.approx(_brute_f1_max(y, s))


# ---- exact messages, boundaries and hand-built histograms (mutation survivors) ----------------


@pytest.mark.parametrize(
    "func", ["roc_curve", "average_precision", "f1_max", "detection_rate_at_fpr"]
)
def test_each_metric_names_itself_when_refusing_labels(func):
    from scanlab import evaluate

    with pytest.raises(
        SpecError, match=rf"^{func}: y_true must be a 1-D array of 0/1 or bool labels$"
    ):
        getattr(evaluate, func)([0, 2], [0.1, 0.2])


def test_precision_metrics_need_no_negatives():
    from scanlab.evaluate import f1_max

    # Every sample positive: at the lowest threshold precision and recall are both 1.
    assert f1_max([1, 1, 1], [0.2, 0.5, 0.9]) == 1.0
    assert average_precision([1, 1, 1], [0.2, 0.5, 0.9]) == 1.0


def test_detection_rate_at_the_default_one_percent_and_at_a_rate_that_rounds_up():
    # 200 negatives scored 0..199: at 1 % two may pass, so t = 197, the third highest.
    y = [0] * 200 + [1] * 4
    s = [*range(200), 196.5, 197, 197.5, 250]
    assert detection_rate_at_fpr(y, s) == 0.5
    # 10 negatives at fpr 0.26: floor(2.6) = 2 may pass (not round(2.6) = 3): t = 7.
    y = [0] * 10 + [1] * 3
    s = [*range(10), 6.5, 7.5, 9.5]
    assert detection_rate_at_fpr(y, s, fpr=0.26) == pytest.approx(2 / 3)
    with pytest.raises(
        SpecError, match=r"^detection_rate_at_fpr: fpr must be in \[0, 1\], got 1\.5$"
    ):
        detection_rate_at_fpr(y, s, fpr=1.5)


def _histogram(pos, neg, pro, n_regions=1, score_range=(0.0, 1.0)):
    from scanlab.evaluate import PixelHistogram

    return PixelHistogram(
        np.asarray(pos, np.int64),
        np.asarray(neg, np.int64),
        np.asarray(pro, float),
        n_regions,
        score_range,
    )


def test_pixel_histogram_json_is_sparse_and_reads_back_exactly():
    from scanlab.evaluate import PixelHistogram

    # Bins that hold one positive pixel only, one negative only, a region share only.
    h = _histogram([1, 0, 0, 0, 0, 0], [0, 0, 1, 0, 0, 0], [0, 0, 0, 0, 0.5, 0], 2, (0.0, 2.0))
    d = h.to_dict()
    assert d == {
        "n_bins": 6, "score_range": [0.0, 2.0], "bins": [0, 2, 4], "pos": [1, 0, 0],
        "neg": [0, 1, 0], "pro": [0.0, 0.0, 0.5], "n_regions": 2,
    }  # fmt: skip
    back = PixelHistogram.from_dict(d)
    assert (
        back.pos.dtype == np.int64 and back.neg.dtype == np.int64 and back.pro.dtype == np.float64
    )
    assert back.pos.tolist() == h.pos.tolist() and back.neg.tolist() == h.neg.tolist()
    assert back.pro.tolist() == h.pro.tolist()
    assert (back.n_regions, back.score_range) == (2, (0.0, 2.0))
    # An image with nothing in it (no bin filled) reads back too.
    empty = PixelHistogram.from_dict(_histogram([0] * 4, [0] * 4, [0] * 4, 0).to_dict())
    assert empty.pos.tolist() == [0] * 4 and empty.score_range == (0.0, 1.0)


def test_pixel_histograms_of_other_bins_are_not_added():
    a = _histogram([1, 0], [0, 1], [1.0, 0])
    message = r"^pixel histograms with different bins cannot be added$"
    with pytest.raises(SpecError, match=message):
        a + _histogram([1, 0], [0, 1], [1.0, 0], score_range=(0.0, 2.0))
    with pytest.raises(SpecError, match=message):
        a + _histogram([1, 0, 0], [0, 1, 0], [1.0, 0, 0])
    total = a + a
    assert (total.pos.tolist(), total.neg.tolist(), total.n_regions) == ([2, 0], [0, 2], 2)


def test_pixel_precision_of_hand_built_histograms():
    # Bins ascending in score. One positive pixel, in the top bin: AP = F1-max = 1.
    one = _histogram([0, 0, 1], [1, 1, 0], [0, 0, 1.0])
    assert one.average_precision() == 1.0 and one.f1_max() == 1.0
    # Positives in the top and the bottom bin, a negative between: from the top, precision
    # 1/1 at recall 1/2, then 2/3 at recall 1: AP = 1/2 + (1/2)(2/3).
    two = _histogram([1, 0, 1], [0, 1, 0], [0.5, 0, 0.5])
    assert two.average_precision() == pytest.approx(0.5 + 1 / 3)
    none = _histogram([0, 0], [1, 1], [0, 0], 0)
    with pytest.raises(
        SpecError, match=r"^pixel average precision: the masks need anomalous pixels$"
    ):
        none.average_precision()
    with pytest.raises(SpecError, match=r"^pixel F1-max: the masks need anomalous pixels$"):
        none.f1_max()


def test_froc_sensitivity_before_its_first_point_and_with_no_images():
    from scanlab.evaluate import FrocCurve

    curve = FrocCurve(np.array([0.5, 1.0]), np.array([0.2, 0.6]), np.array([0.9, 0.5]))
    assert curve.sensitivity_at(0.25) == 0.0  # no point with so few false positives
    assert (curve.sensitivity_at(0.5), curve.sensitivity_at(3.0)) == (0.2, 0.6)
    with pytest.raises(SpecError, match=r"^froc: no images$"):
        froc([], [])
    with pytest.raises(
        SpecError, match=r"^froc: the answer keys hold no objects; sensitivity is undefined$"
    ):
        froc([AnswerKey("s", (8, 8))], [[]])


def test_aupro_of_a_hand_built_histogram_cut_inside_a_segment():
    # Bins ascending in score; 4 negative pixels, one region covered by the top two bins.
    # From the top: (FPR, PRO) = (0, 0), (1/4, 1/2), (1/2, 1), (1, 1). Cut at 0.3, a fifth of
    # the way to 1/2: PRO 0.6. Area (1/4)(0 + 1/2)/2 + (0.05)(1/2 + 0.6)/2 = 0.09; / 0.3.
    h = _histogram([0, 1, 1], [2, 1, 1], [0, 0.5, 0.5])
    assert h.aupro(max_fpr=0.3) == pytest.approx(0.3)
    assert h.aupro(max_fpr=1.0) == pytest.approx((0.25 * 0.25 + 0.25 * 0.75 + 0.5) / 1.0)
    # A single negative pixel, below the region: PRO reaches 1 before any false positive.
    assert _histogram([0, 1], [1, 0], [0, 1.0]).aupro(max_fpr=1.0) == 1.0
    with pytest.raises(SpecError, match=r"^aupro: max_fpr must be in \(0, 1\], got 0\.0$"):
        h.aupro(max_fpr=0.0)
    with pytest.raises(SpecError, match=r"^aupro: max_fpr must be in \(0, 1\], got 1\.5$"):
        h.aupro(max_fpr=1.5)
    message = r"^aupro: the masks need both anomalous and normal pixels$"
    with pytest.raises(SpecError, match=message):
        _histogram([0, 0], [1, 1], [0, 0], 0).aupro()  # no region
    with pytest.raises(SpecError, match=message):
        _histogram([1, 1], [0, 0], [0.5, 0.5], 1).aupro()  # no normal pixel


def test_aupro_passes_its_bins_and_range_on():
    # One image, a region of 2 pixels scored 0.9 and 0.6, normal pixels 0.55 and 0.1. Fine
    # bins rank the region first: AUPRO 1. Two bins over (0, 1) put 0.6 and 0.55 together:
    # (FPR, PRO) = (0, 0), (1/2, 1), (1, 1), area 1/4 + 1/2.
    truth = np.array([[[True, True, False, False]]])
    amap = np.array([[[0.9, 0.6, 0.55, 0.1]]])
    assert aupro(truth, amap, max_fpr=1.0) == 1.0
    assert aupro(truth, amap, max_fpr=1.0, score_range=(0.0, 1.0), n_bins=2) == 0.75
    # A one-shot iterator of maps needs the range, and is then read once.
    assert aupro(truth, iter(amap), max_fpr=1.0, score_range=(0.0, 1.0)) == 1.0
    with pytest.raises(SpecError, match=r"^aupro: masks_true and maps hold different numbers"):
        aupro(truth, [amap[0], amap[0]], score_range=(0.0, 1.0))


def _percentile_bootstrap_by_hand(metric, values, n, seed, level):
    """The percentile bootstrap as Efron & Tibshirani describe it, on one array."""
    rng = np.random.default_rng(seed)
    reps = [metric(values[rng.integers(0, len(values), size=len(values))]) for _ in range(n)]
    low, high = np.quantile(reps, [(1 - level) / 2, (1 + level) / 2])
    return low, high, np.std(reps, ddof=1)


def test_bootstrap_ci_is_the_percentile_bootstrap():
    values = np.random.default_rng(3).normal(10.0, 2.0, 40)

    def total(a):
        return float(a.sum())  # an array's method: the resample must stay an array

    ci = bootstrap_ci(total, values)  # the defaults: 1000 resamples, seed 0, 95 %
    low, high, se = _percentile_bootstrap_by_hand(total, values, 1000, 0, 0.95)
    assert ci.estimate == total(values)
    assert (ci.low, ci.high, ci.se) == pytest.approx((low, high, se), rel=1e-12)
    ci = bootstrap_ci(total, values, n=2, seed=4, level=0.5)
    low, high, se = _percentile_bootstrap_by_hand(total, values, 2, 4, 0.5)
    assert (ci.low, ci.high, ci.se) == pytest.approx((low, high, se), rel=1e-12)
    one = bootstrap_ci(total, np.array([5.0]), n=3)  # one image: every resample is itself
    assert (one.estimate, one.low, one.high, one.se) == (5.0, 5.0, 5.0, 0.0)


def test_bootstrap_refuses_when_half_or_fewer_fail_no_more():
    def failing(pattern):
        calls = iter([True, *pattern])  # the first call is the estimate on all the data

        def metric(a):
            if not next(calls):
                raise SpecError("no")
            return float(len(a))

        return metric

    # Half fail: kept. Two of three fail: refused, with the count.
    assert bootstrap_ci(failing([True, False, True, False]), [1, 2], n=4).estimate == 2.0
    with pytest.raises(
        SpecError,
        match=r"^bootstrap_ci: the metric failed on 2 of 3 resamples; too few images of some kind",
    ):
        bootstrap_ci(failing([True, False, False]), [1, 2], n=3)


def test_bootstrap_and_auroc_messages():
    with pytest.raises(SpecError, match=r"^bootstrap_ci: give at least one array to resample$"):
        bootstrap_ci(auroc)
    with pytest.raises(
        SpecError,
        match=r"^bootstrap_ci: arrays must be non-empty and equally long, got lengths \[0\]$",
    ):
        bootstrap_ci(auroc, [])
    with pytest.raises(SpecError, match=r"^bootstrap_ci: n must be at least 2, got 1$"):
        bootstrap_ci(auroc, [0, 1], [1, 2], n=1)
    for level in (0.0, 1.0, 1.5):
        with pytest.raises(
            SpecError, match=rf"^bootstrap_ci: level must be in \(0, 1\), got {level}$"
        ):
            bootstrap_ci(auroc, [0, 1], [1, 2], level=level)
    for y in ([1, 1], [0, 0]):
        with pytest.raises(SpecError, match=r"^auroc: y_true needs both positives and negatives$"):
            auroc(y, [1, 2])
    with pytest.raises(
        SpecError, match=r"^auroc: scores must be a 1-D numeric array as long as y_true \(2\)$"
    ):
        auroc([0, 1], [[1, 2], [3]])  # ragged: not an array at all


def test_pixel_auroc_passes_its_bins_and_names_itself():
    # Region pixels 0.9 and 0.6, normal 0.55 and 0.1: fine bins separate them (AUROC 1); two
    # bins over (0, 1) put 0.9, 0.6 and 0.55 together: of the 4 pairs, 2 right and 2 tied.
    truth = np.array([[[True, True, False, False]]])
    amap = np.array([[[0.9, 0.6, 0.55, 0.1]]])
    assert pixel_auroc(truth, amap) == 1.0
    assert pixel_auroc(truth, amap, score_range=(0.0, 1.0), n_bins=2) == 0.75
    with pytest.raises(
        SpecError, match=r"^pixel_auroc: masks_true and maps hold different numbers"
    ):
        pixel_auroc(truth, [amap[0], amap[0]], score_range=(0.0, 1.0))


def test_pixel_histogram_bins_by_hand_off_the_unit_range():
    from scanlab.evaluate import PixelHistogram

    # Scores over (2, 4) in 4 bins of 0.5: 2.0 -> 0, 2.6 -> 1, 3.5 -> 3, 4.0 (the top edge)
    # -> 3. Two one-pixel regions (not touching), each its own region of weight 1.
    truth = np.array([[True, False, True, False]])
    amap = np.array([[2.0, 2.6, 3.5, 4.0]])
    for score_range in [(2.0, 4.0), None]:  # None: the maps' own range, here the same
        h = PixelHistogram.from_images([truth], [amap], score_range=score_range, n_bins=4)
        assert h.pos.tolist() == [1, 0, 0, 1] and h.neg.tolist() == [0, 1, 0, 1]
        assert h.pro.tolist() == [1.0, 0.0, 0.0, 1.0] and h.n_regions == 2
        assert h.pos.dtype == np.int64 and h.neg.dtype == np.int64
        assert h.score_range == (2.0, 4.0)
    # A constant map spans one unit from its value; a 1 x 1 map is a map.
    flat = PixelHistogram.from_images([truth], [np.full((1, 4), 3.0)], n_bins=2)
    assert flat.score_range == (3.0, 4.0) and flat.pos.tolist() == [2, 0]
    one = PixelHistogram.from_images([[[True]]], [[[0.5]]], n_bins=2)  # (0.5, 1.5): bin 0
    assert one.pos.tolist() == [1, 0] and one.n_regions == 1


def test_pixel_histogram_refusals_name_the_function_and_the_image():
    from scanlab.evaluate import PixelHistogram

    truth, amap = np.zeros((1, 3, 3), bool), np.zeros((1, 3, 3))
    cases = [
        ({"n_bins": 1}, r"^f: n_bins must be at least 2, got 1$"),
        (
            {"score_range": (1.0, 1.0)},
            r"^f: score_range must be finite \(low, high\) with high > low$",
        ),
        ({"score_range": (0.0, np.inf)}, r"^f: score_range must be finite"),
        ({"score_range": (-np.inf, 1.0)}, r"^f: score_range must be finite"),
    ]
    for kwargs, message in cases:
        with pytest.raises(SpecError, match=message):
            PixelHistogram.from_images(truth, amap, func="f", **kwargs)
    with pytest.raises(SpecError, match=r"^f: no maps given$"):
        PixelHistogram.from_images([], [], func="f")
    with pytest.raises(SpecError, match=r"^f: no images$"):
        PixelHistogram.from_images([], [], score_range=(0.0, 1.0), func="f")
    bad_maps = [np.zeros((0, 0)), np.zeros((2, 2, 2)), np.array([["a"]])]
    for bad in bad_maps:
        shape = re.escape(str(bad.shape))
        for score_range in [None, (0.0, 1.0)]:
            with pytest.raises(
                ScanValidationError,
                match=rf"^f: each map must be a non-empty 2-D numeric array, got shape {shape}$",
            ):
                PixelHistogram.from_images(
                    [np.zeros(bad.shape, bool)], [bad], score_range=score_range, func="f"
                )
    # The third image's mask does not fit its map: the message counts from 0.
    masks = [np.zeros((3, 3), bool)] * 2 + [np.zeros((2, 3), bool)]
    with pytest.raises(
        ScanValidationError, match=r"^f: image 2: mask shape \(2, 3\) != map shape \(3, 3\)$"
    ):
        PixelHistogram.from_images(masks, [np.zeros((3, 3))] * 3, score_range=(0.0, 1.0), func="f")


def test_pixel_auroc_of_one_pixel_each_and_of_one_kind_only():
    from scanlab.evaluate import PixelHistogram

    assert _histogram([0, 1], [1, 0], [0, 1.0]).auroc() == 1.0  # the one pair ranked right
    assert _histogram([1, 0], [0, 1], [1.0, 0]).auroc() == 0.0
    message = r"^pixel AUROC: the masks need both anomalous and normal pixels$"
    for pos, neg in [([0, 0], [1, 1]), ([1, 1], [0, 0])]:
        with pytest.raises(SpecError, match=message):
            _histogram(pos, neg, [0, 0], 0).auroc()
    with pytest.raises(SpecError, match=r"^PixelHistogram: no maps given$"):
        PixelHistogram.from_images([], [])
