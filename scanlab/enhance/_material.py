"""Dual-energy material discrimination: ratio image, classes from physics curves, colouring.

A pixel's material shows in ``R = ln T_low / ln T_high``, but R also depends on thickness,
so classes are told apart by decision curves of R against the high-energy attenuation,
drawn midway between the curves of reference materials that :mod:`scanlab.physics`
computes for the scanner.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import cv2
import numpy as np

from scanlab.enhance._util import check_image, image_percentiles
from scanlab.errors import ScanValidationError, SpecError

if TYPE_CHECKING:
    from scanlab.physics import ScannerModel

__all__ = [
    "MATERIAL_CLASSES",
    "MaterialCurves",
    "material_classes",
    "material_colour",
    "material_curves",
    "metal_only",
    "organic_only",
    "ratio_image",
]

#: Class index -> name in the maps of :func:`material_classes`. "too_thin": too little
#: material for the noise to allow a decision (air included); "too_thick": so much that too
#: few photons get through (beyond penetration, at the default smoothing).
MATERIAL_CLASSES = ("too_thin", "organic", "inorganic", "metal", "high_z", "too_thick")

#: Reference material of each class, lightest first (one per class of MATERIAL_CLASSES[1:5]).
REFERENCES = ("polyethylene", "aluminium", "iron", "lead")

#: Display colours (RGB in [0, 1]) of the four material classes, the usual console scheme.
_COLOURS = {
    "organic": (1.0, 0.55, 0.1),
    "inorganic": (0.2, 0.75, 0.25),
    "metal": (0.15, 0.4, 1.0),
    "high_z": (0.6, 0.2, 0.8),
}
_SATURATION = 0.85
_GRID_STEP = 0.01  # attenuation step of the tabulated curves
_GRID_MAX = 12.0  # beyond any cargo scanner's penetration
_BRIGHTNESS_LEVELS = 256
_DEFAULT_SCANNER = "scanlab-6MV-dual"


@dataclass(frozen=True, eq=False)
class MaterialCurves:
    """Decision curves of one scanner, tabulated against the high-energy attenuation.

    Attributes
    ----------
    scanner : str
        Name of the scanner model.
    attenuation_high : ndarray, shape (n,)
        Grid of ``-ln T_high``, from 0 in steps of 0.01.
    reference_ratio : ndarray, shape (4, n)
        R of :data:`REFERENCES` (polyethylene, aluminium, iron, lead); NaN where a
        material cannot reach that attenuation.
    boundaries : ndarray, shape (3, n)
        R midway between consecutive references: organic|inorganic, inorganic|metal,
        metal|high_z. ``-inf`` where the heavier reference's R is not below the lighter's
        (thin lead, whose photoelectric absorption raises its ratio): there the heavier class
        cannot be told from the lighter and is never assigned.
    ratio_noise : ndarray, shape (n,)
        Standard deviation of R in one pixel from the quantum noise of the scanner's photon
        budget (one pulse per pixel).
    margin : ndarray, shape (n,)
        Half the smallest R gap between the organic, inorganic and metal references: how
        far a reference lies from a boundary.
    """

    scanner: str
    attenuation_high: np.ndarray
    reference_ratio: np.ndarray
    boundaries: np.ndarray
    ratio_noise: np.ndarray
    margin: np.ndarray

    def classifiable_range(self, *, radius: float = 1.0) -> tuple[float, float]:
        """(lowest, highest) high-energy attenuation where a class can be decided.

        Decidable means that the noise of R, after Gaussian smoothing of ``radius`` pixels
        (which averages about ``4 pi radius**2`` pixels), is smaller than the margin between
        a reference and the boundary. Below: thin (noise-dominated); above: beyond
        penetration.
        """
        n_eff = max(1.0, 4.0 * math.pi * radius**2)
        ok = np.flatnonzero(self.ratio_noise / math.sqrt(n_eff) < self.margin)
        if ok.size == 0:
            return math.inf, -math.inf
        return float(self.attenuation_high[ok[0]]), float(self.attenuation_high[ok[-1]])


def material_curves(scanner: str | ScannerModel = _DEFAULT_SCANNER) -> MaterialCurves:
    """The decision curves of a scanner, computed once from :mod:`scanlab.physics` and cached.

    Parameters
    ----------
    scanner : str or ScannerModel
        A preset name of :func:`scanlab.physics.get_scanner`, or a dual-energy model.

    Returns
    -------
    MaterialCurves

    Examples
    --------
    >>> curves = material_curves("scanlab-6MV-dual")
    >>> i = int(round(4.0 / 0.01))                     # at attenuation_high = 4
    >>> [round(float(r), 3) for r in curves.reference_ratio[:, i]]
    [1.178, 1.16, 1.137, 1.112]
    >>> low, high = curves.classifiable_range(radius=1.0)
    >>> 0.1 < low < 1.0 < 7.0 < high < 12.0
    True
    """
    from scanlab.physics import get_scanner

    model = get_scanner(scanner) if isinstance(scanner, str) else scanner
    if model.n_channels < 2:
        from scanlab.errors import MissingChannelError

        raise MissingChannelError(
            f"material_curves: scanner {model.name!r} has one energy; material needs two"
        )
    return _curves(model)


@functools.cache
def _curves(model: ScannerModel) -> MaterialCurves:
    from scanlab.physics import get_material, ratio_curve

    grid = np.arange(0.0, _GRID_MAX + _GRID_STEP / 2, _GRID_STEP)
    ratios = []
    for name in REFERENCES:
        material = get_material(name)
        # areal densities from 0.01 to 500 g/cm2 reach past attenuation 12 for every
        # reference without the transmission underflowing
        thickness_cm = np.geomspace(0.01, 500.0, 800) / material.density_g_cm3
        curve = ratio_curve(material, thickness_cm, scanner=model)
        ratios.append(
            np.interp(grid, curve.attenuation_high, curve.ratio, left=np.nan, right=np.nan)
        )
    ref = np.array(ratios)
    lighter, heavier = ref[:-1], ref[1:]
    with np.errstate(invalid="ignore"):
        separable = heavier < lighter
    boundaries = np.where(separable, (lighter + heavier) / 2, -np.inf)
    gaps = np.abs(lighter[:2] - heavier[:2])
    margin = np.nan_to_num(np.fmin(gaps[0], gaps[1]) / 2, nan=0.0)
    # quantum noise of -ln T is 1 / sqrt(quanta * T) in each channel
    q_high, q_low = (float(q) for q in model.noise_quanta[:2])
    organic = np.where(np.isnan(ref[0]), 1.0, ref[0])
    with np.errstate(divide="ignore"):
        sigma_high = 1.0 / np.sqrt(q_high * np.exp(-grid))
        sigma_low = 1.0 / np.sqrt(q_low * np.exp(-organic * grid))
        noise = np.sqrt(sigma_low**2 + (organic * sigma_high) ** 2) / grid
    noise[0] = np.inf
    for array in (grid, ref, boundaries, noise, margin):
        array.flags.writeable = False
    return MaterialCurves(model.name, grid, ref, boundaries, noise, margin)


def ratio_image(high: np.ndarray, low: np.ndarray, *, radius: float = 0.0) -> np.ndarray:
    """``R = ln T_low / ln T_high`` from the two attenuation channels; NaN where no material.

    Parameters
    ----------
    high, low : (row, col) ndarray of float
        High- and low-energy attenuation (``-ln T``), e.g. from ``Scan.to_attenuation()``.
    radius : float
        Gaussian smoothing (sigma in pixels) of both channels first; 0 for none.

    Returns
    -------
    (row, col) ndarray of float32
        NaN where the high-energy attenuation is not positive.

    Examples
    --------
    >>> import numpy as np
    >>> high = np.array([[0.0, 2.0, 4.0]], dtype=np.float32)
    >>> ratio_image(high, high * np.float32(1.15)).round(2)
    array([[ nan, 1.15, 1.15]], dtype=float32)
    """
    high, low = _smoothed_pair(high, low, radius, "ratio_image")
    return np.divide(low, high, out=np.full(high.shape, np.nan, np.float32), where=high > 0)


def material_classes(
    high: np.ndarray,
    low: np.ndarray,
    *,
    scanner: str = _DEFAULT_SCANNER,
    radius: float = 1.0,
    curves: MaterialCurves | None = None,
) -> np.ndarray:
    """Classify every pixel as one of :data:`MATERIAL_CLASSES` (uint8 indices).

    R is computed after smoothing both channels by ``radius`` and compared with the
    scanner's decision curves at the pixel's own high-energy attenuation. Pixels outside
    :meth:`MaterialCurves.classifiable_range` are "too_thin" (air included) or "too_thick".
    Below an attenuation of about 2.5 lead's ratio is not below iron's (photoelectric
    absorption of the soft part of the spectrum), so thin high-Z material cannot be told
    apart and is never called high_z there.

    Parameters
    ----------
    high, low : (row, col) ndarray of float
        High- and low-energy attenuation.
    scanner : str
        Scanner preset whose curves to use (:func:`material_curves`).
    radius : float
        Gaussian smoothing (sigma, pixels) of both channels before the ratio; more
        smoothing decides thinner and thicker material at the cost of sharp boundaries.
    curves : MaterialCurves, optional
        Curves to use instead of the scanner's (for a custom :class:`ScannerModel`).

    Returns
    -------
    (row, col) ndarray of uint8

    Examples
    --------
    >>> import numpy as np
    >>> from scanlab.physics import get_scanner, ratio_curve
    >>> scanner = get_scanner("scanlab-6MV-dual")
    >>> slabs = [("water", 60.0), ("aluminium", 20.0), ("iron", 9.0), ("lead", 5.0)]
    >>> curves = [ratio_curve(name, [cm], scanner=scanner) for name, cm in slabs]
    >>> high = np.repeat([[c.attenuation_high[0] for c in curves]], 9, axis=1)  # 9 x 9 blocks
    >>> high = np.repeat(high, 9, axis=0).astype(np.float32)
    >>> low = high * np.repeat([c.ratio[0] for c in curves], 9).astype(np.float32)
    >>> [MATERIAL_CLASSES[k] for k in material_classes(high, low)[4, 4::9]]
    ['organic', 'inorganic', 'metal', 'high_z']
    """
    curves = curves if curves is not None else material_curves(scanner)
    smooth_high, smooth_low = _smoothed_pair(high, low, radius, "material_classes")
    ratio = np.divide(
        smooth_low,
        smooth_high,
        out=np.zeros(smooth_high.shape, np.float32),
        where=smooth_high > 0,
    )
    grid_step = float(curves.attenuation_high[1] - curves.attenuation_high[0])
    index = smooth_high * np.float32(1.0 / grid_step)
    np.clip(index, 0, len(curves.attenuation_high) - 1, out=index)
    index += 0.5
    grid_index = index.astype(np.intp)
    classes = np.ones(smooth_high.shape, dtype=np.uint8)
    for boundary in curves.boundaries:
        classes += ratio < np.take(boundary.astype(np.float32), grid_index)
    lowest, highest = curves.classifiable_range(radius=radius)
    classes[smooth_high < lowest] = 0
    classes[smooth_high > highest] = len(MATERIAL_CLASSES) - 1
    return classes


def material_colour(
    high: np.ndarray,
    low: np.ndarray,
    *,
    scanner: str = _DEFAULT_SCANNER,
    radius: float = 1.0,
    percentiles: tuple[float, float] = (0.5, 99.5),
    curves: MaterialCurves | None = None,
) -> np.ndarray:
    """The console's material image: hue from the class, brightness from the attenuation.

    Orange organic, green inorganic, blue metal, purple high-Z; pixels too thin or too
    thick to classify stay grey. Brightness is the high-energy attenuation windowed between
    two percentiles and reversed (from white in air to 20% at the top of the window), so
    air is white and dense cargo dark.

    Parameters
    ----------
    high, low : (row, col) ndarray of float
        High- and low-energy attenuation.
    scanner, radius, curves
        As in :func:`material_classes`.
    percentiles : (float, float)
        Window of the brightness, as in :func:`window_level`.

    Returns
    -------
    (row, col, 3) ndarray of float32
        RGB in [0, 1].

    Examples
    --------
    >>> import numpy as np
    >>> from scanlab.physics import get_scanner, ratio_curve
    >>> c = ratio_curve("water", [60.0], scanner=get_scanner("scanlab-6MV-dual"))
    >>> high = np.zeros((20, 20), np.float32)
    >>> high[5:15, 5:15] = c.attenuation_high[0]          # 60 cm of water in air
    >>> rgb = material_colour(high, high * np.float32(c.ratio[0]))
    >>> rgb[0, 0].tolist(), bool(rgb[10, 10, 0] > rgb[10, 10, 1] > rgb[10, 10, 2])  # orange
    ([1.0, 1.0, 1.0], True)
    """
    return _render(high, low, None, scanner, radius, percentiles, curves, "material_colour")


def organic_only(
    high: np.ndarray,
    low: np.ndarray,
    *,
    scanner: str = _DEFAULT_SCANNER,
    radius: float = 1.0,
    percentiles: tuple[float, float] = (0.5, 99.5),
    curves: MaterialCurves | None = None,
) -> np.ndarray:
    """Material image with everything but organic material stripped to a faint grey.

    Parameters and result as :func:`material_colour`.

    Examples
    --------
    >>> import numpy as np
    >>> from scanlab.physics import get_scanner, ratio_curve
    >>> c = ratio_curve("iron", [9.0], scanner=get_scanner("scanlab-6MV-dual"))
    >>> high = np.full((4, 4), c.attenuation_high[0], np.float32)
    >>> rgb = organic_only(high, high * np.float32(c.ratio[0]))
    >>> bool(np.ptp(rgb[0, 0]) == 0)                   # iron is not organic: grey
    True
    """
    return _render(high, low, (1,), scanner, radius, percentiles, curves, "organic_only")


def metal_only(
    high: np.ndarray,
    low: np.ndarray,
    *,
    scanner: str = _DEFAULT_SCANNER,
    radius: float = 1.0,
    percentiles: tuple[float, float] = (0.5, 99.5),
    curves: MaterialCurves | None = None,
) -> np.ndarray:
    """Material image with only metal and high-Z material in colour, the rest a faint grey.

    Parameters and result as :func:`material_colour`.

    Examples
    --------
    >>> import numpy as np
    >>> from scanlab.physics import get_scanner, ratio_curve
    >>> c = ratio_curve("iron", [9.0], scanner=get_scanner("scanlab-6MV-dual"))
    >>> high = np.full((4, 4), c.attenuation_high[0], np.float32)
    >>> rgb = metal_only(high, high * np.float32(c.ratio[0]))
    >>> bool(rgb[0, 0, 2] > rgb[0, 0, 0])               # iron stays blue
    True
    """
    return _render(high, low, (3, 4), scanner, radius, percentiles, curves, "metal_only")


# --- helpers --------------------------------------------------------------------------------


def _render(
    high: np.ndarray,
    low: np.ndarray,
    keep: tuple[int, ...] | None,
    scanner: str,
    radius: float,
    percentiles: tuple[float, float],
    curves: MaterialCurves | None,
    func: str,
) -> np.ndarray:
    high_img, _ = _check_pair(high, low, func)
    classes = material_classes(high, low, scanner=scanner, radius=radius, curves=curves)
    wlow, whigh = image_percentiles(high_img, percentiles, func=func)
    # brightness: 1 in air, 0 at the top of the window, quantised to 256 levels
    level = np.subtract(high_img, wlow, dtype=np.float32)
    level *= (_BRIGHTNESS_LEVELS - 1) / (whigh - wlow) if whigh > wlow else 0.0
    np.clip(level, 0, _BRIGHTNESS_LEVELS - 1, out=level)
    level += 0.5
    index = level.astype(np.uint16)
    index += classes.astype(np.uint16) * np.uint16(_BRIGHTNESS_LEVELS)
    return np.take(_colour_table(keep), index, axis=0)


@functools.cache
def _colour_table(keep: tuple[int, ...] | None) -> np.ndarray:
    """RGB of (class, brightness level) pairs, flattened class-major."""
    # the densest cargo stays at 20% brightness so that its hue still shows
    value = np.linspace(1.0, 0.2, _BRIGHTNESS_LEVELS)[:, np.newaxis]
    white = np.ones(3)
    tables = []
    for k, name in enumerate(MATERIAL_CLASSES):
        if keep is not None and k not in keep:
            # stripped: a faint grey that keeps the outline of the scene
            tables.append(np.repeat(1.0 - 0.25 * (1.0 - value), 3, axis=1))
        elif name in _COLOURS:
            tint = (1.0 - _SATURATION) * white + _SATURATION * np.array(_COLOURS[name])
            tables.append(value * tint)
        else:
            tables.append(np.repeat(value, 3, axis=1))
    table = np.concatenate(tables).astype(np.float32)
    table.flags.writeable = False
    return table


def _check_pair(high: np.ndarray, low: np.ndarray, func: str) -> tuple[np.ndarray, np.ndarray]:
    high = check_image(high, func=func)
    low = check_image(low, func=func)
    if high.shape != low.shape:
        raise ScanValidationError(
            f"{func}: high and low channels differ in shape: {high.shape} vs {low.shape}"
        )
    if high.dtype.kind != "f" or low.dtype.kind != "f":
        raise ScanValidationError(
            f"{func}: expects attenuation (-ln T) as floats, got {high.dtype} and {low.dtype}; "
            "convert counts with Scan.to_attenuation() or log_view()"
        )
    return high, low


def _smoothed_pair(
    high: np.ndarray, low: np.ndarray, radius: float, func: str
) -> tuple[np.ndarray, np.ndarray]:
    high, low = _check_pair(high, low, func)
    if radius < 0:
        raise SpecError(f"{func}: radius must be >= 0, got {radius}")
    pair = []
    for channel in (high, low):
        channel = np.asarray(channel, dtype=np.float32)
        if radius > 0:
            size = 2 * math.ceil(4.0 * radius) + 1
            channel = cv2.GaussianBlur(channel, (size, size), radius, borderType=cv2.BORDER_REFLECT)
        pair.append(channel)
    return pair[0], pair[1]
