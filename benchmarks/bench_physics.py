"""Time the conversion of basis-material maps to dual-energy detector counts.

Run: ``.venv/bin/python benchmarks/bench_physics.py [--rows 1000 --cols 3000]``.

A seeded truck-like scene of (polyethylene, iron, lead) areal densities goes through the
scanner's precomputed table (:meth:`BasisLookup.transmission`, and the signal + noise pair
:meth:`BasisLookup.moments` that :func:`acquire` uses) and the full acquisition. The exact
polyenergetic sum over the spectra's 100 energy bins, run in the same process on a patch
of the scene, gives the reference time per megapixel, the speed-up of the table and its
largest error there.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from scanlab.physics import acquire, basis_lookup, get_scanner


def synthetic_maps(rows: int, cols: int, *, seed: int = 0) -> np.ndarray:
    """Seeded (3, rows, cols) float32 areal densities (g/cm²): container, cargo, lead."""
    rng = np.random.default_rng(seed)
    maps = np.zeros((3, rows, cols), dtype=np.float32)
    organic, iron, lead = maps
    top, bottom = rows // 5, rows - rows // 10
    left, right = cols // 12, cols - cols // 30
    iron[top:bottom, left:right] += 2 * 0.2 * 7.85  # two 2 mm corrugated side walls
    iron[bottom - 20 : bottom, left:right] += 40.0  # floor cross-members and chassis
    iron[top:bottom, left : left + 30] += 60.0  # front wall and frame
    organic[bottom - 20 : bottom, left:right] += 15.0  # plywood floor
    for _ in range(160):  # pallets of goods of random density and composition
        r0 = int(rng.integers(top + 10, bottom - 60))
        c0 = int(rng.integers(left + 40, right - 200))
        h, w = int(rng.integers(30, bottom - r0)), int(rng.integers(40, 400))
        organic[r0 : r0 + h, c0 : c0 + w] += float(rng.uniform(5.0, 60.0))
        iron[r0 : r0 + h, c0 : c0 + w] += float(rng.uniform(0.0, 8.0))
    r, c = rows // 2, cols // 2
    iron[r : r + 120, c : c + 90] += 120.0  # an engine block
    lead[r + 30 : r + 60, c - 300 : c - 260] += 56.0  # 5 cm of lead shielding
    return maps


def best_s(func: Callable[[], Any], *, repeat: int) -> float:
    func()  # warm up: page faults of the outputs, caches
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1000)
    parser.add_argument("--cols", type=int, default=3000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    scanner = get_scanner("scanlab-6MV-dual")
    start = time.perf_counter()
    lookup = basis_lookup(scanner)
    build_s = time.perf_counter() - start
    maps = synthetic_maps(args.rows, args.cols)
    mpix = args.rows * args.cols / 1e6
    high_z = float(np.mean(maps[2] != 0))
    print(
        f"scanner {scanner.name}, table {lookup.attenuation.shape} built in {build_s:.2f} s; "
        f"scene {args.rows} x {args.cols} ({mpix:.1f} Mpx, {100 * high_z:.2f} % high-Z rays)"
    )

    rng = np.random.default_rng(0)
    steps: list[tuple[str, Callable[[], Any]]] = [
        ("table: transmission", lambda: lookup.transmission(maps)),
        ("table: transmission + noise", lambda: lookup.moments(maps)),
        ("acquire (table, blur, noise, ADC)", lambda: acquire(maps, scanner, rng=rng)),
    ]
    rows = [(label, best_s(func, repeat=args.repeat)) for label, func in steps]
    for label, seconds in rows:
        print(f"  {label:36s} {1000 * seconds:8.1f} ms   {1000 * seconds / mpix:7.1f} ms/Mpx")

    # The exact sum on a patch that holds cargo, walls and the lead block.
    r0, c0 = args.rows // 2 - 50, args.cols // 2 - 350
    patch = np.ascontiguousarray(maps[:, r0 : r0 + 100, c0 : c0 + 300])
    patch_mpix = patch[0].size / 1e6
    exact_s = best_s(lambda: lookup.exact_attenuation(patch), repeat=args.repeat)
    exact = np.exp(-lookup.exact_attenuation(patch))
    table = lookup.transmission(patch)
    useful = np.all(exact >= 4.5e-5, axis=0)
    error = float(np.abs(table / exact - 1)[:, useful].max())
    table_per_mpix = rows[0][1] / mpix
    print(
        f"  {'exact polyenergetic sum (patch)':36s} {1000 * exact_s:8.1f} ms   "
        f"{1000 * exact_s / patch_mpix:7.1f} ms/Mpx on {patch.shape[1]} x {patch.shape[2]}"
    )
    print(
        f"table is {exact_s / patch_mpix / table_per_mpix:.0f}x faster than the exact sum; "
        f"largest relative error on the patch (T >= 4.5e-5): {100 * error:.3f} %"
    )
    bound = lookup.max_error().round(5).tolist()
    print(f"table error bound over its grid, (T, T2) x (high, low): {bound}")


if __name__ == "__main__":
    main()
