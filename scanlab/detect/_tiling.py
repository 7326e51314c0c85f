"""Tiled prediction over large images: overlapping tiles, batched, blended with cosine ramps.

A fully convolutional network gives the same output tile by tile as on the whole image,
except within its receptive field of a tile's edge. Each tile's outer ``overlap // 4``
pixels on sides shared with a neighbour get no weight; the rest of the overlap is blended
with complementary raised-cosine (Hann) ramps, so seams neither show nor cost accuracy.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from scanlab.errors import SpecError

__all__ = ["pad_to_multiple", "predict_tiled", "tile_starts"]


def pad_to_multiple(planes: np.ndarray, align: int) -> np.ndarray:
    """Pad (C, row, col) ``planes`` at the bottom and right to multiples of ``align`` by
    mirroring the scan's last rows and columns.

    Mirroring (``mode="reflect"``) continues the scan with content of its own kind; repeating
    the last row or column (``mode="edge"``) would draw a streak up to ``align - 1`` pixels
    wide, a structure no training patch holds, on the scan's bottom and right edges.

    Examples
    --------
    >>> pad_to_multiple(np.arange(5.0).reshape(1, 1, 5), 4)[0, -1].tolist()
    [0.0, 1.0, 2.0, 3.0, 4.0, 3.0, 2.0, 1.0]
    """
    for axis in (1, 2):
        extra = -planes.shape[axis] % align
        if extra:
            pad = [(0, 0)] * 3
            pad[axis] = (0, extra)
            # reflect needs two pixels; a single row or column can only be repeated
            planes = np.pad(planes, pad, mode="reflect" if planes.shape[axis] > 1 else "edge")
    return planes


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
        The input. Tiles are multiples of ``align`` and lie inside it, the last of each
        row and column flush with its end; only an image smaller than ``align`` is padded
        (:func:`pad_to_multiple`) and the result cropped back.
    tile_px, overlap_px : int
        Tile side and the least overlap of neighbours (both rounded to ``align``).
    batch_size : int
        Tiles per call of ``predict``; the tiles of one call have one shape.
    """
    if planes.ndim != 3:
        raise SpecError(f"predict_tiled: planes must be (C, row, col), got {planes.shape}")
    if overlap_px < 0 or tile_px < max(2 * overlap_px, align, 1) or batch_size < 1:
        raise SpecError(
            f"predict_tiled: need tile_px >= 2 * overlap_px >= 0 and batch_size >= 1, "
            f"got tile_px={tile_px}, overlap_px={overlap_px}, batch_size={batch_size}"
        )
    tile = max(tile_px // align * align, align)
    overlap = math.ceil(overlap_px / align) * align
    if tile < 2 * overlap:
        # Neighbours would then share less than the ramps assume, and a pixel could get no
        # weight from any tile.
        raise SpecError(
            f"predict_tiled: rounded to multiples of align={align}, tile_px={tile_px} and "
            f"overlap_px={overlap_px} become {tile} and {overlap}: need tile >= 2 * overlap"
        )
    _, rows, cols = planes.shape
    planes = pad_to_multiple(planes, align) if min(rows, cols) < align else planes
    total = np.zeros(planes.shape[1:], dtype=np.float64)
    weight = np.zeros(planes.shape[1:], dtype=np.float64)
    tiles: dict[tuple[int, int], list[tuple[int, int, np.ndarray]]] = {}
    row_tiles = _axis_tiles(planes.shape[1], tile, overlap, align)
    col_tiles = _axis_tiles(planes.shape[2], tile, overlap, align)
    for r, h, wr in row_tiles:
        for c, w, wc in col_tiles:
            tiles.setdefault((h, w), []).append((r, c, np.outer(wr, wc)))
    for (h, w), group in tiles.items():  # one shape per call of predict
        for batch in _chunks(group, batch_size):
            x = np.stack([planes[:, r : r + h, c : c + w] for r, c, _ in batch])
            y = np.asarray(predict(np.ascontiguousarray(x, dtype=np.float32)))
            for (r, c, win), out in zip(batch, y, strict=True):
                total[r : r + h, c : c + w] += win * out
                weight[r : r + h, c : c + w] += win
    return (total / weight)[:rows, :cols].astype(np.float32)


def _axis_tiles(
    length: int, tile: int, overlap: int, align: int
) -> list[tuple[int, int, np.ndarray]]:
    """(start, size, 1-D weights) of the tiles along one axis of ``length >= align``.

    Every tile lies inside the image, so the network never sees padding: on the image's
    border it sees what training patches taken at a scan's border hold. Sizes are multiples
    of ``align``; the last tile ends flush with the image (its start need not be aligned).
    An axis shorter than a tile but not a multiple of ``align`` gets the longest aligned
    tile from the start and a strip of ``overlap + align`` flush with the end, whose weight
    begins where the first tile's ramp does (``overlap // 4`` inside it, the dead margin of
    any seam), so the map away from the end is that of the first tile alone.
    """
    size = min(tile, length // align * align)
    starts = tile_starts(length, size, overlap, align)
    sizes = [size] * len(starts)
    if size < tile and len(starts) > 1:
        sizes[-1] = min(size, overlap + align)
        starts[-1] = length - sizes[-1]
    weights = [np.ones(n, dtype=np.float64) for n in sizes]
    for i in range(len(starts) - 1):
        end = starts[i] + sizes[i]
        shared = end - starts[i + 1]
        ov = min(overlap, shared)
        if ov <= 0:
            continue
        margin = ov // 4
        ramp = max(ov - 2 * margin, 1)
        up = np.sin(0.5 * np.pi * (np.arange(ramp) + 0.5) / ramp) ** 2
        # The transition lies in the first tile's last ov pixels: a dead margin at its end,
        # before it complementary ramps; the next tile has no weight before the ramp.
        lo = end - margin - ramp  # absolute start of the ramp
        weights[i][sizes[i] - margin :] = 0.0
        weights[i][lo - starts[i] : sizes[i] - margin] *= up[::-1]
        lead = lo - starts[i + 1]
        weights[i + 1][:lead] = 0.0
        weights[i + 1][lead : lead + ramp] *= up
    return list(zip(starts, sizes, weights, strict=True))


def _chunks(items: list[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def hottest_peaks(
    prob: np.ndarray, n: int, *, radius_px: int = 15, floor: float = 0.05
) -> list[tuple[float, int, int]]:
    """The ``n`` highest local maxima of a (row, col) map, best first, as (value, row, col):
    pixels that are the largest in their (2 ``radius_px`` + 1)² neighbourhood and above
    ``floor`` (where a detector is most sure of a clean scan's anomaly: hard negatives)."""
    import cv2

    prob = np.asarray(prob, dtype=np.float32)
    size = 2 * radius_px + 1
    peaks = (prob == cv2.dilate(prob, np.ones((size, size), np.uint8))) & (prob > floor)
    r, c = np.nonzero(peaks)
    best = np.argsort(prob[r, c])[::-1][:n]
    return [(float(prob[r[i], c[i]]), int(r[i]), int(c[i])) for i in best]
