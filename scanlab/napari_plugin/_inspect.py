"""What the Inspect widget reports (the physical value under the cursor, ruler lengths in mm)
and the geometry of the view tools (zoom to a box, the magnifier)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from scanlab.io import Representation, Scan

__all__ = [
    "MAGNIFICATIONS",
    "box_view",
    "compare_grid_shape",
    "line_lengths_mm",
    "loupe_position",
    "magnified_rect",
    "readout",
    "world_to_pixel",
]

#: The magnifier's choices: how many times the region under the cursor is enlarged.
MAGNIFICATIONS = (2, 3, 4)

#: Below this high-energy attenuation the low/high ratio is noise (a few % of the beam).
_RATIO_MIN_ATTENUATION = 0.05


def box_view(
    box_mm: Sequence[float], canvas_px: tuple[int, int], *, margin: float = 1.0
) -> tuple[tuple[float, float], float]:
    """Camera centre (mm) and zoom (screen pixels per mm) that show a box whole.

    ``box_mm`` is (row0, col0, row1, col1) in world mm, corners in any order; ``canvas_px``
    the canvas (height, width); ``margin`` how many times the box's size is shown.

    Examples
    --------
    >>> box_view((100, 0, 300, 1000), (400, 800))  # the width limits: 800 px / 1000 mm
    ((200.0, 500.0), 0.8)
    >>> box_view((300, 1000, 100, 0), (400, 800), margin=2.0)
    ((200.0, 500.0), 0.4)
    """
    r0, c0, r1, c1 = (float(v) for v in box_mm)
    height, width = abs(r1 - r0) * margin, abs(c1 - c0) * margin
    canvas_h, canvas_w = canvas_px
    zoom = min(canvas_h / max(height, 1e-6), canvas_w / max(width, 1e-6))
    return (0.5 * (r0 + r1), 0.5 * (c0 + c1)), zoom


def world_to_pixel(scan: Scan, world_mm: Sequence[float]) -> tuple[int, int] | None:
    """The (row, col) pixel of ``scan`` under a world position in mm, or None outside it."""
    row_mm, col_mm = scan.metadata.pitch_mm
    row = round(float(world_mm[-2]) / row_mm)
    col = round(float(world_mm[-1]) / col_mm)
    rows, cols = scan.shape
    if not (0 <= row < rows and 0 <= col < cols):
        return None
    return row, col


def readout(scan: Scan, row: int, col: int) -> str:
    """One status-bar line: position in mm, attenuation and transmission of each channel.

    ``scan`` is attenuation (a calibrated scan) or a display image, as layers keep it.

    Examples
    --------
    >>> import numpy as np
    >>> from scanlab.io import ScanMetadata
    >>> att = np.stack([np.full((4, 4), 2.0), np.full((4, 4), 2.5)]).astype(np.float32)
    >>> scan = Scan(att, "attenuation", ScanMetadata(pitch_mm=(5.0, 5.0)))
    >>> readout(scan, 1, 2)
    'row 1 col 2 (5 mm, 10 mm)  high A 2.00, T 13.5%  low A 2.50, T 8.2%  low/high 1.25'
    """
    row_mm, col_mm = scan.metadata.pitch_mm
    where = f"row {row} col {col} ({row * row_mm:,.0f} mm, {col * col_mm:,.0f} mm)"
    if scan.representation is not Representation.ATTENUATION:
        return f"{where}  grey {scan.data[0, row, col]}"
    values = [float(scan.data[c, row, col]) for c in range(scan.n_channels)]
    parts = [where]
    for name, att in zip(scan.channel_names(), values, strict=True):
        parts.append(f"{name} A {att:.2f}, T {math.exp(-att):.1%}")
    if scan.is_dual_energy and values[0] > _RATIO_MIN_ATTENUATION:
        parts.append(f"low/high {values[1] / values[0]:.2f}")
    return "  ".join(parts)


def line_lengths_mm(lines: Sequence[np.ndarray], pitch_mm: tuple[float, float]) -> list[float]:
    """Length in mm of each ruler line or path, given in (row, col) pixels.

    Examples
    --------
    >>> line_lengths_mm([np.array([[0, 0], [30, 40]])], (10.0, 10.0))
    [500.0]
    """
    scale = np.asarray(pitch_mm, dtype=float)
    out = []
    for line in lines:
        steps = np.diff(np.asarray(line, dtype=float)[:, -2:], axis=0) * scale
        out.append(float(np.hypot(steps[:, 0], steps[:, 1]).sum()))
    return out


def compare_grid_shape(shape: tuple[int, int], n_views: int = 2) -> tuple[int, int]:
    """Grid (rows, cols) that shows ``n_views`` renderings of a scan largest: a long scan
    (a vehicle seen from the side) stacks them, a tall one puts them side by side.

    Examples
    --------
    >>> compare_grid_shape((1500, 6000)), compare_grid_shape((800, 600))
    ((2, 1), (1, 2))
    """
    rows, cols = shape
    return (n_views, 1) if cols >= rows else (1, n_views)


def magnified_rect(
    rect: Sequence[float], point: Sequence[float], magnification: float
) -> tuple[float, float, float, float]:
    """The camera rectangle (left, bottom, width, height, in scene units) that shows
    ``magnification`` times larger what ``rect`` shows, with ``point`` (a scene position)
    staying where it is on the screen: the view a magnifier at ``point`` draws.

    Examples
    --------
    >>> magnified_rect((0, 0, 1200, 600), (300, 150), 3)  # point a quarter across: stays
    (200.0, 100.0, 400.0, 200.0)
    >>> magnified_rect((0, 0, 1200, 600), (600, 300), 2)
    (300.0, 150.0, 600.0, 300.0)
    """
    left, bottom, width, height = (float(v) for v in rect)
    x, y = (float(v) for v in point[:2])
    m = float(magnification)
    if not m > 0:
        raise ValueError(f"magnification must be positive, got {magnification}")
    return (x - (x - left) / m, y - (y - bottom) / m, width / m, height / m)


def loupe_position(
    cursor_px: Sequence[float], canvas_px: tuple[int, int], size_px: int, *, gap_px: int = 24
) -> tuple[int, int]:
    """Top-left corner (x, y in canvas pixels) of a square magnifier of ``size_px`` beside
    the cursor: above and to the right of it, flipped to the other side where the canvas
    (width, height) ends, and never over the cursor's own spot unless the canvas is too
    small for that.

    Examples
    --------
    >>> loupe_position((100, 400), (800, 600), 200)  # room above right
    (124, 176)
    >>> loupe_position((700, 100), (800, 600), 200)  # at the top-right corner: below left
    (476, 124)
    """
    x, y = (float(v) for v in cursor_px[:2])
    width, height = canvas_px
    left = x + gap_px if x + gap_px + size_px <= width else x - gap_px - size_px
    top = y - gap_px - size_px if y - gap_px - size_px >= 0 else y + gap_px
    left = min(max(left, 0.0), max(width - size_px, 0))
    top = min(max(top, 0.0), max(height - size_px, 0))
    return round(left), round(top)
