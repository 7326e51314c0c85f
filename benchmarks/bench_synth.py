"""Time to simulate a 40 ft container scan (about 920 x 3,060 dual-energy pixels) on one core.

Prints the time per scan and per megapixel for a few loads, and, as the reference, the time
the same scene takes with the exact polyenergetic sum instead of the precomputed basis lookup
(run on a strip of the scene, scaled per megapixel).
Run: .venv/bin/python benchmarks/bench_synth.py
"""

from __future__ import annotations

import os

for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = "1"

import time  # noqa: E402

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from scanlab.synth import SceneSpec, generate_scene  # noqa: E402
from scanlab.synth._scene import _physics  # noqa: E402

cv2.setNumThreads(1)


def best_of(n: int, fn):  # type: ignore[no-untyped-def]
    times = []
    for _ in range(n):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return min(times), result


def main() -> None:
    generate_scene(SceneSpec("container_20ft", "empty", 0.0), 0, pitch_mm=20.0)  # warm caches
    print("scanlab synth benchmark (one core)")
    print(f"{'scene':45s} {'shape':>12s} {'s/scan':>8s} {'s/MP':>7s}")
    specs = [
        SceneSpec("container_40ft", "empty", 0.0),
        SceneSpec("container_40ft", "paper_goods", 0.9, ["drugs_in_cargo", "pistol"]),
        SceneSpec("container_40ft", "tyres", 0.9, ["drugs_in_tyre"]),
        SceneSpec("container_40ft", "mixed", 0.9, ["false_wall", "stowaway"]),
    ]
    worst = 0.0
    for i, spec in enumerate(specs):
        seconds, scene = best_of(3, lambda spec=spec, i=i: generate_scene(spec, i))
        rows, cols = scene.scan.shape
        mp = rows * cols / 1e6
        worst = max(worst, seconds)
        label = f"{spec.vehicle} {spec.cargo} {'+'.join(spec.concealments) or 'clean'}"
        print(f"{label:45s} {rows:5d} x {cols:5d} {seconds:8.2f} {seconds / mp:7.3f}")
    # Reference: the exact polyenergetic transmission (no lookup) on a 100-column strip.
    scene = generate_scene(specs[1], 1)
    _scanner, lookup = _physics(specs[1].scanner)
    strip = np.ascontiguousarray(scene.ideal_attenuation[:, :, 1000:1100])
    basis = np.zeros((3, *strip.shape[1:]), np.float32)
    basis[0] = strip[0] / 0.06  # a representative organic-equivalent map of the same size
    exact, _ = best_of(1, lambda: lookup.exact_attenuation(basis))
    fast, _ = best_of(3, lambda: lookup.transmission(basis))
    strip_mp = strip.shape[1] * strip.shape[2] / 1e6
    print(
        f"reference exact polyenergetic sum: {exact / strip_mp:.2f} s/MP; "
        f"lookup: {fast / strip_mp:.3f} s/MP; ratio {exact / fast:.0f}x"
    )
    print(f"slowest 40 ft scan: {worst:.2f} s (target: under 2 s on one core)")


if __name__ == "__main__":
    main()
