"""Detector corrections: flat-field (air) normalisation and removal of row and column stripes."""

from __future__ import annotations

import math
from typing import Literal, overload

import numpy as np
import scipy.ndimage as ndi

from scanlab.enhance._util import check_image, from_float, work_dtype
from scanlab.errors import SpecError
from scanlab.io._scan import Representation, Scan
from scanlab.io._scan import flat_field as _scan_flat_field

__all__ = ["destripe", "flat_field"]

#: The median of the residuals is taken over at most this many pixels per row or column:
#: plenty for a robust offset, and it keeps destriping a full scan to a fraction of a second.
_MAX_SAMPLES = 1024


@overload
def flat_field(
    image: Scan, *, air_cols: slice | None = None, dark_cols: slice | None = None
) -> Scan: ...
@overload
def flat_field(
    image: np.ndarray, *, air_cols: slice | None = None, dark_cols: slice | None = None
) -> np.ndarray: ...
def flat_field(
    image: np.ndarray | Scan, *, air_cols: slice | None = None, dark_cols: slice | None = None
) -> np.ndarray | Scan:
    """Divide every row by its own open-beam level: per-detector gain correction.

    A thin wrapper of :func:`scanlab.io._scan.flat_field` that also accepts a plain array
    (integers are taken as counts, floats as counts or transmission).

    Parameters
    ----------
    image : (row, col) ndarray or Scan
    air_cols : slice, optional
        Columns that saw only air (before the vehicle); default the first 16.
    dark_cols : slice, optional
        Columns recorded with the beam off; default the scan's dark level, else 0.

    Returns
    -------
    (row, col) float32 ndarray or Scan
        Transmission, 1.0 in the air columns on average.

    Examples
    --------
    >>> import numpy as np
    >>> counts = np.array([[50000, 50000, 25000], [40000, 40000, 20000]], dtype=np.uint16)
    >>> flat_field(counts, air_cols=slice(0, 2))
    array([[1. , 1. , 0.5],
           [1. , 1. , 0.5]], dtype=float32)
    """
    if isinstance(image, Scan):
        return _scan_flat_field(image, air_cols=air_cols, dark_cols=dark_cols)
    img = check_image(image, func="flat_field")
    rep = Representation.COUNTS if img.dtype.kind == "u" else Representation.TRANSMISSION
    scan = Scan(img, rep, source="flat_field")
    return _scan_flat_field(scan, air_cols=air_cols, dark_cols=dark_cols).high


def destripe(
    image: np.ndarray,
    *,
    stripes: Literal["rows", "cols", "both"] = "both",
    width: int = 2,
    model: Literal["offset", "gain"] = "offset",
) -> np.ndarray:
    """Remove stripes that run along whole rows or whole columns.

    A stripe along a row is a detector element whose gain or offset is wrong; a stripe along
    a column is a linac pulse that was stronger or weaker than the others. Each pixel is
    compared with the medians of the pixels just above and just below it (left and right for
    column stripes); where those two agree (a smooth region, not an edge or texture) the
    difference counts, and the stripe of a row is the median of its differences. Objects
    therefore survive: their edges and texture are left out, and a thin object covers only
    part of a row. What cannot be told from a stripe is a smooth feature at most ``width``
    pixels thin that runs across more than half of the image.

    Parameters
    ----------
    image : (row, col) ndarray
    stripes : {"rows", "cols", "both"}
        Which stripes to remove.
    width : int
        Widest stripe to remove, in pixels.
    model : {"offset", "gain"}
        ``"offset"`` subtracts the stripe (attenuation images); ``"gain"`` divides by it
        (counts and transmission, where a detector's fault is multiplicative).

    Returns
    -------
    (row, col) ndarray of the input dtype

    Examples
    --------
    >>> import numpy as np
    >>> att = np.zeros((40, 60), dtype=np.float32)
    >>> att[10:30, 20:35] = 2.0                          # a real object
    >>> striped = att.copy()
    >>> striped[17] += 0.5                               # a bad detector row
    >>> striped[:, 44] -= 0.3                            # a weak pulse
    >>> bool(np.abs(destripe(striped) - att).max() < 1e-6)
    True
    """
    img = check_image(image, func="destripe")
    if stripes not in ("rows", "cols", "both"):
        raise SpecError(f"destripe: stripes must be 'rows', 'cols' or 'both', got {stripes!r}")
    if model not in ("offset", "gain"):
        raise SpecError(f"destripe: model must be 'offset' or 'gain', got {model!r}")
    if width < 1:
        raise SpecError(f"destripe: width must be at least 1, got {width}")
    work = img.astype(work_dtype(img.dtype))
    if model == "gain":
        floor = 0.5 if img.dtype.kind == "u" else 1e-6 * max(float(work.max()), 1e-30)
        np.maximum(work, floor, out=work)
        np.log(work, out=work)
    if stripes in ("rows", "both"):
        work -= _stripe_profile(work, width)[:, np.newaxis]
    if stripes in ("cols", "both"):
        work -= _stripe_profile(work.T, width)[np.newaxis, :]
    if model == "gain":
        np.exp(work, out=work)
    return from_float(work, img.dtype)


def _stripe_profile(work: np.ndarray, width: int) -> np.ndarray:
    """Offset of each row of ``work`` relative to the rows above and below it.

    For every pixel, the references are the medians of the ``2 * width - 1`` pixels just
    above and just below it (itself left out, so a stripe cannot pull its own reference;
    the median ignores other stripe rows). Where the two agree within the noise the pixel
    lies in a smooth region and its residual counts; where they disagree it sits on an
    edge or in texture and is left out. The row's offset is the median of its residuals.
    """
    step = max(1, math.ceil(work.shape[1] / _MAX_SAMPLES))
    sample = np.ascontiguousarray(work[:, ::step], dtype=np.float64)
    length = 2 * width - 1
    centred = ndi.median_filter(sample, size=(length, 1), mode="nearest")
    reach = width  # centre of the window just above: `width` rows up
    padded = np.pad(centred, ((reach, reach), (0, 0)), mode="edge")
    above, below = padded[: -2 * reach], padded[2 * reach :]
    if sample.shape[1] > 1:
        diffs = np.abs(np.diff(sample, axis=1))
        sigma = 1.4826 * float(np.median(diffs)) / math.sqrt(2.0)
    else:
        sigma = 0.0
    smooth = np.abs(above - below) <= 4.0 * sigma
    residual = np.where(smooth, sample - (above + below) / 2, np.inf)
    residual.sort(axis=1)  # the left-out pixels (inf) go to the end
    count = smooth.sum(axis=1)
    middle = np.stack([np.maximum(count - 1, 0) // 2, count // 2], axis=1)
    offset = np.take_along_axis(residual, np.minimum(middle, residual.shape[1] - 1), axis=1)
    return np.where(count > 0, offset.mean(axis=1), 0.0).astype(work.dtype)
