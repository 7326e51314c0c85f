"""Time to render the reference library's entries (the Reference widget's work), first time
and from the cache, at the widget's 10 mm pitch on one core.

Prints, per kind (threat, concealment, commodity), the median and worst time of a first
render over every entry, and the median time of the same call again (cached), with the ratio.
The first render of each kind starts from warm physics tables (loaded once per process).
Run: .venv/bin/python benchmarks/bench_reference.py
"""

from __future__ import annotations

import os

for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = "1"

import statistics  # noqa: E402
import time  # noqa: E402

import cv2  # noqa: E402

from scanlab.synth import REFERENCE_KINDS, reference_image, reference_names  # noqa: E402

cv2.setNumThreads(1)
PITCH_MM = 10.0


def timed(kind: str, name: str) -> float:
    start = time.perf_counter()
    reference_image(kind, name, pitch_mm=PITCH_MM)
    return time.perf_counter() - start


def main() -> None:
    reference_image("commodity", "rice", pitch_mm=25.0)  # physics tables loaded, not timed
    print(f"scanlab reference library benchmark (one core, {PITCH_MM:g} mm pitch)")
    print(f"{'kind':12s} {'entries':>7s} {'first med':>10s} {'first max':>10s} "
          f"{'cached med':>11s} {'first/cached':>13s}")  # fmt: skip
    for kind in REFERENCE_KINDS:
        names = reference_names(kind)
        first = [timed(kind, n) for n in names]
        cached = [timed(kind, n) for n in names]
        med, worst, again = statistics.median(first), max(first), statistics.median(cached)
        print(f"{kind:12s} {len(names):7d} {med:9.3f}s {worst:9.3f}s {again * 1e6:9.1f}us "
              f"{med / again:12.0f}x")  # fmt: skip


if __name__ == "__main__":
    main()
