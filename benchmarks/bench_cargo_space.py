"""How well the cargo space (roof, floor, end walls) is found in bare vendor exports.

Full containers of dense goods (frozen beef, cotton, sugar), paper goods on pallets and empty
ones are simulated, exported through the vendor pipelines of ``scanlab.synth`` (cropped to the
body a few rows above the roof, tilted, smoothed, each vendor's tone curve, JPEG) and read
back without metadata, as an instructor's folder of exports is. For each, the floor row found
by :func:`scanlab.synth.analyse_host` is compared with the simulator's own (the top of the
floor, moved onto the export by the export's geometry), and the cargo space's length with the
container's. Errors are in per cent of the roof-to-floor height; refusals are counted.

Run: ``.venv/bin/python benchmarks/bench_cargo_space.py [--seeds 2]``.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from scanlab.errors import SpecError
from scanlab.io import Representation, Scan, ScanMetadata
from scanlab.synth import SceneSpec, analyse_host, generate_scene, render_export
from scanlab.synth._vehicles import vehicle_extent_mm

LOADS = ("frozen_beef", "cotton", "sugar", "paper_goods", "empty")
VEHICLES = ("container_20ft", "container_40ft")
PIPELINES = ("linear", "gamma-lifted", "log")


def floor_error(cargo: str, vehicle: str, pipeline: str, seed: int) -> tuple[float, float]:
    """(floor error, length found / true length), the error in % of the roof-to-floor height."""
    pitch = 10.0
    sc = generate_scene(SceneSpec(vehicle, cargo, 1.0, []), seed, pitch_mm=pitch)
    export = render_export(
        sc.scan,
        pipeline,
        body_px=tuple(sc.key.attributes["body_px"]),
        rng=np.random.default_rng(seed),
    )
    bare = Scan(
        export.scan.data,
        Representation.DISPLAY,
        ScanMetadata(energies_mev=(1.0,), attributes={"display_bit_depth": 8}),
        source=f"{cargo}-{vehicle}-{pipeline}-{seed}.jpg",
    )
    region = analyse_host(bare).region
    _, height = vehicle_extent_mm(vehicle)
    space = sc.layout.cargo
    m, col = export.matrix, (space.x0 + space.x1) / 2 / pitch
    floor, ceiling = (
        m[1, 0] * col + m[1, 1] * (height - z) / pitch + m[1, 2] for z in (space.z0, space.z1)
    )
    row = (height - space.z0) / pitch
    front, rear = (m[0, 0] * x / pitch + m[0, 1] * row + m[0, 2] for x in (space.x0, space.x1))
    _, c0, _, c1 = region.interior
    return 100 * (region.floor_row - floor) / (floor - ceiling), (c1 - c0) / (rear - front)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=2, help="scenes per load and pipeline")
    args = parser.parse_args()
    start = time.perf_counter()
    errors, lengths, refused = [], [], 0
    for cargo in LOADS:
        per_load = []
        for vehicle in VEHICLES:
            for pipeline in PIPELINES:
                for seed in range(1, 1 + args.seeds):
                    try:
                        err, share = floor_error(cargo, vehicle, pipeline, seed)
                    except SpecError as exc:
                        refused += 1
                        print(f"  refused: {str(exc)[:100]}")
                        continue
                    per_load.append(err)
                    lengths.append(share)
        errors += per_load
        a = np.abs(per_load)
        print(
            f"{cargo:12s} floor error (% of height): median {np.median(a):.1f}, "
            f"max {a.max():.1f} over {len(a)} exports"
            if len(a)
            else f"{cargo:12s} every export refused"
        )
    if not errors:
        print(f"all {refused} exports refused")
        return
    a, length = np.abs(errors), np.array(lengths)
    print(
        f"all: floor error median {np.median(a):.1f} %, max {a.max():.1f} %, within 2 %: "
        f"{(a <= 2).sum()}/{len(a)}; cargo space length / container's: median "
        f"{np.median(length):.3f}, min {length.min():.3f}; refused {refused} "
        f"({time.perf_counter() - start:.0f} s)"
    )


if __name__ == "__main__":
    main()
