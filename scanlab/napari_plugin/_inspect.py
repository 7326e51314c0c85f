"""What the Inspect widget reports: the physical value under the cursor and ruler lengths in mm."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from scanlab.io import Representation, Scan

__all__ = ["box_view", "compare_grid_shape", "line_lengths_mm", "readout", "world_to_pixel"]

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
