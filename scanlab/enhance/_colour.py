"""Colour renderings of a grey scan: named pseudo-colour palettes and the density highlight."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

import numpy as np

from scanlab.enhance._util import (
    check_image,
    check_range,
    default_range,
    image_percentiles,
)
from scanlab.errors import SpecError

__all__ = ["PALETTES", "density_highlight", "pseudo_colour"]

# Control points (position in [0, 1], RGB in [0, 1]) of each palette.
_PALETTE_POINTS: dict[str, list[tuple[float, tuple[float, float, float]]]] = {
    "grey": [(0.0, (0.0, 0.0, 0.0)), (1.0, (1.0, 1.0, 1.0))],
    "hot": [
        (0.0, (0.0, 0.0, 0.0)),
        (0.375, (1.0, 0.0, 0.0)),
        (0.75, (1.0, 1.0, 0.0)),
        (1.0, (1.0, 1.0, 1.0)),
    ],
    "ice": [
        (0.0, (0.0, 0.0, 0.0)),
        (0.4, (0.05, 0.15, 0.6)),
        (0.75, (0.3, 0.8, 1.0)),
        (1.0, (1.0, 1.0, 1.0)),
    ],
    "rainbow": [
        (0.0, (0.0, 0.0, 0.5)),
        (0.125, (0.0, 0.0, 1.0)),
        (0.375, (0.0, 1.0, 1.0)),
        (0.625, (1.0, 1.0, 0.0)),
        (0.875, (1.0, 0.0, 0.0)),
        (1.0, (0.5, 0.0, 0.0)),
    ],
    "sepia": [
        (0.0, (0.0, 0.0, 0.0)),
        (0.5, (0.55, 0.35, 0.17)),
        (1.0, (1.0, 0.95, 0.85)),
    ],
}

_LUT_SIZE = 4096


def _palette_lut(points: list[tuple[float, tuple[float, float, float]]]) -> np.ndarray:
    where = np.array([p for p, _ in points])
    rgb = np.array([c for _, c in points])
    t = np.linspace(0.0, 1.0, _LUT_SIZE)
    lut = np.stack([np.interp(t, where, rgb[:, k]) for k in range(3)], axis=1)
    lut = lut.astype(np.float32)
    lut.flags.writeable = False
    return lut


#: Named palettes: each a read-only (4096, 3) float32 table of RGB in [0, 1], low to high.
PALETTES: Mapping[str, np.ndarray] = MappingProxyType(
    {name: _palette_lut(points) for name, points in _PALETTE_POINTS.items()}
)


def pseudo_colour(
    image: np.ndarray, *, palette: str = "hot", in_range: tuple[float, float] | None = None
) -> np.ndarray:
    """Render a grey image through a named palette of :data:`PALETTES`.

    Parameters
    ----------
    image : (row, col) ndarray
    palette : str
        One of ``"grey"``, ``"hot"``, ``"ice"``, ``"rainbow"``, ``"sepia"``.
    in_range : (float, float), optional
        Values mapped to the two ends of the palette. Default: the full range of an integer
        dtype, the image's (min, max) for floats.

    Returns
    -------
    (row, col, 3) ndarray
        RGB: uint8 for integer images, float32 in [0, 1] for float images.

    Examples
    --------
    >>> import numpy as np
    >>> pseudo_colour(np.array([[0, 255]], dtype=np.uint8), palette="hot")
    array([[[  0,   0,   0],
            [255, 255, 255]]], dtype=uint8)
    """
    img = check_image(image, func="pseudo_colour")
    if palette not in PALETTES:
        raise SpecError(
            f"pseudo_colour: unknown palette {palette!r}; choose one of {sorted(PALETTES)}"
        )
    lut = PALETTES[palette]
    if in_range is None:
        low, high = default_range(img)
    else:
        low, high = check_range(in_range, func="pseudo_colour", name="in_range")
    if img.dtype.kind == "u":
        table = _to_uint8(np.take(lut, _lut_index(_levels(img.dtype), low, high), axis=0))
        return np.take(table, img, axis=0)
    return np.take(lut, _lut_index(img, low, high), axis=0)


def density_highlight(
    image: np.ndarray,
    *,
    band: tuple[float, float],
    colour: tuple[float, float, float] = (1.0, 0.15, 0.1),
    opacity: float = 0.7,
    percentiles: tuple[float, float] = (0.5, 99.5),
    invert: bool = False,
) -> np.ndarray:
    """Colour the pixels whose value lies in ``band`` over a grey rendering of the image.

    Operators use it to pick out everything of a chosen density (attenuation), for example
    the steel of a hidden compartment, while keeping the rest of the scan in grey. Inside the
    band the colour is shaded by the grey level so that structure stays visible.

    Parameters
    ----------
    image : (row, col) ndarray
        Usually attenuation.
    band : (float, float)
        Inclusive (low, high) values to colour, in image units.
    colour : (float, float, float)
        RGB in [0, 1].
    opacity : float
        0 leaves the grey image, 1 paints the band in pure (shaded) colour.
    percentiles : (float, float)
        Percentiles that set the grey window, as in :func:`window_level`.
    invert : bool
        Render the grey image reversed (air white when the image is attenuation).

    Returns
    -------
    (row, col, 3) ndarray
        RGB: uint8 for integer images, float32 in [0, 1] for float images.

    Examples
    --------
    >>> import numpy as np
    >>> att = np.array([[0.0, 1.0, 2.0, 3.0]], dtype=np.float32)
    >>> rgb = density_highlight(att, band=(1.5, 2.5), opacity=1.0, percentiles=(0, 100))
    >>> rgb[0, :, 0].round(2), rgb[0, :, 1].round(2)     # only the third pixel is red
    (array([0.  , 0.33, 0.8 , 1.  ], dtype=float32), array([0.  , 0.33, 0.12, 1.  ], dtype=float32))
    """
    img = check_image(image, func="density_highlight")
    low, high = check_range(band, func="density_highlight", name="band")
    rgb_colour = np.asarray(colour, dtype=np.float32)
    if rgb_colour.shape != (3,) or not ((rgb_colour >= 0) & (rgb_colour <= 1)).all():
        raise SpecError(f"density_highlight: colour must be three values in [0, 1], got {colour}")
    if not 0.0 <= opacity <= 1.0:
        raise SpecError(f"density_highlight: opacity must lie in [0, 1], got {opacity}")
    wlow, whigh = check_range(
        image_percentiles(img, percentiles, func="density_highlight"),
        func="density_highlight",
        name="percentiles",
    )
    keep = 1.0 - opacity
    tint = opacity * rgb_colour

    def render(grey: np.ndarray, inside: np.ndarray) -> np.ndarray:
        """RGB of pixels with grey level ``grey`` in [0, 1], coloured where ``inside``."""
        if invert:
            grey = 1.0 - grey
        shaded = grey[:, np.newaxis] * keep + (0.4 + 0.6 * grey[:, np.newaxis]) * tint
        return np.where(inside[:, np.newaxis], shaded, grey[:, np.newaxis]).astype(np.float32)

    if img.dtype.kind == "u":
        levels = _levels(img.dtype)
        grey = np.clip((levels - wlow) / (whigh - wlow) if whigh > wlow else levels * 0.0, 0, 1)
        table = _to_uint8(render(grey, (levels >= low) & (levels <= high)))
        return np.take(table, img, axis=0)
    # Grey levels quantised to 4,096 steps (finer than any display); band membership exact.
    index = _lut_index(img, wlow, whigh)
    index += np.uint16(_LUT_SIZE) * ((img >= low) & (img <= high))
    grey = np.linspace(0.0, 1.0, _LUT_SIZE)
    table = np.concatenate(
        [render(grey, np.zeros(_LUT_SIZE, bool)), render(grey, np.ones(_LUT_SIZE, bool))]
    )
    return np.take(table, index, axis=0)


def _levels(dtype: np.dtype) -> np.ndarray:
    return np.arange(np.iinfo(dtype).max + 1, dtype=np.float64)


def _lut_index(values: np.ndarray, low: float, high: float) -> np.ndarray:
    """Index (uint16) of the nearest of ``_LUT_SIZE`` steps from ``low`` to ``high``."""
    t = np.subtract(values, low, dtype=np.float32)
    t *= (_LUT_SIZE - 1) / (high - low) if high > low else 0.0
    np.clip(t, 0, _LUT_SIZE - 1, out=t)
    t += 0.5
    return t.astype(np.uint16)


def _to_uint8(rgb: np.ndarray) -> np.ndarray:
    out = rgb * 255.0
    np.rint(out, out=out)
    return out.astype(np.uint8)
