"""Local filters: unsharp mask, directional edge enhancement, edge outline and denoising."""

from __future__ import annotations

import math
from typing import Any, Literal

import cv2
import numpy as np
import scipy.ndimage as ndi

from scanlab.enhance._tiled import register_halo
from scanlab.enhance._util import check_image, check_range, from_float, work_dtype
from scanlab.errors import SpecError

__all__ = [
    "denoise_bilateral",
    "denoise_median",
    "denoise_nl_means",
    "edge_enhance",
    "edge_outline",
    "estimate_noise",
    "unsharp_mask",
]

# scipy's 'reflect' (abc|cba), which scikit-image uses, so results can be compared.
_BORDER = cv2.BORDER_REFLECT


def unsharp_mask(image: np.ndarray, *, radius: float = 2.0, amount: float = 1.0) -> np.ndarray:
    """Sharpen: ``image + amount * (image - gaussian(image, radius))``.

    Integer images are computed in float32 and rounded back, clipped to their range; float
    images are not clipped (the overshoot at an edge is the point of sharpening).

    Parameters
    ----------
    image : (row, col) ndarray
    radius : float
        Standard deviation of the Gaussian blur in pixels; the kernel is cut at 4 sigma.
    amount : float
        Strength of the sharpening.

    Returns
    -------
    (row, col) ndarray of the input dtype

    Examples
    --------
    >>> import numpy as np
    >>> step = np.repeat(np.array([[100] * 5 + [200] * 5], dtype=np.uint16), 3, axis=0)
    >>> unsharp_mask(step, radius=1.0)[1]
    array([100, 100, 100,  94,  70, 230, 206, 200, 200, 200], dtype=uint16)
    """
    img = check_image(image, func="unsharp_mask")
    _check_positive(radius, "unsharp_mask", "radius")
    work = img.astype(work_dtype(img.dtype), copy=False)
    blur = _gaussian(work, radius, radius)
    out = cv2.addWeighted(work, 1.0 + amount, blur, -amount, 0.0)
    return from_float(out, img.dtype)


def edge_enhance(
    image: np.ndarray,
    *,
    direction: Literal["horizontal", "vertical", "both"] = "both",
    radius: float = 1.5,
    amount: float = 1.0,
) -> np.ndarray:
    """Sharpen edges of one orientation only, as scanner consoles do.

    Horizontal edges run along the columns (a change from one row to the next: a floor, a
    shelf, the top of a load); they are sharpened by an unsharp mask along the row axis.
    Vertical edges (a change from one column to the next: walls, pallets, partitions) use the
    column axis. ``"both"`` adds the two.

    Parameters
    ----------
    image : (row, col) ndarray
    direction : {"horizontal", "vertical", "both"}
        Orientation of the edges to enhance.
    radius : float
        Standard deviation of the 1-D Gaussian, in pixels.
    amount : float
        Strength.

    Returns
    -------
    (row, col) ndarray of the input dtype

    Examples
    --------
    >>> import numpy as np
    >>> image = np.zeros((9, 9), dtype=np.float32)
    >>> image[5:] = 1.0                                 # a horizontal edge
    >>> edge_enhance(image, direction="horizontal")[2:8, 0].round(2)
    array([-0.04, -0.15, -0.37,  1.37,  1.15,  1.04], dtype=float32)
    >>> bool(np.array_equal(edge_enhance(image, direction="vertical"), image))
    True
    """
    img = check_image(image, func="edge_enhance")
    _check_positive(radius, "edge_enhance", "radius")
    if direction not in ("horizontal", "vertical", "both"):
        raise SpecError(
            f"edge_enhance: direction must be 'horizontal', 'vertical' or 'both', got {direction!r}"
        )
    work = img.astype(work_dtype(img.dtype), copy=False)
    # image + amount * sum over axes of (image - blur along the axis), in fused OpenCV passes
    axes = {"horizontal": [(radius, 0.0)], "vertical": [(0.0, radius)]}.get(
        direction, [(radius, 0.0), (0.0, radius)]
    )
    out = work
    for i, (sigma_row, sigma_col) in enumerate(axes):
        gain = 1.0 + amount * len(axes) if i == 0 else 1.0
        out = cv2.addWeighted(out, gain, _gaussian(work, sigma_row, sigma_col), -amount, 0.0)
    return from_float(out, img.dtype)


def edge_outline(image: np.ndarray, *, radius: float = 0.0) -> np.ndarray:
    """Edge strength: Sobel gradient magnitude, scaled as :func:`skimage.filters.sobel`.

    The kernels are normalised (divided by 4) and the magnitude divided by sqrt(2), so the
    result stays within the input's range and an integer image keeps its dtype.

    Parameters
    ----------
    image : (row, col) ndarray
    radius : float
        Standard deviation of a Gaussian applied first to suppress noise; 0 for none.

    Returns
    -------
    (row, col) ndarray of the input dtype

    Examples
    --------
    >>> import numpy as np
    >>> image = np.zeros((4, 6), dtype=np.float32)
    >>> image[:, 3:] = 1.0                               # a vertical step
    >>> edge_outline(image)[1].round(3)
    array([0.   , 0.   , 0.707, 0.707, 0.   , 0.   ], dtype=float32)
    """
    img = check_image(image, func="edge_outline")
    if radius < 0:
        raise SpecError(f"edge_outline: radius must be >= 0, got {radius}")
    work = img.astype(work_dtype(img.dtype), copy=False)
    if radius > 0:
        work = _gaussian(work, radius, radius)
    depth = cv2.CV_64F if work.dtype == np.float64 else cv2.CV_32F
    d_row = cv2.Sobel(work, depth, 0, 1, ksize=3, scale=0.25, borderType=_BORDER)
    d_col = cv2.Sobel(work, depth, 1, 0, ksize=3, scale=0.25, borderType=_BORDER)
    magnitude = np.multiply(cv2.magnitude(d_row, d_col), 1.0 / math.sqrt(2.0), dtype=work.dtype)
    return from_float(magnitude, img.dtype)


def denoise_median(image: np.ndarray, *, size: int = 3) -> np.ndarray:
    """Median filter over a ``size`` x ``size`` square (edges replicated).

    OpenCV does sizes 3 and 5 for every dtype and any size for uint8; other cases use
    :func:`scipy.ndimage.median_filter`, with the same result but slower.

    Parameters
    ----------
    image : (row, col) ndarray
    size : int
        Odd side of the square.

    Returns
    -------
    (row, col) ndarray of the input dtype

    Examples
    --------
    >>> import numpy as np
    >>> image = np.full((5, 5), 100, dtype=np.uint16)
    >>> image[2, 2] = 65535                              # a dead-pixel spike
    >>> int(denoise_median(image).max())
    100
    """
    img = check_image(image, func="denoise_median")
    if size < 1 or size % 2 == 0:
        raise SpecError(f"denoise_median: size must be a positive odd number, got {size}")
    if size == 1:
        return img.copy()
    if img.dtype != np.float64 and (size in (3, 5) or img.dtype == np.uint8):
        return cv2.medianBlur(np.ascontiguousarray(img), size)
    return ndi.median_filter(img, size=size, mode="nearest")


def denoise_bilateral(
    image: np.ndarray,
    *,
    sigma_color: float | None = None,
    sigma_spatial: float = 1.0,
    value_range: tuple[float, float] | None = None,
) -> np.ndarray:
    """Edge-preserving bilateral filter (OpenCV), in float32 for every input but uint8.

    Parameters
    ----------
    image : (row, col) ndarray
    sigma_color : float, optional
        Standard deviation of the grey-level weights, in image units. Default: three times
        the noise level from :func:`estimate_noise`.
    sigma_spatial : float
        Standard deviation of the spatial weights in pixels; the window reaches 3 sigma.
    value_range : (float, float), optional
        OpenCV tabulates the grey-level weights over the image's (min, max); pass the whole
        scan's range to filter tiles that must agree with the whole image.

    Returns
    -------
    (row, col) ndarray of the input dtype (float64 is filtered in float32)

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> image = np.zeros((32, 32), dtype=np.float32)
    >>> image[:, 16:] = 1.0
    >>> noisy = image + rng.normal(0, 0.05, image.shape).astype(np.float32)
    >>> out = denoise_bilateral(noisy, sigma_color=0.15, sigma_spatial=2.0)
    >>> bool(out[:, 2:14].std() < noisy[:, 2:14].std() / 2), float(out[:, 17:].mean().round(1))
    (True, 1.0)
    """
    img = check_image(image, func="denoise_bilateral")
    _check_positive(sigma_spatial, "denoise_bilateral", "sigma_spatial")
    if sigma_color is None:
        sigma_color = 3.0 * estimate_noise(img)
    if not sigma_color > 0:
        # a noiseless image: nothing to smooth, and OpenCV would divide by zero
        return img.copy()
    radius = math.ceil(3.0 * sigma_spatial)
    work = img if img.dtype == np.uint8 else img.astype(np.float32)
    pad = 0
    if value_range is not None and img.dtype != np.uint8:
        low, high = check_range(value_range, func="denoise_bilateral", name="value_range")
        # Pin OpenCV's weight table to value_range with two pixels just beyond the reach of
        # the filter, in columns whose output is discarded.
        pad = radius + 2
        work = cv2.copyMakeBorder(work, 0, 0, 0, pad, cv2.BORDER_REFLECT_101)
        work[0, -1], work[0, -2] = low, high
    out = cv2.bilateralFilter(work, 2 * radius + 1, float(sigma_color), float(sigma_spatial))
    if pad:
        out = out[:, :-pad]
    return from_float(out, img.dtype) if out.dtype != img.dtype else out


def denoise_nl_means(
    image: np.ndarray,
    *,
    h: float | None = None,
    patch_size: int = 5,
    search_size: int = 11,
    value_range: tuple[float, float] | None = None,
) -> np.ndarray:
    """Non-local means denoising (OpenCV ``fastNlMeansDenoising``) at 16-bit depth.

    uint8 images use the usual L2 patch distance and uint16 images the L1 distance (the only
    one OpenCV offers at 16 bits). Float images are quantised to 65,536 levels over
    ``value_range``, filtered, and returned as floats.

    Parameters
    ----------
    image : (row, col) ndarray
    h : float, optional
        Filtering strength in image units; larger removes more noise and more detail.
        Default: the noise level from :func:`estimate_noise`.
    patch_size : int
        Odd side of the patches compared.
    search_size : int
        Odd side of the window searched for similar patches.
    value_range : (float, float), optional
        Quantisation range for float images; default the image's (min, max). Pass the
        whole scan's range to filter tiles that must agree with the whole image.

    Returns
    -------
    (row, col) ndarray of the input dtype

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> noisy = rng.normal(20000, 500, (48, 48)).astype(np.uint16)
    >>> out = denoise_nl_means(noisy, h=1500)
    >>> out.dtype, bool(out.std() < noisy.std() / 3)
    (dtype('uint16'), True)
    """
    img = check_image(image, func="denoise_nl_means")
    for name, value in (("patch_size", patch_size), ("search_size", search_size)):
        if value < 1 or value % 2 == 0:
            raise SpecError(f"denoise_nl_means: {name} must be a positive odd number, got {value}")
    if h is None:
        h = estimate_noise(img)
    if not h > 0:
        return img.copy()
    if img.dtype == np.uint8:
        return cv2.fastNlMeansDenoising(img, None, float(h), patch_size, search_size)
    if img.dtype == np.uint16:
        return _nl_means_16(img, float(h), patch_size, search_size)
    if value_range is None:
        low, high = float(img.min()), float(img.max())
    else:
        low, high = check_range(value_range, func="denoise_nl_means", name="value_range")
    scale = 65535.0 / (high - low) if high > low else 0.0
    levels = np.subtract(img, low, dtype=np.float32)
    levels *= scale
    out = _nl_means_16(
        from_float(levels, np.dtype(np.uint16)), float(h) * scale, patch_size, search_size
    )
    result = out.astype(img.dtype)
    if scale:
        result *= 1.0 / scale
    result += low
    return result


def estimate_noise(image: np.ndarray) -> float:
    """Standard deviation of the pixel noise, from differences of horizontal neighbours.

    The median absolute difference ignores edges and texture, so this measures the noise of
    a scan that is mostly smooth, in image units.

    Parameters
    ----------
    image : (row, col) ndarray

    Returns
    -------
    float

    Examples
    --------
    >>> import numpy as np
    >>> noisy = np.random.default_rng(0).normal(100.0, 2.0, (200, 200))
    >>> round(estimate_noise(noisy), 1)
    2.0
    """
    img = check_image(image, func="estimate_noise")
    step = max(1, math.ceil(img.size / 2**21))
    rows = np.asarray(img[::step], dtype=np.float64)
    if rows.shape[1] < 2:
        return 0.0
    diffs = np.abs(np.diff(rows, axis=1))
    return 1.4826 * float(np.median(diffs)) / math.sqrt(2.0)


# --- helpers --------------------------------------------------------------------------------


def _nl_means_16(img: np.ndarray, h: float, patch_size: int, search_size: int) -> np.ndarray:
    return cv2.fastNlMeansDenoising(
        np.ascontiguousarray(img), [h], None, patch_size, search_size, cv2.NORM_L1
    )


def _gaussian(work: np.ndarray, sigma_row: float, sigma_col: float) -> np.ndarray:
    """Separable Gaussian cut at 4 sigma (like scipy/skimage); 0 leaves an axis alone."""
    kernels = []
    for sigma in (sigma_col, sigma_row):
        if sigma > 0:
            radius = math.ceil(4.0 * sigma)
            kernels.append(cv2.getGaussianKernel(2 * radius + 1, sigma, ktype=cv2.CV_64F))
        else:
            kernels.append(np.ones((1, 1)))
    depth = cv2.CV_64F if work.dtype == np.float64 else cv2.CV_32F
    return cv2.sepFilter2D(work, depth, kernels[0], kernels[1], borderType=_BORDER)


def _check_positive(value: float, func: str, name: str) -> None:
    if not value > 0:
        raise SpecError(f"{func}: {name} must be positive, got {value}")


def _gauss_halo(sigma: float) -> int:
    return math.ceil(4.0 * sigma) if sigma > 0 else 0


def _edge_halo(kw: dict[str, Any], dtype: np.dtype | None) -> int:
    return _gauss_halo(kw["radius"]) if kw["direction"] != "vertical" else 0


def _bilateral_halo(kw: dict[str, Any], dtype: np.dtype | None) -> int | None:
    # the defaults of sigma_color and value_range come from the whole image
    if kw["sigma_color"] is None or (kw["value_range"] is None and dtype != np.uint8):
        return None
    return math.ceil(3.0 * kw["sigma_spatial"])


def _nl_means_halo(kw: dict[str, Any], dtype: np.dtype | None) -> int | None:
    if kw["h"] is None or (kw["value_range"] is None and (dtype is None or dtype.kind == "f")):
        return None
    return kw["patch_size"] // 2 + kw["search_size"] // 2


register_halo(unsharp_mask, lambda kw, dtype: _gauss_halo(kw["radius"]))
register_halo(edge_enhance, _edge_halo)
register_halo(edge_outline, lambda kw, dtype: 1 + _gauss_halo(kw["radius"]))
register_halo(denoise_median, lambda kw, dtype: kw["size"] // 2)
register_halo(denoise_bilateral, _bilateral_halo)
register_halo(denoise_nl_means, _nl_means_halo)
