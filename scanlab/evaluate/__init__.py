"""Scoring: trainees' and detectors' marks matched to answer keys, signal-detection scores
(d', A') with their reliability, and detector metrics (AUROC, AP, AUPRO, FROC, bootstrap).

>>> from scanlab.evaluate import Mark, match_marks, d_prime   # doctest: +SKIP
"""

from scanlab.evaluate._batch import BatchResults, evaluate_dataset, load_results, summarise
from scanlab.evaluate._compare import (
    DelongResult,
    McNemarResult,
    compare_detectors,
    delong_test,
    mcnemar_test,
    paired_auroc_bootstrap,
    threshold_at_fpr,
)
from scanlab.evaluate._interval import ConfidenceInterval
from scanlab.evaluate._marks import MARK_SHAPES, Mark, read_marks, write_marks
from scanlab.evaluate._matching import MATCH_RULES, Hit, MatchResult, match_marks
from scanlab.evaluate._metrics import (
    FrocCurve,
    PixelHistogram,
    aupro,
    auroc,
    average_precision,
    bootstrap_ci,
    detection_rate_at_fpr,
    f1_max,
    froc,
    pixel_auroc,
    roc_curve,
)
from scanlab.evaluate._sdt import (
    RATE_CORRECTIONS,
    RELIABLE_N_TRIALS,
    RatingRoc,
    a_prime,
    area_ci,
    d_prime,
    d_prime_ci,
    rate_ci,
    rates_with_correction,
    rating_roc,
    reliability_note,
)

__all__ = [
    "MARK_SHAPES",
    "MATCH_RULES",
    "RATE_CORRECTIONS",
    "RELIABLE_N_TRIALS",
    "BatchResults",
    "ConfidenceInterval",
    "DelongResult",
    "FrocCurve",
    "Hit",
    "Mark",
    "MatchResult",
    "McNemarResult",
    "PixelHistogram",
    "RatingRoc",
    "a_prime",
    "area_ci",
    "aupro",
    "auroc",
    "average_precision",
    "bootstrap_ci",
    "compare_detectors",
    "d_prime",
    "d_prime_ci",
    "delong_test",
    "detection_rate_at_fpr",
    "evaluate_dataset",
    "f1_max",
    "froc",
    "load_results",
    "match_marks",
    "mcnemar_test",
    "paired_auroc_bootstrap",
    "pixel_auroc",
    "rate_ci",
    "rates_with_correction",
    "rating_roc",
    "read_marks",
    "reliability_note",
    "roc_curve",
    "summarise",
    "threshold_at_fpr",
    "write_marks",
]
