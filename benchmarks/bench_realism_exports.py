"""How far scanlab's vendor exports are from real ones: ../shared/realism/compare.py, per commodity.

Run: ``.venv/bin/python benchmarks/bench_realism_exports.py [--per-goods 30] [--out DIR]
[--pipeline family|linear|log|...] [--scanner scanlab-6MV-portal|...] [--goods coffee ...]
[--subpixels 2]``.

For each commodity of the real set (242 real 8-bit exports of container scans from one
customs administration, described by statistics only in ``../shared/realism``), simulates
``--per-goods`` clean scenes of that load in the containers it travels in, renders each as a
vendor export (:func:`scanlab.synth.render_export`: crop to the container plus a chassis
strip, tone curve, noise reduction, sharpening, JPEG; each export's pipeline drawn around the
compressive ``log`` member of the vendor family by default, whose grey levels of walls and
loads come closest to the real set's; ``--pipeline linear`` for the transmission-linear one;
scenes scanned by the drive-through portal preset by default; each container near-empty,
part-loaded or full in the real set's shares for its commodity, ``--all-full`` for full
boxes only; ``--subpixels 2`` draws each scene twice as finely per axis and reads each
pixel's mean transmission over its aperture, :func:`scanlab.synth.generate_scene`), and
runs ``compare.py`` on each commodity's exports and on all of them. Prints the
cross-validated logistic AUROC (0.5: the statistics cannot tell the sets apart; 1.0:
always), the number of single statistics above 0.9, and the statistics that separate most.
The real images are never read: only their statistics.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from scanlab.physics import scanner_names
from scanlab.synth import (
    CARGO_TYPES,
    REAL_GOODS,
    VENDOR_PIPELINES,
    SceneSpec,
    generate_scene,
    random_pipeline,
    real_goods_fill,
    real_goods_vehicle,
    render_export,
)

GOODS = REAL_GOODS

REPO = Path(__file__).resolve().parents[1]


def render_goods(
    goods: str,
    n: int,
    out: Path,
    pipeline: str,
    seed0: int,
    scanner: str,
    traffic: bool = True,
    subpixels: int = 1,
) -> tuple[int, float]:
    """Render ``n`` exports of one commodity into ``out``; (count, seconds). With ``traffic``
    each container is near-empty, part-loaded or full in the real set's shares for the
    commodity (:func:`scanlab.synth.real_goods_fill`), else full (fill 0.75-1)."""
    cargo = GOODS[goods][0]
    out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    for i in range(n):
        rng = np.random.default_rng([seed0, i])
        fill = real_goods_fill(goods, rng) if traffic else float(rng.uniform(0.75, 1.0))
        vehicle = real_goods_vehicle(goods, rng)
        scene = generate_scene(
            SceneSpec(vehicle, cargo, fill, scanner=scanner),
            seed=seed0 * 1000 + i,
            subpixels=subpixels,
        )
        family = tuple(p for p in VENDOR_PIPELINES if p != "scanlab-classic")
        chosen = random_pipeline(rng, family=family if pipeline == "family" else (pipeline,))
        export = render_export(scene.scan, chosen, body_px=scene.key.attributes["body_px"], rng=rng)
        path = out / f"{cargo}-{i:03d}.jpg"
        if export.encoded is not None:
            path.write_bytes(export.encoded)
        else:
            import cv2

            cv2.imwrite(str(path.with_suffix(".png")), export.scan.data[0])
    return n, time.perf_counter() - start


def compare(folder: Path, realism: Path, goods: str | None, top: int) -> tuple[float, int, str]:
    """Run compare.py; (logistic AUROC, single statistics above 0.9, its whole output)."""
    cmd = [sys.executable, str(realism / "compare.py"), str(folder), "--top", str(top)]
    if goods:
        cmd += ["--goods", goods]
    text = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    auroc = float(re.search(r"logistic regression AUROC: ([\d.]+)", text).group(1))  # type: ignore[union-attr]
    singles = int(re.search(r"AUROC > 0.9: (\d+)", text).group(1))  # type: ignore[union-attr]
    return auroc, singles, text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-goods", type=int, default=30, help="exports per commodity")
    parser.add_argument("--out", type=Path, help="keep the exports here (default: a temp dir)")
    parser.add_argument(
        "--pipeline",
        default="log",
        help="a VENDOR_PIPELINES name (each export drawn around it), or 'family' (any member)",
    )
    parser.add_argument(
        "--goods", nargs="*", default=list(GOODS), choices=list(GOODS), help="commodities to render"
    )
    parser.add_argument("--realism", type=Path, default=REPO.parent / "shared" / "realism")
    parser.add_argument("--top", type=int, default=8, help="separating statistics to show")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--all-full",
        action="store_true",
        help="every container full (fill 0.75-1), not the real set's mix of load levels",
    )
    parser.add_argument(
        "--scanner",
        default="scanlab-6MV-portal",
        choices=scanner_names(),
        help="scanner preset (default: the drive-through portal, as at container ports)",
    )
    parser.add_argument(
        "--subpixels",
        type=int,
        default=1,
        help="scene samples per pixel and axis (2: each pixel reads the mean transmission "
        "over its aperture)",
    )
    args = parser.parse_args()
    if not (args.realism / "compare.py").exists():
        sys.exit(f"no compare.py in {args.realism}: pass --realism")
    with tempfile.TemporaryDirectory() as tmp:
        out = args.out or Path(tmp)
        results = []
        for goods in args.goods:
            cargo, _ = GOODS[goods]
            if cargo not in CARGO_TYPES:
                print(f"{goods}: cargo type {cargo!r} is not simulated; skipped")
                continue
            n, seconds = render_goods(
                goods,
                args.per_goods,
                out / cargo,
                args.pipeline,
                # by the commodity's place in REAL_GOODS, so that ``--goods`` alone renders
                # the same exports as the whole run
                100 + list(GOODS).index(goods),
                args.scanner,
                traffic=not args.all_full,
                subpixels=args.subpixels,
            )
            auroc, singles, text = compare(out / cargo, args.realism, goods, args.top)
            results.append((goods, n, auroc, singles))
            print(f"== {goods}: {n} exports in {seconds:.0f} s")
            print(text.rstrip())
        auroc, singles, text = compare(out, args.realism, None, args.top * 2)
        print("== all commodities")
        print(text.rstrip())
        print()
        print(f"{'commodity':16s} {'exports':>7s} {'AUROC':>6s} {'single>0.9':>10s}")
        for goods, n, a, s in results:
            print(f"{goods:16s} {n:7d} {a:6.3f} {s:10d}")
        total = sum(r[1] for r in results)
        print(f"{'all':16s} {total:7d} {auroc:6.3f} {singles:10d}")


if __name__ == "__main__":
    main()
