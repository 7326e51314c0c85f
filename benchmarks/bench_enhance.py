"""Time every scanlab.enhance filter and preset on a 1,500 x 6,000 uint16 scan.

Run: ``.venv/bin/python benchmarks/bench_enhance.py [--rows 1500 --cols 6000 --cores 2]``.

Each line gives the best of several runs in ms and, where scikit-image has an equivalent,
its time in the same process and the speed-up (skimage time / scanlab time). Presets run on
the float32 attenuation a calibrated Scan gives (the conversion is timed on its own line),
and are flagged against the 100 ms an interactive slider allows.
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable
from functools import partial
from typing import Any

import cv2
import numpy as np

INTERACTIVE_MS = 100.0


def synthetic_scan(rows: int, cols: int, *, seed: int = 0) -> np.ndarray:
    """Seeded uint16 counts of a truck-like scene: air, a container, cargo, noise, stripes."""
    rng = np.random.default_rng(seed)
    att = np.zeros((rows, cols), dtype=np.float32)
    top, bottom = rows // 5, rows - rows // 10
    left, right = cols // 12, cols - cols // 30
    att[top:bottom, left:right] += 0.25  # container walls seen face on
    att[top : top + 8, left:right] += 1.5  # roof
    att[bottom - 20 : bottom, left:right] += 2.5  # floor and chassis
    att[top:bottom, left : left + 30] += 3.0  # front wall and frame
    for _ in range(160):  # boxes and pallets of random density
        r0 = int(rng.integers(top + 10, bottom - 60))
        c0 = int(rng.integers(left + 40, right - 200))
        h, w = int(rng.integers(30, bottom - r0)), int(rng.integers(40, 400))
        att[r0 : r0 + h, c0 : c0 + w] += float(rng.uniform(0.05, 0.9))
    att[rows // 2 : rows // 2 + 120, cols // 2 : cols // 2 + 90] += 4.0  # a dense block
    att += cv2.GaussianBlur(rng.normal(0, 0.15, (rows, cols)).astype(np.float32), (0, 0), 6)
    np.maximum(att, 0, out=att)
    counts = 60000.0 * np.exp(-att)
    counts += rng.normal(0.0, 1.0, counts.shape).astype(np.float32) * np.sqrt(counts + 400.0)
    counts[rows // 3] *= 0.9  # a weak detector element
    return np.clip(counts, 0, 65535).astype(np.uint16)


def best_ms(func: Callable[[], Any], *, repeat: int) -> float:
    func()  # warm up (allocations, OpenCV kernels)
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return 1000.0 * min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1500)
    parser.add_argument("--cols", type=int, default=6000)
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    if hasattr(os, "sched_setaffinity") and len(os.sched_getaffinity(0)) > args.cores:
        os.sched_setaffinity(0, set(sorted(os.sched_getaffinity(0))[: args.cores]))
    cv2.setNumThreads(args.cores)

    import skimage
    from skimage import exposure, filters, restoration, util

    from scanlab import enhance as en
    from scanlab.io import Scan

    counts = synthetic_scan(args.rows, args.cols)
    scan = Scan(counts, "counts")
    att = scan.to_attenuation().high
    counts_f = counts.astype(np.float32)
    crop_u = np.ascontiguousarray(counts[600:856, 3000:3256])
    crop_f = np.ascontiguousarray(att[600:856, 3000:3256])
    noise_att = en.estimate_noise(att)
    lo, hi = np.percentile(att, [0.5, 99.5])

    print(
        f"scanlab.enhance on {args.rows} x {args.cols} uint16 counts, {args.cores} cores "
        f"(cv2 {cv2.__version__}, skimage {skimage.__version__}, numpy {np.__version__})"
    )
    header = f"{'function':44s} {'scanlab ms':>11s} {'skimage ms':>11s} {'speed-up':>9s}"
    print(header)
    print("-" * len(header))

    def row(
        name: str,
        ours: Callable[[], Any],
        theirs: Callable[[], Any] | None = None,
        *,
        repeat: int | None = None,
    ) -> float:
        n = args.repeat if repeat is None else repeat
        ours_ms = best_ms(ours, repeat=n)
        line = f"{name:44s} {ours_ms:11.1f}"
        if theirs is not None:
            theirs_ms = best_ms(theirs, repeat=max(1, min(n, 2)))
            line += f" {theirs_ms:11.1f} {theirs_ms / ours_ms:8.1f}x"
        print(line, flush=True)
        return ours_ms

    row("Scan.to_attenuation (counts -> float32)", lambda: scan.to_attenuation())
    row("log_view(u16)", lambda: en.log_view(counts, air_level=60000.0))
    row(
        "window_level(f32, percentiles)",
        lambda: en.window_level(att),
        lambda: exposure.rescale_intensity(
            att, in_range=tuple(np.percentile(att, [0.5, 99.5])), out_range=(0.0, 1.0)
        ),
    )
    row(
        "window_level(u16, level/width)",
        lambda: en.window_level(counts, level=30000, width=20000),
        lambda: exposure.rescale_intensity(counts, in_range=(20000, 40000)),
    )
    row(
        "adjust_gamma(u16)",
        lambda: en.adjust_gamma(counts, 0.7),
        lambda: exposure.adjust_gamma(counts, 0.7),
    )
    row("adjust_gamma(f32)", lambda: en.adjust_gamma(att, 0.7))
    row("negative(u16)", lambda: en.negative(counts), lambda: util.invert(counts))
    row("negative(f32)", lambda: en.negative(att))
    row(
        "equalize_hist(u16, 65536 levels)",
        lambda: en.equalize_hist(counts),
        lambda: exposure.equalize_hist(counts, nbins=65536),
    )
    row(
        "equalize_hist(f32, 65536 bins)",
        lambda: en.equalize_hist(att),
        lambda: exposure.equalize_hist(att, nbins=65536),
    )
    row(
        "clahe(u16, 256 px tiles)",
        lambda: en.clahe(counts),
        lambda: exposure.equalize_adapthist(counts, kernel_size=256),
        repeat=2,
    )
    row("clahe(f32)", lambda: en.clahe(att), repeat=2)
    row(
        "unsharp_mask(u16, radius 2)",
        lambda: en.unsharp_mask(counts),
        lambda: filters.unsharp_mask(counts, radius=2.0, amount=1.0, preserve_range=True),
    )
    row(
        "unsharp_mask(f32, radius 2)",
        lambda: en.unsharp_mask(att),
        lambda: filters.unsharp_mask(att, radius=2.0, amount=1.0, preserve_range=True),
    )
    row("edge_enhance(f32, both)", lambda: en.edge_enhance(att))
    row("edge_enhance(f32, horizontal)", lambda: en.edge_enhance(att, direction="horizontal"))
    row("edge_outline(u16)", lambda: en.edge_outline(counts), lambda: filters.sobel(counts))
    row("edge_outline(f32)", lambda: en.edge_outline(att), lambda: filters.sobel(att))
    square3 = np.ones((3, 3), dtype=bool)
    row(
        "denoise_median(u16, 3)",
        lambda: en.denoise_median(counts),
        lambda: filters.median(counts, square3),
    )
    row(
        "denoise_median(f32, 5)",
        lambda: en.denoise_median(att, size=5),
        lambda: filters.median(att, np.ones((5, 5), dtype=bool)),
        repeat=2,
    )
    row("denoise_median(f32, 7) [scipy]", lambda: en.denoise_median(att, size=7), repeat=1)
    row(
        "denoise_bilateral(256x256 f32 crop)",
        lambda: en.denoise_bilateral(crop_f, sigma_color=3 * noise_att, sigma_spatial=1.0),
        lambda: restoration.denoise_bilateral(
            crop_f, sigma_color=3 * noise_att, sigma_spatial=1.0, win_size=7
        ),
        repeat=3,
    )
    row(
        "denoise_bilateral(f32 full)",
        lambda: en.denoise_bilateral(att, sigma_color=3 * noise_att),
        repeat=2,
    )
    row("denoise_bilateral(u16 full)", lambda: en.denoise_bilateral(counts), repeat=2)
    row(
        "denoise_nl_means(256x256 f32 crop)",
        lambda: en.denoise_nl_means(crop_f, h=noise_att),
        lambda: restoration.denoise_nl_means(
            crop_f, h=noise_att, patch_size=5, patch_distance=5, fast_mode=True
        ),
        repeat=2,
    )
    row("denoise_nl_means(256x256 u16 crop)", lambda: en.denoise_nl_means(crop_u), repeat=2)
    row("denoise_nl_means(u16 full)", lambda: en.denoise_nl_means(counts), repeat=1)
    row("flat_field(u16)", lambda: en.flat_field(counts))
    row("destripe(f32, rows and cols)", lambda: en.destripe(att), repeat=2)
    row("destripe(u16, gain)", lambda: en.destripe(counts, model="gain"), repeat=2)
    row("pseudo_colour(u16)", lambda: en.pseudo_colour(counts))
    row("pseudo_colour(f32)", lambda: en.pseudo_colour(att))
    row("density_highlight(f32)", lambda: en.density_highlight(att, band=(2.5, 5.0)))
    row("density_highlight(u16)", lambda: en.density_highlight(counts, band=(2000, 8000)))
    row("high_penetration(f32)", lambda: en.high_penetration(att))
    row("low_density(f32)", lambda: en.low_density(att))
    tiled = partial(en.unsharp_mask, radius=2.0)
    row(
        "apply_tiled(unsharp_mask f32, 256-row bands)",
        lambda: en.apply_tiled(tiled, att, tile_rows=256),
        repeat=2,
    )
    del counts_f, lo, hi

    # dual energy: the low channel of the same scene with material-dependent ratios
    att_low = (att * np.float32(1.16)).astype(np.float32)
    att_low[args.rows // 2 : args.rows // 2 + 120, args.cols // 2 : args.cols // 2 + 90] *= (
        np.float32(1.13 / 1.16)
    )
    en.material_curves()  # computed once per scanner and cached
    row(
        "material_curves (uncached: physics curves)",
        lambda: (en._material._curves.cache_clear(), en.material_curves()),
        repeat=3,
    )
    row("ratio_image(f32 pair, radius 1)", lambda: en.ratio_image(att, att_low, radius=1.0))
    row("material_classes(f32 pair)", lambda: en.material_classes(att, att_low))
    row("material_colour(f32 pair)", lambda: en.material_colour(att, att_low))
    row("organic_only(f32 pair)", lambda: en.organic_only(att, att_low))

    print()
    print(f"presets on float32 attenuation (interactive target {INTERACTIVE_MS:.0f} ms)")
    small = np.ascontiguousarray(att[::2, ::2])
    dual = Scan(np.stack([att, att_low]), "attenuation")
    dual_small = Scan(np.stack([small, np.ascontiguousarray(att_low[::2, ::2])]), "attenuation")
    for name in en.list_presets():
        pipe = en.load_preset(name)
        full_in, small_in = (dual, dual_small) if name == "material" else (att, small)
        full = best_ms(lambda pipe=pipe, x=full_in: pipe.apply(x), repeat=args.repeat)
        verdict = "ok" if full <= INTERACTIVE_MS else "SLOW"
        half = best_ms(lambda pipe=pipe, x=small_in: pipe.apply(x), repeat=args.repeat)
        print(
            f"{'preset ' + name:44s} {full:11.1f}  {verdict:4s}  "
            f"(display resolution {small.shape[0]}x{small.shape[1]}: {half:.1f} ms)"
        )


if __name__ == "__main__":
    main()
