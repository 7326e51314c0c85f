"""What trainees see: scans rendered as scanners export them (8-bit, vendor contrast curve)."""

from __future__ import annotations

import dataclasses

import numpy as np

from scanlab.io import Representation, Scan

__all__ = ["display_to_attenuation", "render_display"]


def render_display(
    scan: Scan,
    *,
    contrast: float = 0.41,
    power: float = 0.6,
    black_attenuation: float = 10.0,
    bits: int = 8,
    channel: int = 0,
    rng: np.random.Generator | None = None,
) -> Scan:
    """Render a calibrated scan as a vendor's display export: white air, dark steel.

    Grey level ``exp(-contrast * A ** power)`` of one channel's attenuation
    ``A = -ln(I/I0)`` (the high energy by default), stretched so that ``black_attenuation``
    is black. Between a plain transmission display (too dark for the thick cargo) and a
    linear log display (too flat in the thin walls), this compressive curve gives what real
    exports show: an empty container's interior at about 90 % of the air level, 2.4 m of
    floor plywood at mid-grey and dense loads near black. The defaults were chosen against
    those grey levels; they are the display's choice, not physics. With ``rng`` the levels are
    dithered before rounding, so 8 bits show no banding.

    Examples
    --------
    >>> from scanlab.io import example_scan
    >>> shown = render_display(example_scan(rows=32, cols=64))
    >>> shown.representation.value, shown.data.dtype.name, shown.n_channels
    ('display', 'uint8', 1)
    """
    att = np.maximum(scan.to_attenuation().data[channel], np.float32(0.0))
    full = float(2**bits - 1)
    black = np.exp(-contrast * black_attenuation**power)
    level = np.exp(np.float32(-contrast) * att ** np.float32(power))
    level = (level - np.float32(black)) * np.float32(full / (1.0 - black))
    if rng is not None:
        level += rng.uniform(-0.5, 0.5, size=level.shape).astype(np.float32)
    dtype = np.uint8 if bits <= 8 else np.uint16
    pixels = np.clip(np.rint(level), 0, full).astype(dtype)
    energies = scan.metadata.energies_mev[channel : channel + 1]
    meta = dataclasses.replace(
        scan.metadata,
        energies_mev=energies,
        air_level=None,
        dark_level=None,
        attributes={
            **scan.metadata.attributes,
            "display": {
                "contrast": contrast,
                "power": power,
                "black_attenuation": black_attenuation,
                "bits": bits,
            },
        },
    )
    return scan.replace(data=pixels, representation=Representation.DISPLAY, metadata=meta)


def display_to_attenuation(
    scan: Scan,
    *,
    contrast: float | None = None,
    power: float | None = None,
    black_attenuation: float | None = None,
) -> np.ndarray:
    """Approximate attenuation of a display image by inverting the display curve.

    Uses the curve parameters recorded by :func:`render_display` when the scan has them, else
    scanlab's defaults: for a real vendor export this is an assumption (vendors do not publish
    their curves), good enough to add a threat and render the image again. Returns float32
    (row, col) of the first channel.
    """
    recorded = scan.metadata.attributes.get("display", {})
    c = contrast if contrast is not None else float(recorded.get("contrast", 0.41))
    p = power if power is not None else float(recorded.get("power", 0.6))
    b = (
        black_attenuation
        if black_attenuation is not None
        else float(recorded.get("black_attenuation", 10.0))
    )
    full = float(np.iinfo(scan.data.dtype).max) if scan.data.dtype.kind == "u" else 1.0
    black = np.exp(-c * b**p)
    level = np.asarray(scan.data[0], dtype=np.float32) / np.float32(full) * np.float32(
        1 - black
    ) + np.float32(black)
    level = np.clip(level, np.float32(black), np.float32(1.0))
    return ((-np.log(level) / np.float32(c)) ** np.float32(1.0 / p)).astype(np.float32)
