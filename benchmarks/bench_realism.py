"""N42.46-style penetration, contrast sensitivity and resolution of every scanner preset.

Run: ``.venv/bin/python benchmarks/bench_realism.py [--pitch 5 --seeds 3]``.

Each preset scans the step wedge with lead blocks, the contrast target and the line pairs
and edges (:mod:`scanlab.synth._n4246`); the figures of every seed are printed beside the
ranges real linac systems reach (Varian, "X-ray cargo inspection: status and trends",
AIP Conf. Proc. 2009: resolution 3-5 mm, penetration ~200-450 mm of steel, contrast
sensitivity 1-4 %), with the time each test took.
"""

from __future__ import annotations

import argparse
import math
import time
from collections.abc import Callable
from typing import Any

from scanlab.physics import basis_lookup, get_scanner, scanner_names
from scanlab.synth._n4246 import CRITERION, contrast_test, penetration_test, resolution_test

REAL = {"penetration": "250-400 mm", "contrast": "1-4 %", "resolution": "3-5 mm"}


def timed(func: Callable[..., Any], *args: Any, **kwargs: Any) -> tuple[Any, float]:
    start = time.perf_counter()
    out = func(*args, **kwargs)
    return out, time.perf_counter() - start


def pct(value: float) -> str:
    return ">10" if math.isinf(value) else f"{value:g}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pitch", type=float, default=5.0, help="pixel pitch in mm")
    parser.add_argument("--seeds", type=int, default=3, help="noise seeds per preset")
    args = parser.parse_args()

    print(f"criterion: {CRITERION}\n")
    for name in scanner_names():
        scanner = get_scanner(name)
        _, table_s = timed(basis_lookup, scanner)
        print(f"{name} (pitch {args.pitch:g} mm; lookup table {table_s:.2f} s)")
        for seed in range(args.seeds):
            kw: dict[str, Any] = {"pitch_mm": args.pitch, "seed": seed}
            pen, pen_s = timed(penetration_test, scanner, **kw)
            con, con_s = timed(contrast_test, scanner, **kw)
            res, res_s = timed(resolution_test, scanner, **kw)
            area = ", ".join(f"{b:g} mm: {pct(v)}" for b, v in con.sensitivity_pct.items())
            pixel = ", ".join(pct(v) for v in con.sensitivity_pixel_pct.values())
            mtf = ", ".join(f"{a} {v:.1f}" for a, v in res.mtf50_mm.items())
            print(
                f"  seed {seed}\n"
                f"    penetration   {pen.penetration_mm:5.0f} mm (1-px detail "
                f"{pen.penetration_pixel_mm:.0f} mm)   real {REAL['penetration']}"
                f"   {pen_s:.2f} s\n"
                f"    contrast      {area} % (1-px detail {pixel} %)   real "
                f"{REAL['contrast']}   {con_s:.2f} s\n"
                f"    resolution    {max(res.resolution_mm.values()):5.1f} mm (MTF50 as bar "
                f"width: {mtf} mm)   real {REAL['resolution']}   {res_s:.2f} s"
            )


if __name__ == "__main__":
    main()
