"""Tiled prediction over large images: overlapping tiles, batched, blended with cosine ramps.

A fully convolutional network gives the same output tile by tile as on the whole image,
except within its receptive field of a tile's edge. Each tile's outer ``overlap // 4``
pixels on sides shared with a neighbour get no weight; the rest of the overlap is blended
with complementary raised-cosine (Hann) ramps, so seams neither show nor cost accuracy.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator

import numpy as np

from scanlab.errors import SpecError

__all__ = ["predict_tiled", "tile_starts"]


def tile_starts(length: int, tile: int, overlap: int, align: int = 1) -> list[int]:
    """Start offsets of tiles of size ``tile`` covering ``length`` with at least ``overlap``
    shared pixels; every start is a multiple of ``align`` when ``length`` and ``tile`` are.

    Examples
    --------
    >>> tile_starts(1000, 512, 64, 8)
    [0, 448, 488]
    """
    if tile >= length:
        return [0]
    step = max((tile - overlap) // align * align, align)
    starts = list(range(0, length - tile, step))
    return [*starts, length - tile]


def _ramp_window(size: int, overlap: int, lead: bool, trail: bool) -> np.ndarray:
    """1-D weights: 1 inside, a dead margin then a raised-cosine ramp on shared sides."""
    w = np.ones(size, dtype=np.float64)
    margin = overlap // 4
    ramp = max(overlap - 2 * margin, 1)
    t = (np.arange(ramp) + 0.5) / ramp
    up = np.sin(0.5 * np.pi * t) ** 2
    if lead:
        w[:margin] = 0.0
        w[margin : margin + ramp] = up[: max(size - margin, 0)]
    if trail:
        w[size - margin :] = 0.0
        w[max(size - margin - ramp, 0) : size - margin] *= up[::-1][-(size - margin) :]
    return w


def predict_tiled(
    predict: Callable[[np.ndarray], np.ndarray],
    planes: np.ndarray,
    *,
    tile_px: int = 512,
    overlap_px: int = 96,
    align: int = 1,
    batch_size: int = 4,
) -> np.ndarray:
    """Run ``predict`` over (C, row, col) ``planes`` tile by tile; return a (row, col) map.

    Parameters
    ----------
    predict : callable
        (B, C, h, w) float32 -> (B, h, w) float32, for h and w multiples of ``align``.
    planes : (C, row, col) ndarray
        The input. It is edge-padded to multiples of ``align``; the result is cropped back.
    tile_px, overlap_px : int
        Tile side and the least overlap of neighbours (both rounded to ``align``).
    batch_size : int
        Tiles per call of ``predict``; all tiles of one image have one shape.
    """
    if planes.ndim != 3:
        raise SpecError(f"predict_tiled: planes must be (C, row, col), got {planes.shape}")
    if overlap_px < 0 or tile_px < max(2 * overlap_px, align, 1) or batch_size < 1:
        raise SpecError(
            f"predict_tiled: need tile_px >= 2 * overlap_px >= 0 and batch_size >= 1, "
            f"got tile_px={tile_px}, overlap_px={overlap_px}, batch_size={batch_size}"
        )
    _, rows, cols = planes.shape
    prows, pcols = (math.ceil(n / align) * align for n in (rows, cols))
    if (prows, pcols) != (rows, cols):
        planes = np.pad(planes, ((0, 0), (0, prows - rows), (0, pcols - cols)), mode="edge")
    tile = max(tile_px // align * align, align)
    overlap = math.ceil(overlap_px / align) * align
    if tile < 2 * overlap:
        # Neighbours would then share less than the ramps assume, and a pixel could get no
        # weight from any tile.
        raise SpecError(
            f"predict_tiled: rounded to multiples of align={align}, tile_px={tile_px} and "
            f"overlap_px={overlap_px} become {tile} and {overlap}: need tile >= 2 * overlap"
        )
    th, tw = min(tile, prows), min(tile, pcols)
    row_starts = tile_starts(prows, th, overlap, align)
    col_starts = tile_starts(pcols, tw, overlap, align)
    total = np.zeros((prows, pcols), dtype=np.float64)
    weight = np.zeros((prows, pcols), dtype=np.float64)
    windows = {}
    for i, r in enumerate(row_starts):
        for j, c in enumerate(col_starts):
            windows[r, c] = np.outer(
                _ramp_window(th, overlap, i > 0, i < len(row_starts) - 1),
                _ramp_window(tw, overlap, j > 0, j < len(col_starts) - 1),
            )
    positions = list(windows)
    for batch in _chunks(positions, batch_size):
        x = np.stack([planes[:, r : r + th, c : c + tw] for r, c in batch])
        y = np.asarray(predict(np.ascontiguousarray(x, dtype=np.float32)))
        for (r, c), out in zip(batch, y, strict=True):
            w = windows[r, c]
            total[r : r + th, c : c + tw] += w * out
            weight[r : r + th, c : c + tw] += w
    return (total / weight)[:rows, :cols].astype(np.float32)


def _chunks(items: list[tuple[int, int]], size: int) -> Iterator[list[tuple[int, int]]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
