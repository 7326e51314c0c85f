"""A small deterministic dual-energy test scan, built without the simulator."""

from __future__ import annotations

from datetime import datetime

import numpy as np

from scanlab.io._scan import Representation, Scan, ScanMetadata

__all__ = ["example_scan"]


def example_scan(*, rows: int = 96, cols: int = 320, seed: int = 0) -> Scan:
    """A container-like test pattern: walls, a steel step wedge, an organic block, noise.

    Attenuation uses fixed effective coefficients (iron 0.030/cm high, 0.034/cm low at the
    densities used; organic 0.0045 and 0.0047 per cm): enough for file-format round trips and
    quick tests. Physically grounded scenes come from :mod:`scanlab.synth`.

    Examples
    --------
    >>> scan = example_scan(rows=32, cols=64)
    >>> scan.shape, scan.data.dtype.name, scan.metadata.energies_mev
    ((32, 64), 'uint16', (6.0, 4.0))
    """
    rng = np.random.default_rng(seed)
    steel_cm = np.zeros((rows, cols), np.float32)
    organic_cm = np.zeros((rows, cols), np.float32)
    top, bottom, left, right = rows // 8, rows - rows // 8, cols // 16, cols - cols // 16
    steel_cm[top:bottom, left:right] = 0.4  # two 2 mm side walls
    steel_cm[top:bottom, left : left + 3] += 8.0  # corner posts seen end-on
    steel_cm[top:bottom, right - 3 : right] += 8.0
    steel_cm[bottom - 3 : bottom, left:right] += 3.0  # floor
    wedge_cols = np.array_split(np.arange(left + 10, left + 10 + cols // 4), 5)
    for step, cs in enumerate(wedge_cols, start=1):
        steel_cm[rows // 3 : bottom - 3, cs] += 4.0 * step
    organic_cm[rows // 4 : bottom - 3, cols // 2 : cols // 2 + cols // 4] = 120.0
    att_high = 0.030 * steel_cm + 0.0045 * organic_cm
    att_low = 0.034 * steel_cm + 0.0047 * organic_cm
    air, dark = 60000.0, 500.0
    signal = np.stack([np.exp(-att_high), np.exp(-att_low)]) * (air - dark)
    noisy = rng.poisson(signal).astype(np.float32) + dark
    data = np.clip(np.rint(noisy), 0, 65535).astype(np.uint16)
    meta = ScanMetadata(
        scan_id=f"example-{seed}",
        scanner_model="scanlab-example",
        energies_mev=(6.0, 4.0),
        pitch_mm=(5.0, 5.0),
        scan_direction="left_to_right",
        vehicle_type="container_20ft",
        acquired=datetime(2026, 1, 1, 12, 0, 0),
        air_level=(air, air),
        dark_level=(dark, dark),
        attributes={"generator": "scanlab.io.example_scan", "seed": seed},
    )
    return Scan(data, Representation.COUNTS, meta, source=f"<example seed={seed}>")
