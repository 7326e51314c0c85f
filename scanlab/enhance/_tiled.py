"""Running local filters tile by tile over scans too large for memory (memory maps)."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any

import numpy as np

from scanlab.errors import ScanValidationError, SpecError

__all__ = ["apply_tiled", "footprint_halo", "register_halo"]

#: For each local filter, a rule giving from its full keyword arguments how many rows of
#: neighbours one output row depends on, or None when the output depends on the whole image
#: (for example a default taken from the image's own percentiles or range).
HaloRule = Callable[[dict[str, Any], np.dtype | None], int | None]
_HALO_RULES: dict[Callable[..., Any], HaloRule] = {}


def register_halo(func: Callable[..., Any], rule: HaloRule) -> None:
    """Declare ``func`` local: ``rule(kwargs, dtype)`` gives its footprint radius in rows.

    ``dtype`` is the input's dtype, or None when not known (assume floating point).
    """
    _HALO_RULES[func] = rule


def footprint_halo(
    func: Callable[..., Any], *, dtype: np.dtype | None = None, **params: Any
) -> int | None:
    """Rows of context that ``func(image, **params)`` needs above and below each output row.

    ``func`` is a scanlab filter, or a :func:`functools.partial` of one with keyword
    arguments; ``dtype`` is the input's dtype if known. Returns ``None`` when the result
    depends on the whole image (a window from percentiles, CLAHE, a float image quantised
    over its own range) or when ``func`` is not a known scanlab filter.

    Examples
    --------
    >>> from functools import partial
    >>> from scanlab.enhance import denoise_median, window_level
    >>> footprint_halo(denoise_median, size=5)
    2
    >>> footprint_halo(partial(window_level, level=0.5, width=1.0)), footprint_halo(window_level)
    (0, None)
    """
    if isinstance(func, functools.partial):
        if func.args:
            return None
        params = {**func.keywords, **params}
        func = func.func
    rule = _HALO_RULES.get(func)
    if rule is None:
        return None
    try:
        bound = inspect.signature(func).bind(None, **params)
    except TypeError as exc:
        raise SpecError(f"{func.__name__}: {exc}") from None
    bound.apply_defaults()
    kwargs = dict(bound.arguments)
    kwargs.pop(next(iter(kwargs)))
    return rule(kwargs, None if dtype is None else np.dtype(dtype))


def apply_tiled(
    func: Callable[[np.ndarray], np.ndarray],
    image: np.ndarray,
    *,
    tile_rows: int,
    halo: int | None = None,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """Apply a local filter to horizontal bands of ``image``, each read with ``halo`` extra rows.

    Only one band (plus its halo) is in memory at a time, so ``image`` and ``out`` may be
    :class:`numpy.memmap` arrays larger than memory. With a halo at least the filter's
    footprint radius the result is bit-identical to ``func(image)``: rows near a band's edge
    are computed from real neighbours, and the band edges that touch the image edges see the
    same border handling as the whole image.

    Parameters
    ----------
    func : callable
        ``func(band) -> band`` of the same number of rows, e.g.
        ``functools.partial(unsharp_mask, radius=2.0)``. Its output may have extra trailing
        axes (RGB).
    image : (row, col) ndarray
        Input, possibly a memory map.
    tile_rows : int
        Output rows computed per band.
    halo : int, optional
        Extra rows read above and below each band. Default: the footprint of ``func`` from
        :func:`footprint_halo`; a :class:`SpecError` if that is not known.
    out : ndarray, optional
        Where to write the result (for example a writable memory map); allocated in memory
        when not given.

    Returns
    -------
    ndarray
        ``out``, filled (and flushed if it is a memory map).

    Examples
    --------
    >>> import numpy as np
    >>> from functools import partial
    >>> from scanlab.enhance import unsharp_mask
    >>> image = np.random.default_rng(0).integers(0, 4000, (100, 80), dtype=np.uint16)
    >>> sharpen = partial(unsharp_mask, radius=1.5, amount=2.0)
    >>> np.array_equal(apply_tiled(sharpen, image, tile_rows=16), sharpen(image))
    True
    """
    if not hasattr(image, "ndim") or image.ndim != 2:
        raise ScanValidationError(
            f"apply_tiled: expected a 2-D (row, col) image, got shape {np.shape(image)}"
        )
    if int(tile_rows) < 1:
        raise SpecError(f"apply_tiled: tile_rows must be at least 1, got {tile_rows}")
    tile_rows = int(tile_rows)
    if halo is None:
        halo = footprint_halo(func, dtype=image.dtype)
        if halo is None:
            name = getattr(getattr(func, "func", func), "__name__", repr(func))
            raise SpecError(
                f"apply_tiled: the footprint of {name} with these parameters is not known or "
                "it depends on the whole image; pass halo= or fix its data-dependent "
                "parameters (for example level and width instead of percentiles)"
            )
    if halo < 0:
        raise SpecError(f"apply_tiled: halo must be >= 0, got {halo}")
    rows = image.shape[0]
    for start in range(0, rows, tile_rows):
        stop = min(start + tile_rows, rows)
        first, last = max(0, start - halo), min(rows, stop + halo)
        result = func(np.asarray(image[first:last]))
        if result.shape[0] != last - first:
            raise SpecError(
                f"apply_tiled: the filter returned {result.shape[0]} rows for a band of "
                f"{last - first}; only filters that keep the image size can be tiled"
            )
        if out is None:
            out = np.empty((rows, *result.shape[1:]), dtype=result.dtype)
        elif start == 0 and out.shape != (rows, *result.shape[1:]):
            raise ScanValidationError(
                f"apply_tiled: out has shape {out.shape}, expected {(rows, *result.shape[1:])}"
            )
        out[start:stop] = result[start - first : stop - first]
    assert out is not None
    if isinstance(out, np.memmap):
        out.flush()
    return out
