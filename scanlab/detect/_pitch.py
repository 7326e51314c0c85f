"""The pixel pitch a scan is read at: a given value, the scan's metadata, an estimate from the
ISO container in the image, or scanlab's default, and which of these it was.

Display exports (JPEG, PNG) rarely record their pitch, and real ones range from about 4 to
10 mm. An ISO container is a ruler of known size: its outside height is 2,591 mm (2,896 mm
for a high cube) and its length 6,058 or 12,192 mm (20 and 40 ft). The roof is
the top edge of the vehicle along the container, and the floor (28 mm of plywood crossed
along the whole width) is the darkest horizontal line in the lower part of the box, about
146 mm above the container's underside. The roof-to-floor distance gives the row pitch; the
length of the roof line the column pitch; of the height and length pairs, the one whose row
and column pitches agree best (within 2.5 %) names the container. When none agree the pixels
are taken as not square (columns follow the vehicle's speed, and exports are often wider
than tall per pixel): a standard height gives the rows, and the length whose columns come
out 1.05 to 1.9 times as wide the columns. A 45 ft high cube has the aspect of a 40 ft
standard box (to 0.1 %), so it is read as one (its pitch comes out 12 % small), and a high
cube with non-square pixels is read as a standard box. Curtain-siders give no estimate; a
box truck may pass for a 40 ft box with wide pixels (its rows come out right, its columns
not): give ``pitch_mm`` for such traffic. A slight rotation of the export (a few tenths of
a degree) is measured on the roof line and taken out.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np

from scanlab.errors import ScanValidationError
from scanlab.i18n import _
from scanlab.io import Representation, Scan, ScanMetadata

__all__ = ["PITCH_SOURCES", "PitchEstimate", "ResolvedPitch", "estimate_pitch", "resolve_pitch"]

#: How the pitch a scan was read at was obtained.
PITCH_SOURCES = ("option", "metadata", "estimate", "default")

#: Outside heights (mm) of ISO 668 containers: standard and high cube.
ISO_HEIGHTS_MM = {"standard": 2591.0, "high cube": 2896.0}
#: Outside lengths (mm) of ISO 668 containers.
ISO_LENGTHS_MM = {"20 ft": 6058.0, "40 ft": 12192.0}
#: Height of the floor's plywood centre above the container's underside (bottom side rail
#: 160 mm, plywood 28 mm on top of it).
FLOOR_LINE_MM = 146.0
#: Row and column pitches of the named container may differ by this much (log ratio).
_MAX_ANISOTROPY = 0.025
_AIR = 0.03  # absorbed fraction below which a pixel is air


@dataclass(frozen=True)
class PitchEstimate:
    """The pitch measured on an ISO container in the image.

    ``roof_row`` is the vehicle's top edge along the container, ``floor_row`` the centre of
    the floor line, ``cols`` the (first, last + 1) columns of the roof line.
    """

    pitch_mm: tuple[float, float]
    container: str
    roof_row: int
    floor_row: float
    cols: tuple[int, int]
    mismatch: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "pitch_mm": [round(p, 3) for p in self.pitch_mm],
            "container": self.container,
            "roof_row": self.roof_row,
            "floor_row": round(self.floor_row, 2),
            "cols": list(self.cols),
            "row_col_mismatch": round(self.mismatch, 4),
        }


@dataclass(frozen=True)
class ResolvedPitch:
    """The (row, col) pitch a scan is read at, where it came from (:data:`PITCH_SOURCES`)
    and, for an estimate, what was measured."""

    pitch_mm: tuple[float, float]
    source: str
    estimate: PitchEstimate | None = field(default=None, repr=False)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"pitch_mm": list(self.pitch_mm), "source": self.source}
        if self.estimate is not None:
            out["estimate"] = self.estimate.to_dict()
        return out


def pitch_recorded(scan: Scan) -> bool:
    """Whether the scan's metadata states its pitch: False for a file that carried none
    (a plain JPEG or PNG export), whose pitch is the reader's default."""
    meta = scan.metadata
    default = ScanMetadata().pitch_mm
    return tuple(meta.pitch_mm) != default or bool(meta.scanner_model or meta.energies_mev)


def _as_pitch(value: float | tuple[float, float], source: str) -> tuple[float, float]:
    if isinstance(value, int | float):
        pitch = (float(value), float(value))
    else:
        pitch = (float(value[0]), float(value[1]))
    if not all(0 < p < 1000 for p in pitch):
        raise ScanValidationError(
            _("{source}: pitch_mm must be positive (mm), got {value!r}").format(
                source=source, value=value
            )
        )
    return pitch


def resolve_pitch(
    scan: Scan, pitch_mm: float | tuple[float, float] | None = None, *, estimate: bool = True
) -> ResolvedPitch:
    """The pitch to read ``scan`` at: ``pitch_mm`` if given, else the scan's recorded
    pitch, else (``estimate``) one measured on an ISO container in the image, else the
    reader's default (5 mm).

    Examples
    --------
    >>> from scanlab.io import example_scan
    >>> resolve_pitch(example_scan(rows=32, cols=64), 7.5)
    ResolvedPitch(pitch_mm=(7.5, 7.5), source='option')
    """
    if pitch_mm is not None:
        return ResolvedPitch(_as_pitch(pitch_mm, scan.source or "pitch_mm"), "option")
    if pitch_recorded(scan):
        return ResolvedPitch(tuple(scan.metadata.pitch_mm), "metadata")  # type: ignore[arg-type]
    found = estimate_pitch(scan) if estimate else None
    if found is not None:
        return ResolvedPitch(found.pitch_mm, "estimate", found)
    return ResolvedPitch(tuple(scan.metadata.pitch_mm), "default")  # type: ignore[arg-type]


def _attenuation_and_air(scan: Scan) -> tuple[np.ndarray, np.ndarray]:
    """High-energy attenuation-like image (monotone in absorption) and its air mask."""
    if scan.representation is Representation.DISPLAY:
        full = float(np.iinfo(scan.data.dtype).max) if scan.data.dtype.kind == "u" else 1.0
        level = np.asarray(scan.data[0], dtype=np.float32) / np.float32(full)
        level = cv2.medianBlur(np.clip(level, 0, 1), 3)
        absorbed = 1.0 - level
        att = -np.log(np.clip(level, 1e-4, 1.0))
    else:
        att = cv2.medianBlur(np.ascontiguousarray(scan.to_attenuation().data[0], np.float32), 3)
        absorbed = -np.expm1(-np.maximum(att, 0.0))
    return att, absorbed < _AIR


def estimate_pitch(scan: Scan) -> PitchEstimate | None:
    """Measure the (row, col) pitch on an ISO container seen side-on; None when the image
    shows no container whose height and length agree (a box truck, a curtain-sider, a crop
    without the roof or the floor).

    The scan's rows must run top to bottom (roof above floor), as scanlab's readers give them.
    """
    att, air = _attenuation_and_air(scan)
    rows, cols = att.shape
    solid = ~air
    any_solid = solid.any(axis=0)
    if any_solid.sum() < 0.2 * cols:
        return None
    top = np.where(any_solid, solid.argmax(axis=0), rows).astype(np.float64)
    # The roof is the flattest long edge: the most common top row of the vehicle; exports
    # are often rotated a little, so fit a line to the top edge around it.
    counts = np.bincount(top[any_solid].astype(int), minlength=rows + 1)
    roof0 = int(np.argmax(counts[:rows]))
    col = np.arange(cols, dtype=np.float64)
    near = any_solid & (np.abs(top - roof0) <= max(4, rows // 30))
    slope, offset = 0.0, float(roof0)
    for _step in range(3):
        if near.sum() < 0.2 * cols:
            return None
        slope, offset = np.polyfit(col[near], top[near], 1)
        near = any_solid & (np.abs(top - (slope * col + offset)) <= 2)
    if abs(slope) > 0.05:  # more than 3 degrees: not a level vehicle
        return None
    roof_line = slope * col + offset
    on_roof = any_solid & (np.abs(top - roof_line) <= 2)
    # Close gaps narrower than 1 % of the width (a lifting lug, a dark speck above the roof).
    gap = max(3, cols // 100)
    closed = cv2.morphologyEx(
        on_roof.astype(np.uint8)[None], cv2.MORPH_CLOSE, np.ones((1, gap), np.uint8)
    )[0].astype(bool)
    c0, c1 = _longest_run(closed)
    length_px = (c1 - c0) * math.hypot(1.0, slope)
    if length_px < 0.2 * cols:
        return None
    # Rows counted down from the roof line, column by column (straightens a slight tilt).
    inner = np.arange(c0 + (c1 - c0) // 20, c1 - (c1 - c0) // 20)
    start = np.rint(roof_line[inner]).astype(int)
    depth = np.arange(rows)
    index = start[None, :] + depth[:, None]
    inside = index < rows
    index = np.minimum(index, rows - 1)
    straight = att[index, inner[None, :]]
    below = (solid[index, inner[None, :]] & inside).mean(axis=1)
    bottom = int(np.nonzero(below > 0.02)[0].max()) if (below > 0.02).any() else 0
    span = bottom
    if span < 40:
        return None
    profile = np.median(np.where(inside, straight, 0.0), axis=1)
    d = max(2, round(0.012 * span))
    lo, hi = round(0.45 * span), min(round(0.95 * span), rows - d - 1)
    if hi <= lo:
        return None
    r = np.arange(lo, hi)
    ridge = profile[r] - np.maximum(profile[r - d], profile[r + d])
    peak = int(r[np.argmax(ridge)])
    if ridge.max() <= 0:
        return None
    base = max(profile[peak - d], profile[peak + d])
    window = np.arange(max(peak - d // 2 - 1, 0), min(peak + d // 2 + 2, rows))
    weight = np.maximum(profile[window] - base, 0.0)
    floor = float((window * weight).sum() / weight.sum()) if weight.sum() > 0 else float(peak)
    # The roof's top edge is the top of its pixel row; a tilt shortens rows by cos(angle).
    height_px = (floor + 0.5) / math.hypot(1.0, slope)
    roof = round(offset + slope * (c0 + c1) / 2)
    best: tuple[float, str, tuple[float, float]] | None = None
    for h_name, h_mm in ISO_HEIGHTS_MM.items():
        for l_name, l_mm in ISO_LENGTHS_MM.items():
            pitch = ((h_mm - FLOOR_LINE_MM) / height_px, l_mm / length_px)
            mismatch = abs(math.log(pitch[0] / pitch[1]))
            if best is None or mismatch < best[0]:
                best = (mismatch, f"{l_name} {h_name}", pitch)
    assert best is not None
    mismatch, name, pitch = best
    if mismatch > _MAX_ANISOTROPY:
        # Pixels not square (columns follow the vehicle's speed, usually wider than rows):
        # a standard height, and the length whose columns are 1.05 to 1.9 times the rows.
        row = (ISO_HEIGHTS_MM["standard"] - FLOOR_LINE_MM) / height_px
        wide = [
            (l_mm / length_px / row, l_name)
            for l_name, l_mm in ISO_LENGTHS_MM.items()
            if 1.05 <= l_mm / length_px / row <= 1.9
        ]
        if len(wide) != 1:
            return None
        ratio, l_name = wide[0]
        name, pitch = f"{l_name} standard (pixels not square)", (row, row * ratio)
        mismatch = abs(math.log(ratio))
    if not all(1.0 <= p <= 30.0 for p in pitch):
        return None
    return PitchEstimate(pitch, name, roof, roof + floor, (int(c0), int(c1)), mismatch)


def _longest_run(flags: np.ndarray) -> tuple[int, int]:
    """(start, stop) of the longest run of True."""
    padded = np.concatenate([[False], flags, [False]]).astype(np.int8)
    edges = np.diff(padded)
    starts, stops = np.nonzero(edges == 1)[0], np.nonzero(edges == -1)[0]
    if starts.size == 0:
        return 0, 0
    i = int(np.argmax(stops - starts))
    return int(starts[i]), int(stops[i])
