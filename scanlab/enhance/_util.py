"""Input checks and dtype/range helpers shared by every enhancement function."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from scanlab.errors import ScanValidationError, SpecError

__all__ = [
    "check_image",
    "check_range",
    "default_range",
    "display_range",
    "from_float",
    "image_percentiles",
    "work_dtype",
]

#: Integer dtypes whose full range is the natural display range.
_INT_RANGES = {np.dtype(np.uint8): (0.0, 255.0), np.dtype(np.uint16): (0.0, 65535.0)}
_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))

#: Above this many pixels, data-dependent limits (percentiles) are estimated on a regular grid
#: of about this many pixels: 2 Mpx gives percentiles good to a grey level and keeps a
#: 1,500 x 6,000 scan under the 100 ms an interactive slider allows.
PERCENTILE_SAMPLE = 2**21


def check_image(image: np.ndarray, *, func: str) -> np.ndarray:
    """Return ``image`` as an ndarray (no copy) after checking it is a finite 2-D scan image.

    Raises :class:`ScanValidationError` naming ``func`` and the problem: not 2-D, empty,
    an unsupported dtype, or NaN/Inf in floating-point data.
    """
    arr = image if isinstance(image, np.ndarray) else np.asarray(image)
    if arr.ndim != 2:
        hint = ""
        if arr.ndim == 3:
            hint = (
                "; pass one channel (for example scan.high), or pass the Scan to a Pipeline "
                "for dual-energy views"
            )
        raise ScanValidationError(
            f"{func}: expected a 2-D (row, col) image, got shape {arr.shape}{hint}"
        )
    if arr.size == 0:
        raise ScanValidationError(f"{func}: empty image of shape {arr.shape}")
    dtype = arr.dtype.newbyteorder("=")
    if dtype not in _INT_RANGES and dtype not in _FLOATS:
        raise ScanValidationError(
            f"{func}: unsupported pixel type {arr.dtype} (expected uint8, uint16, float32 or "
            "float64)"
        )
    if dtype != arr.dtype:
        arr = arr.astype(dtype)
    if arr.dtype.kind == "f" and not (math.isfinite(arr.min()) and math.isfinite(arr.max())):
        bad = int(np.count_nonzero(~np.isfinite(arr)))
        raise ScanValidationError(f"{func}: {bad:,} pixel(s) are NaN or infinite")
    return arr


def work_dtype(dtype: np.dtype) -> type[np.floating]:
    """The float type arithmetic runs in: float64 stays float64, everything else float32."""
    return np.float64 if dtype == np.float64 else np.float32


def display_range(dtype: np.dtype) -> tuple[float, float]:
    """Output range of a display mapping: the full integer range, or [0, 1] for floats."""
    return _INT_RANGES.get(np.dtype(dtype), (0.0, 1.0))


def default_range(image: np.ndarray) -> tuple[float, float]:
    """Input range of a tone curve: the full integer range, or the image's (min, max)."""
    if image.dtype in _INT_RANGES:
        return _INT_RANGES[image.dtype]
    return float(image.min()), float(image.max())


def check_range(value: Sequence[float] | None, *, func: str, name: str) -> tuple[float, float]:
    """Check a (low, high) pair given by the caller."""
    if value is None or len(value) != 2:
        raise SpecError(f"{func}: {name} must be a (low, high) pair, got {value!r}")
    low, high = float(value[0]), float(value[1])
    if not (math.isfinite(low) and math.isfinite(high)) or high < low:
        raise SpecError(f"{func}: {name} must be finite with low <= high, got {value!r}")
    return low, high


def image_percentiles(
    image: np.ndarray, percentiles: Sequence[float], *, func: str
) -> tuple[float, ...]:
    """Percentiles of ``image``, exact up to 2 Mpx and from a regular grid of pixels above.

    The grid keeps the cost bounded for live display and reads only a fraction of a
    memory-mapped scan.
    """
    q = [float(p) for p in percentiles]
    if not all(0.0 <= p <= 100.0 for p in q):
        raise SpecError(f"{func}: percentiles must lie in [0, 100], got {list(percentiles)}")
    step = max(1, math.ceil(math.sqrt(image.size / PERCENTILE_SAMPLE)))
    sample = image[::step, ::step]
    return tuple(float(v) for v in np.percentile(sample, q))


def from_float(values: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """Cast float results to ``dtype``: integers are rounded and clipped to their range.

    ``values`` may be overwritten.
    """
    dtype = np.dtype(dtype)
    if dtype in _INT_RANGES:
        low, high = _INT_RANGES[dtype]
        np.clip(values, low, high, out=values)
        np.rint(values, out=values)
        return values.astype(dtype)
    return values.astype(dtype, copy=False)
