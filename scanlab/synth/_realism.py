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

__all__ = [
    "LOAD_FILLS",
    "REAL_20FT_SHARES",
    "REAL_GOODS",
    "REAL_LOAD_SHARES",
    "export_statistics",
    "real_export_statistics",
    "real_goods_fill",
    "real_goods_vehicle",
]

#: Commodity of the real set (as the real statistics name it) -> the scanlab cargo type that
#: simulates it and the containers it travels in: a 20 ft one in the share of
#: :data:`REAL_20FT_SHARES`, else one of the others (40 ft), each as likely
#: (:func:`real_goods_vehicle`).
REAL_GOODS: dict[str, tuple[str, tuple[str, ...]]] = {
    "citrus fruit": ("citrus", ("reefer_40ft", "reefer_20ft")),
    "coffee": ("coffee", ("container_20ft", "container_40ft")),
    "cotton": ("cotton", ("container_40ft", "container_40ft_hc", "container_20ft")),
    "frozen beef": ("frozen_beef", ("reefer_40ft", "reefer_20ft")),
    "frozen poultry": ("frozen_poultry", ("reefer_40ft", "reefer_20ft")),
    "groundnuts": ("groundnuts", ("container_20ft", "container_40ft")),
    "soybean meal": ("soybean_meal", ("container_40ft",)),
    "sugar": ("sugar", ("container_20ft", "container_40ft")),
    "tyres": ("tyres", ("container_40ft", "container_40ft_hc")),
}

#: Share of each commodity's real exports that show a 20 ft box: those under 1.6 times as
#: wide as tall (scanlab's portal exports of 20 ft boxes come out 1.0-1.6, of 40 ft ones
#: 1.8-3.6), counted on the 242 real exports. Meat, groundnuts and soybean meal travel
#: almost only in 40 ft boxes; coffee in 20 ft ones about half the time.
REAL_20FT_SHARES: dict[str, float] = {
    "citrus fruit": 1 / 26,
    "coffee": 13 / 28,
    "cotton": 5 / 25,
    "frozen beef": 4 / 29,
    "frozen poultry": 1 / 31,
    "groundnuts": 1 / 29,
    "soybean meal": 0 / 18,
    "sugar": 7 / 23,
    "tyres": 0 / 30,
}


#: The fill (share of the load space's length, :class:`~scanlab.synth.SceneSpec`) of a
#: container that travels near-empty, part-loaded or full.
LOAD_FILLS: dict[str, tuple[float, float]] = {
    "near-empty": (0.0, 0.12),
    "part": (0.15, 0.55),
    "full": (0.7, 1.0),
}

#: How full the containers of each commodity travel in the real set: the shares of its
#: exports that are near-empty (median grey at an empty box's level, 205 or more: a few
#: pallets or none), part-loaded, or full (median grey below 60), counted on the 242 real
#: exports (26-31 of each). Real traffic is not all full boxes: most tyre, coffee and
#: citrus exports of that set are near-empty in the image, most meat and cotton full.
REAL_LOAD_SHARES: dict[str, dict[str, float]] = {
    "citrus fruit": {"near-empty": 13 / 26, "part": 0 / 26, "full": 13 / 26},
    "coffee": {"near-empty": 17 / 28, "part": 11 / 28, "full": 0 / 28},
    "cotton": {"near-empty": 7 / 25, "part": 1 / 25, "full": 17 / 25},
    "frozen beef": {"near-empty": 6 / 29, "part": 3 / 29, "full": 20 / 29},
    "frozen poultry": {"near-empty": 3 / 31, "part": 0 / 31, "full": 28 / 31},
    "groundnuts": {"near-empty": 2 / 29, "part": 17 / 29, "full": 10 / 29},
    "soybean meal": {"near-empty": 0 / 18, "part": 14 / 18, "full": 4 / 18},
    "sugar": {"near-empty": 9 / 23, "part": 13 / 23, "full": 1 / 23},
    "tyres": {"near-empty": 27 / 30, "part": 3 / 30, "full": 0 / 30},
}


def real_goods_fill(goods: str, rng: np.random.Generator) -> float:
    """A fill for a container of ``goods`` (a :data:`REAL_GOODS` name) drawn as the real
    set's containers of it travel: near-empty, part-loaded or full in the shares of
    :data:`REAL_LOAD_SHARES`, then uniformly within that state's :data:`LOAD_FILLS`.

    Examples
    --------
    >>> import numpy as np
    >>> fills = [real_goods_fill("frozen poultry", np.random.default_rng(i)) for i in range(2000)]
    >>> round(float(np.mean(np.array(fills) >= 0.7)), 2)  # 28 of 31 (0.90) real exports are full
    0.89
    """
    if goods not in REAL_LOAD_SHARES:
        raise KeyError(f"no load shares for {goods!r}; known: {', '.join(REAL_LOAD_SHARES)}")
    shares = REAL_LOAD_SHARES[goods]
    states = list(shares)
    weights = np.array([shares[k] for k in states], dtype=float)
    state = states[int(rng.choice(len(states), p=weights / weights.sum()))]
    low, high = LOAD_FILLS[state]
    return float(rng.uniform(low, high))


def real_goods_vehicle(goods: str, rng: np.random.Generator) -> str:
    """A container for ``goods`` (a :data:`REAL_GOODS` name) drawn as the real set's
    containers of it travel: a 20 ft box in the share of :data:`REAL_20FT_SHARES`, else one
    of its 40 ft boxes, each as likely.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> boxes = [real_goods_vehicle("frozen beef", rng) for _ in range(2900)]
    >>> round(boxes.count("reefer_20ft") / len(boxes), 2)  # 4 of 29 real exports
    0.14
    """
    if goods not in REAL_GOODS:
        raise KeyError(f"no containers for {goods!r}; known: {', '.join(REAL_GOODS)}")
    boxes = REAL_GOODS[goods][1]
    short = [b for b in boxes if "20ft" in b]
    long = [b for b in boxes if "20ft" not in b]
    pick_short = bool(short) and (not long or rng.random() < REAL_20FT_SHARES[goods])
    pool = short if pick_short else long
    return pool[int(rng.integers(len(pool)))]


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
