"""Grey-level mappings: log view, window/level, gamma, negative, equalisation and CLAHE."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import cv2
import numpy as np

from scanlab.enhance._tiled import register_halo
from scanlab.enhance._util import (
    check_image,
    check_range,
    default_range,
    display_range,
    from_float,
    image_percentiles,
    work_dtype,
)
from scanlab.errors import CalibrationError, SpecError

__all__ = [
    "adjust_gamma",
    "clahe",
    "equalize_hist",
    "high_penetration",
    "log_view",
    "low_density",
    "negative",
    "window_level",
]


def log_view(
    image: np.ndarray, *, air_level: float | None = None, dark_level: float = 0.0
) -> np.ndarray:
    """Attenuation ``-ln((I - dark) / (air - dark))``: the log view of counts or transmission.

    This is the one function whose output is a different quantity from its input: it always
    returns floating-point attenuation (float32, or float64 for float64 input), 0 in open air
    and larger behind denser material. Transmission is floored at half a count above dark
    (integers) or at 1e-6 (floats), as in :meth:`scanlab.io.Scan.to_attenuation`, so pixels
    beyond penetration stay finite.

    Parameters
    ----------
    image : (row, col) ndarray
        Detector counts (uint8, uint16) or transmission/counts as floats.
    air_level : float, optional
        Value of the open beam. Default: the 99.9th percentile of the image, which is air in
        any scan that shows sky above the vehicle (as ``Scan.reference_levels`` assumes).
    dark_level : float
        Value with the beam off.

    Returns
    -------
    (row, col) ndarray of float32 (float64 for float64 input)

    Examples
    --------
    >>> import numpy as np
    >>> counts = np.array([[60000, 30000, 15000]], dtype=np.uint16)
    >>> log_view(counts, air_level=60000).round(4)
    array([[-0.    ,  0.6931,  1.3863]], dtype=float32)
    """
    img = check_image(image, func="log_view")
    if air_level is None:
        air_level = image_percentiles(img, [99.9], func="log_view")[0]
    air, dark = float(air_level), float(dark_level)
    if not air > dark:
        raise CalibrationError(
            f"log_view: air level {air} must be above dark level {dark}; "
            "pass air_level for an image without open beam"
        )
    floor = 0.5 / (air - dark) if img.dtype.kind == "u" else 1e-6
    out = img.astype(work_dtype(img.dtype))
    out -= dark
    out *= 1.0 / (air - dark)
    np.maximum(out, floor, out=out)
    np.log(out, out=out)
    np.negative(out, out=out)
    return out


def window_level(
    image: np.ndarray,
    *,
    level: float | None = None,
    width: float | None = None,
    percentiles: tuple[float, float] = (0.5, 99.5),
    out_range: tuple[float, float] | None = None,
) -> np.ndarray:
    """Map the window ``[level - width/2, level + width/2]`` linearly onto the display range.

    Values below the window go to the low end, values above it to the high end. Without
    ``level`` and ``width`` the window runs between two percentiles of the image (exact up to
    2 Mpx, estimated from a regular grid of pixels above that).

    Parameters
    ----------
    image : (row, col) ndarray
        Any scan image (uint8, uint16, float32, float64).
    level, width : float, optional
        Centre and width of the window in image units; give both or neither.
    percentiles : (float, float)
        Percentiles that become the ends of the window when ``level`` and ``width`` are not
        given.
    out_range : (float, float), optional
        Output values for the two ends of the window. Default: the full range of an integer
        dtype, [0, 1] for floats.

    Returns
    -------
    (row, col) ndarray of the input dtype

    Examples
    --------
    >>> import numpy as np
    >>> image = np.array([[0, 1000, 2000, 3000, 4000]], dtype=np.uint16)
    >>> window_level(image, level=2000, width=2000)
    array([[    0,     0, 32768, 65535, 65535]], dtype=uint16)
    >>> window_level(image.astype(np.float32), percentiles=(0, 100))
    array([[0.  , 0.25, 0.5 , 0.75, 1.  ]], dtype=float32)
    """
    img = check_image(image, func="window_level")
    if (level is None) != (width is None):
        raise SpecError("window_level: give both level and width, or neither")
    if level is not None and width is not None:
        if not width > 0:
            raise SpecError(f"window_level: width must be positive, got {width}")
        low, high = level - width / 2, level + width / 2
    else:
        low, high = check_range(
            image_percentiles(img, percentiles, func="window_level"),
            func="window_level",
            name="percentiles",
        )
    return _linear_map(img, (low, high), _out_range(img, out_range, "window_level"))


def adjust_gamma(
    image: np.ndarray, gamma: float = 1.0, *, in_range: tuple[float, float] | None = None
) -> np.ndarray:
    """Gamma curve ``low + (high - low) * t**gamma`` with ``t`` the position in ``in_range``.

    ``gamma < 1`` brightens the dark end (thin material in an attenuation image), ``gamma > 1``
    the bright end. The output covers the same range as the input.

    Parameters
    ----------
    image : (row, col) ndarray
    gamma : float
        Exponent, > 0.
    in_range : (float, float), optional
        Range the curve spans. Default: the full range of an integer dtype, the image's
        (min, max) for floats. Values outside it are clipped.

    Returns
    -------
    (row, col) ndarray of the input dtype

    Examples
    --------
    >>> import numpy as np
    >>> adjust_gamma(np.array([[0.0, 0.25, 1.0]], dtype=np.float32), 0.5)
    array([[0. , 0.5, 1. ]], dtype=float32)
    """
    img = check_image(image, func="adjust_gamma")
    if not gamma > 0:
        raise SpecError(f"adjust_gamma: gamma must be positive, got {gamma}")
    low, high = _in_range(img, in_range, "adjust_gamma")
    return _tone_curve(img, (low, high), lambda t: np.power(t, gamma, out=t))


def negative(image: np.ndarray, *, in_range: tuple[float, float] | None = None) -> np.ndarray:
    """Reverse the grey scale within ``in_range``: ``low + high - image``.

    Parameters
    ----------
    image : (row, col) ndarray
    in_range : (float, float), optional
        Default: the full range of an integer dtype, the image's (min, max) for floats, so
        that applying ``negative`` twice gives the image back.

    Returns
    -------
    (row, col) ndarray of the input dtype

    Examples
    --------
    >>> import numpy as np
    >>> negative(np.array([[0, 100, 65535]], dtype=np.uint16))
    array([[65535, 65435,     0]], dtype=uint16)
    >>> negative(np.array([[0.5, 1.0, 3.0]], dtype=np.float32))
    array([[3. , 2.5, 0.5]], dtype=float32)
    """
    img = check_image(image, func="negative")
    low, high = _in_range(img, in_range, "negative")
    if img.dtype.kind == "u":
        if in_range is None:
            return np.subtract(np.iinfo(img.dtype).max, img, dtype=img.dtype)
        return _tone_curve(img, (low, high), lambda t: np.subtract(1.0, t, out=t))
    return np.subtract(low + high, img, dtype=img.dtype)


def equalize_hist(
    image: np.ndarray, *, nbins: int = 65536, out_range: tuple[float, float] | None = None
) -> np.ndarray:
    """Global histogram equalisation at full depth (no reduction to 8 bits).

    Each grey level is mapped to its rank in the image (the cumulative histogram), so the
    output histogram is as flat as the levels allow. Integer images use one bin per level
    (65,536 for uint16); float images use ``nbins`` bins between their min and max.

    Parameters
    ----------
    image : (row, col) ndarray
    nbins : int
        Number of histogram bins for float images (ignored for integers).
    out_range : (float, float), optional
        Default: the full range of an integer dtype, [0, 1] for floats.

    Returns
    -------
    (row, col) ndarray of the input dtype

    Examples
    --------
    >>> import numpy as np
    >>> equalize_hist(np.array([[10, 10, 20, 5000]], dtype=np.uint16))
    array([[    0,     0, 32768, 65535]], dtype=uint16)
    """
    img = check_image(image, func="equalize_hist")
    olow, ohigh = _out_range(img, out_range, "equalize_hist")
    if img.dtype.kind == "u":
        nlevels = np.iinfo(img.dtype).max + 1
        hist = np.bincount(img.ravel(), minlength=nlevels)
        return _cdf_lut(hist, (olow, ohigh), img.dtype)[img]
    if not 2 <= nbins <= 2**24:
        raise SpecError(f"equalize_hist: nbins must lie in [2, 2**24], got {nbins}")
    low, high = float(img.min()), float(img.max())
    scale = nbins / (high - low) if high > low else 0.0
    index = np.subtract(img, low, dtype=work_dtype(img.dtype))
    index *= scale
    index = index.astype(np.intp)
    np.minimum(index, nbins - 1, out=index)
    hist = np.bincount(index.ravel(), minlength=nbins)
    return _cdf_lut(hist, (olow, ohigh), img.dtype)[index]


def clahe(
    image: np.ndarray,
    *,
    clip_limit: float = 2.0,
    kernel_size: int | tuple[int, int] = 256,
    out_range: tuple[float, float] | None = None,
) -> np.ndarray:
    """Contrast-limited adaptive histogram equalisation (OpenCV) at 16-bit depth.

    uint8 and uint16 images are equalised at their own depth. Float images are quantised to
    65,536 levels between their min and max (not 256), equalised, and returned as floats.

    Parameters
    ----------
    image : (row, col) ndarray
    clip_limit : float
        OpenCV's contrast limit: the histogram of each tile is clipped at ``clip_limit`` times
        the height of a flat histogram over all levels.
    kernel_size : int or (int, int)
        Approximate (row, col) size of the tiles in pixels.
    out_range : (float, float), optional
        Default: the full range of an integer dtype, [0, 1] for floats.

    Returns
    -------
    (row, col) ndarray of the input dtype

    Examples
    --------
    >>> import numpy as np
    >>> ramp = np.tile(np.arange(0, 2000, 4, dtype=np.uint16), (64, 1))
    >>> out = clahe(ramp, kernel_size=64)
    >>> out.dtype, len(np.unique(out)) > 256             # 16-bit levels, not 256
    (dtype('uint16'), True)
    """
    img = check_image(image, func="clahe")
    if not clip_limit > 0:
        raise SpecError(f"clahe: clip_limit must be positive, got {clip_limit}")
    size = (kernel_size, kernel_size) if isinstance(kernel_size, int) else tuple(kernel_size)
    if len(size) != 2 or not all(int(k) >= 1 for k in size):
        raise SpecError(f"clahe: kernel_size must be a positive (row, col) size, got {size}")
    grid_rows = max(1, round(img.shape[0] / int(size[0])))
    grid_cols = max(1, round(img.shape[1] / int(size[1])))
    engine = cv2.createCLAHE(clipLimit=float(clip_limit), tileGridSize=(grid_cols, grid_rows))
    olow, ohigh = _out_range(img, out_range, "clahe")
    if img.dtype.kind == "u":
        result = engine.apply(np.ascontiguousarray(img))
        if (olow, ohigh) == display_range(img.dtype):
            return result
        top = float(np.iinfo(img.dtype).max)
        return _linear_map(result, (0.0, top), (olow, ohigh))
    low, high = float(img.min()), float(img.max())
    levels = np.subtract(img, low, dtype=np.float32)
    levels *= 65535.0 / (high - low) if high > low else 0.0
    levels = from_float(levels, np.dtype(np.uint16))
    result = engine.apply(levels)
    out = result.astype(work_dtype(img.dtype))
    out *= (ohigh - olow) / 65535.0
    out += olow
    return out


def high_penetration(
    image: np.ndarray,
    *,
    percentiles: tuple[float, float] = (50.0, 99.9),
    out_range: tuple[float, float] | None = None,
) -> np.ndarray:
    """Window over the dense end of an attenuation image, to see into heavy cargo.

    The window runs between two percentiles of the *object* pixels, those above the air
    (see :func:`low_density`), so the amount of sky in the scan does not move it.

    Parameters
    ----------
    image : (row, col) ndarray
        Attenuation, or any image where denser material has larger values (apply
        :func:`log_view` to counts or transmission first).
    percentiles : (float, float)
        Percentiles of the object pixels that become the ends of the window.
    out_range : (float, float), optional
        Default: the full range of an integer dtype, [0, 1] for floats.

    Returns
    -------
    (row, col) ndarray of the input dtype

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> att = np.concatenate([rng.normal(0, 0.01, (50, 100)),        # air
    ...                       np.linspace(0.5, 6.0, 5000).reshape(50, 100)]).astype(np.float32)
    >>> view = high_penetration(att)
    >>> float(view[:75].max()), float(view[-1, -1])   # air and thin half black, dense end white
    (0.0, 1.0)
    """
    img = check_image(image, func="high_penetration")
    if len(percentiles) != 2 or not all(0 <= p <= 100 for p in percentiles):
        raise SpecError(
            f"high_penetration: percentiles must be two values in [0, 100], got {percentiles}"
        )
    _, objects = _air_and_objects(img)
    window = check_range(
        tuple(float(v) for v in np.percentile(objects, percentiles)),
        func="high_penetration",
        name="percentiles",
    )
    return _linear_map(img, window, _out_range(img, out_range, "high_penetration"))


def low_density(
    image: np.ndarray,
    *,
    percentile: float = 30.0,
    out_range: tuple[float, float] | None = None,
) -> np.ndarray:
    """Window from the air level to a low percentile of the objects, to see thin material.

    Air is the lowest peak of the histogram (nothing is less dense than air), and its
    spread on the low side gives the noise; pixels within 5 noise sigma of that peak are
    air, the rest are objects. Everything denser than the ``percentile``-th percentile of
    the object pixels saturates.

    Parameters
    ----------
    image : (row, col) ndarray
        Attenuation, or any image where denser material has larger values.
    percentile : float
        Percentile of the object pixels that becomes the top of the window.
    out_range : (float, float), optional
        Default: the full range of an integer dtype, [0, 1] for floats.

    Returns
    -------
    (row, col) ndarray of the input dtype

    Examples
    --------
    >>> import numpy as np
    >>> att = np.zeros((40, 100), dtype=np.float32)
    >>> att[20:] = np.linspace(0.1, 5.0, 2000).reshape(20, 100)
    >>> view = low_density(att, percentile=10)
    >>> float(view[0, 0]), float(view[-1, -1])          # air black, dense end saturated
    (0.0, 1.0)
    """
    img = check_image(image, func="low_density")
    air, objects = _air_and_objects(img)
    if not 0 <= percentile <= 100:
        raise SpecError(f"low_density: percentile must lie in [0, 100], got {percentile}")
    top = float(np.percentile(objects, percentile))
    return _linear_map(img, (air, max(top, air)), _out_range(img, out_range, "low_density"))


# --- helpers --------------------------------------------------------------------------------


def _air_and_objects(img: np.ndarray) -> tuple[float, np.ndarray]:
    """(air level, sample of object pixels) of an attenuation-like image.

    Air is the lowest peak of the histogram (the first local maximum at least 5% as high as
    the highest). Nothing is less dense than air, so the pixels below that peak are air
    alone: their spread gives the air noise, and pixels within 5 sigma of the peak are air.
    Without air in the image, the lowest peak of the cargo plays its part, which still leaves
    the denser pixels as the objects.
    """
    step = max(1, math.ceil(math.sqrt(img.size / 2**21)))
    flat = np.asarray(img[::step, ::step], dtype=np.float64).ravel()
    low, high = np.percentile(flat, [0.1, 99.0])
    if high > low:
        counts, edges = np.histogram(flat, bins=512, range=(low, high))
        smooth = np.convolve(counts, np.ones(5), mode="same")
        padded = np.concatenate([[-1.0], smooth, [-1.0]])
        peaks = np.flatnonzero(
            (smooth >= padded[:-2]) & (smooth >= padded[2:]) & (smooth >= 0.05 * smooth.max())
        )
        mode = float(edges[peaks[0]] + edges[peaks[0] + 1]) / 2
        below = mode - flat[flat < mode]
        sigma = 1.4826 * float(np.median(below)) if below.size else 0.0
        threshold = mode + max(5.0 * sigma, float(edges[1] - edges[0]))
    else:
        mode = threshold = float(low)
    objects = flat[flat > threshold]
    return mode, objects if objects.size else flat


def _in_range(img: np.ndarray, in_range: Sequence[float] | None, func: str) -> tuple[float, float]:
    if in_range is None:
        return default_range(img)
    return check_range(in_range, func=func, name="in_range")


def _out_range(
    img: np.ndarray, out_range: Sequence[float] | None, func: str
) -> tuple[float, float]:
    if out_range is None:
        return display_range(img.dtype)
    return check_range(out_range, func=func, name="out_range")


def _linear_map(
    img: np.ndarray, window: tuple[float, float], out_range: tuple[float, float]
) -> np.ndarray:
    """Clip ``img`` to ``window`` and map it linearly onto ``out_range`` (same dtype).

    A window of zero width is a step: values above it go to the high end.
    """
    low, high = window
    olow, ohigh = out_range
    if img.dtype.kind == "u":
        levels = np.arange(np.iinfo(img.dtype).max + 1, dtype=np.float64)
        return from_float(_linear_map(levels, window, out_range), img.dtype)[img]
    if high > low:
        # divide (not multiply by a reciprocal) so that the window ends map exactly
        out = np.subtract(img, low, dtype=img.dtype)
        out /= high - low
        np.clip(out, 0.0, 1.0, out=out)
        if (olow, ohigh) != (0.0, 1.0):
            out *= ohigh - olow
            out += olow
        return out
    return np.where(img > low, ohigh, olow).astype(img.dtype)


def _tone_curve(
    img: np.ndarray, in_range: tuple[float, float], curve: Callable[[np.ndarray], np.ndarray]
) -> np.ndarray:
    """Apply ``curve`` (in place on t in [0, 1]) between the ends of ``in_range``."""
    low, high = in_range
    if img.dtype.kind == "u":
        levels = np.arange(np.iinfo(img.dtype).max + 1, dtype=np.float64)
        return from_float(_tone_curve(levels, in_range, curve), img.dtype)[img]
    span = high - low
    t = np.subtract(img, low, dtype=img.dtype)
    if span > 0 and span != 1:
        t /= span
    np.clip(t, 0.0, 1.0, out=t)
    t = curve(t)
    if span != 1:
        t *= span
    if low != 0:
        t += low
    return t


def _cdf_lut(hist: np.ndarray, out_range: tuple[float, float], dtype: np.dtype) -> np.ndarray:
    """Look-up table from bin to output value: the normalised cumulative histogram."""
    olow, ohigh = out_range
    cdf = np.cumsum(hist, dtype=np.float64)
    first = cdf[np.flatnonzero(hist)[0]]
    total = cdf[-1]
    lut = (cdf - first) / (total - first) if total > first else np.zeros_like(cdf)
    np.clip(lut, 0.0, 1.0, out=lut)
    lut = olow + (ohigh - olow) * lut
    return from_float(lut, dtype)


# Pointwise mappings are local (no neighbours) once their limits no longer come from the image.
def _pointwise_if(*names: str, integer_ok: bool = False) -> Callable[..., int | None]:
    def rule(kw: dict[str, Any], dtype: np.dtype | None) -> int | None:
        if integer_ok and dtype is not None and dtype.kind == "u":
            return 0
        return 0 if all(kw[name] is not None for name in names) else None

    return rule


register_halo(log_view, _pointwise_if("air_level"))
register_halo(window_level, _pointwise_if("level", "width"))
register_halo(adjust_gamma, _pointwise_if("in_range", integer_ok=True))
register_halo(negative, _pointwise_if("in_range", integer_ok=True))
