"""How simulated exports compare with real ones: a few image statistics of an 8-bit export, and
the same statistics of 242 real container exports (per commodity), which ship as numbers only.

The real statistics (``data/real_export_statistics.csv``: quartiles per commodity) were measured
on real 8-bit JPEG exports of one customs administration's container scanners; the images
themselves are not part of scanlab. The definitions below are those the table was made with.
"""

from __future__ import annotations

import csv
import functools
from importlib import resources

import numpy as np

__all__ = ["REAL_GOODS", "export_statistics", "real_export_statistics"]

#: Commodity of the real set (as the real statistics name it) -> the scanlab cargo type that
#: simulates it and the containers it travels in.
REAL_GOODS: dict[str, tuple[str, tuple[str, ...]]] = {
    "citrus fruit": ("citrus", ("reefer_40ft",)),
    "coffee": ("coffee", ("container_20ft",)),
    "cotton": ("cotton", ("container_40ft", "container_40ft_hc")),
    "frozen beef": ("frozen_beef", ("reefer_40ft", "reefer_20ft")),
    "frozen poultry": ("frozen_poultry", ("reefer_40ft", "reefer_20ft")),
    "groundnuts": ("groundnuts", ("container_20ft", "container_40ft")),
    "soybean meal": ("soybean_meal", ("container_20ft", "container_40ft")),
    "sugar": ("sugar", ("container_20ft",)),
    "tyres": ("tyres", ("container_40ft", "container_40ft_hc")),
}


def export_statistics(image: np.ndarray) -> dict[str, float]:
    """Statistics of one 8-bit grey export (0 black, 255 white, air white).

    ``grey_q10`` / ``grey_q50`` / ``grey_q90``: grey-level quantiles; ``frac_black_le10``
    and ``frac_white_ge245``: shares of near-black and near-white pixels; ``grad_q99``: the
    99th percentile of the Sobel gradient magnitude (Sobel / 8, every other pixel);
    ``hist_entropy_bits``: entropy of the grey-level histogram.

    Examples
    --------
    >>> import numpy as np
    >>> image = np.zeros((64, 64), np.uint8); image[:, 32:] = 255
    >>> stats = export_statistics(image)
    >>> stats["frac_black_le10"], stats["grey_q50"], stats["hist_entropy_bits"]
    (0.5, 0.0, 1.0)
    """
    import cv2

    a = np.asarray(image, dtype=np.float32)
    if a.ndim != 2:
        raise ValueError(f"export_statistics needs a (row, col) image, got shape {a.shape}")
    levels = np.clip(np.rint(a), 0, 255).astype(np.int64)
    hist = np.bincount(levels.ravel(), minlength=256).astype(float)
    cdf = np.cumsum(hist) / hist.sum()
    out = {f"grey_q{p}": float(np.searchsorted(cdf, p / 100.0)) for p in (10, 50, 90)}
    out["frac_black_le10"] = float(np.mean(a <= 10))
    out["frac_white_ge245"] = float(np.mean(a >= 245))
    gx = cv2.Sobel(a, cv2.CV_32F, 1, 0, ksize=3, borderType=cv2.BORDER_REFLECT) / 8.0
    gy = cv2.Sobel(a, cv2.CV_32F, 0, 1, ksize=3, borderType=cv2.BORDER_REFLECT) / 8.0
    out["grad_q99"] = float(np.percentile(np.hypot(gx, gy)[::2, ::2], 99))
    p = hist[hist > 0] / hist.sum()
    out["hist_entropy_bits"] = float(-(p * np.log2(p)).sum())
    return out


@functools.cache
def real_export_statistics() -> dict[str, dict[str, tuple[float, float, float]]]:
    """``{goods: {statistic: (q25, median, q75)}}`` of the real exports; ``"all"`` pools
    the 242 exports, the others are :data:`REAL_GOODS` (23-31 exports each)."""
    table: dict[str, dict[str, tuple[float, float, float]]] = {}
    text = resources.files("scanlab.synth").joinpath("data/real_export_statistics.csv")
    with text.open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            table.setdefault(row["goods"], {})[row["statistic"]] = (
                float(row["q25"]),
                float(row["median"]),
                float(row["q75"]),
            )
    return table
