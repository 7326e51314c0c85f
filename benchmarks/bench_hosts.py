"""Can a simple classifier tell projected threat edges from a real host's own edges?

Run: ``.venv/bin/python benchmarks/bench_hosts.py [--seeds 3 --hosts 10 --items 6]
[--pipelines scanlab,linear,gamma-lifted,log] [--curve stated|estimate]
[--sharpen estimate|stated|none] [--naive]``.

Hosts are clean simulated scans written as bare 8-bit JPEG exports (blurred like a vendor's
smoothing, no metadata: the display curve, pitch and blur are estimated as for a real
export), or exported through scanlab's vendor pipelines (``--pipelines``: blur in
transmission, noise reduction, sharpening, each vendor's tone curve, JPEG; their curve is
stated as an instructor would, or estimated with ``--curve estimate``). Threats are
projected into them as exams do (:func:`scanlab.synth.make_host_item`) and, with
``--naive``, for reference without blur or noise matching. Every edge of each item is found
by one detector, in the grey levels a trainee sees; those on a threat's outline are the
positives, the host's own edges of similar step the negatives. A logistic regression on the
edge's sharpness (gradient over step) and the noise beside it over its step is trained on
four fifths of the items and scores the edges of the other fifth; the AUROC printed is the
mean over the five held-out folds, and the spread over independent sets of hosts
(``--seeds``) says how far one figure can be trusted (with a few hosts it moves by 0.1).
0.5: indistinguishable. Below 0.5 the classifier learnt a direction that does not hold on
new items; ``max(AUROC, 1 - AUROC)``, the separability, is what the goal (at most 0.65) is
checked against."""

from __future__ import annotations

import argparse
import dataclasses
import tempfile
import time
from pathlib import Path

import numpy as np

from scanlab.errors import SpecError
from scanlab.synth import (
    VENDOR_PIPELINES,
    HostSpec,
    load_host,
    make_host_item,
    write_simulated_hosts,
)
from scanlab.synth._hosts import boundary_edges, item_view


def edge_table(
    host_paths: list[Path], spec: HostSpec, items: int, *, matched: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(features, label, item) of threat-boundary and host edges of similar step: sharpness
    and log noise/step, relative to the median and spread of the image's own edges (the
    step is what the host edges were matched on, so it is left out)."""
    feats, labels, groups = [], [], []
    for h, path in enumerate(host_paths):
        host = load_host(path, spec)
        if not matched:
            host = dataclasses.replace(host, image_blur_px=(0.0, 0.0), noise_blur_px=(0.0, 0.0))
        for i in range(items):
            rng = np.random.default_rng([h, i])
            try:
                item = make_host_item(host, spec, item_id=f"h{h}-{i}", n_threats=1, rng=rng)
            except SpecError:  # a host without room for the threat is skipped, as exams do
                continue
            att = item_view(item.scan)
            for obj in item.key.objects:
                on, off = boundary_edges(att, obj.full_mask(att.shape))
                if len(on) == 0:
                    continue
                lo, hi = np.percentile(on[:, 2], [10, 90])
                off = off[(off[:, 2] >= lo) & (off[:, 2] <= hi)]
                take = rng.permutation(len(off))[: 2 * len(on)]
                off = off[take]
                if len(off) < 5:
                    continue
                # Relative to this image's own edges, as an eye compares within one image.
                ref = np.c_[off[:, 0], np.log(off[:, 1] + 1e-6)]
                centre = np.median(ref, axis=0)
                spread = np.subtract(*np.percentile(ref, [75, 25], axis=0)) + 1e-6
                on, off = (
                    (np.c_[f[:, 0], np.log(f[:, 1] + 1e-6)] - centre) / spread for f in (on, off)
                )
                feats += [on, off]
                labels += [np.ones(len(on)), np.zeros(len(off))]
                groups += [np.full(len(on) + len(off), h * items + i)]
    return np.concatenate(feats), np.concatenate(labels), np.concatenate(groups)


def logistic_fit(x: np.ndarray, y: np.ndarray, *, steps: int = 50) -> np.ndarray:
    """Logistic regression by Newton's method, with a little ridge for stability."""
    xb = np.c_[np.ones(len(x)), x]
    w = np.zeros(xb.shape[1])
    for _ in range(steps):
        p = 1 / (1 + np.exp(-xb @ w))
        grad = xb.T @ (p - y) + 1e-3 * w
        hess = (xb * (p * (1 - p))[:, None]).T @ xb + 1e-3 * np.eye(len(w))
        w -= np.linalg.solve(hess, grad)
    return w


def held_out_auroc(x: np.ndarray, y: np.ndarray, groups: np.ndarray, *, folds: int = 5) -> float:
    """AUROC of scores each from a model that never saw the edges' item (grouped k-fold)."""
    from scanlab.evaluate import auroc

    fold = np.random.default_rng(0).permutation(np.unique(groups)) % folds
    fold_of = dict(zip(np.unique(groups), fold, strict=True))
    which = np.array([fold_of[g] for g in groups])
    results = []
    for k in range(folds):
        train, test = which != k, which == k
        if len(np.unique(y[test])) < 2:
            continue
        mean, sd = x[train].mean(axis=0), x[train].std(axis=0) + 1e-9
        w = logistic_fit((x[train] - mean) / sd, y[train])
        scores = np.c_[np.ones(test.sum()), (x[test] - mean) / sd] @ w
        results.append(auroc(y[test], scores))
    # Per fold, then averaged: scores of models fitted on different folds are not on one scale.
    return float(np.mean(results))


def main() -> None:
    from scanlab.evaluate import auroc

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=10, help="simulated host exports per seed")
    parser.add_argument("--items", type=int, default=6, help="items per host")
    parser.add_argument("--seeds", type=int, default=3, help="independent sets of hosts")
    parser.add_argument("--blur", type=float, default=1.2, help="export blur sigma (px)")
    parser.add_argument(
        "--pipelines",
        default="scanlab",
        help="comma-separated host exports: 'scanlab' (blurred, scanlab's curve, JPEG) or "
        "vendor pipelines of scanlab.synth.VENDOR_PIPELINES (linear, gamma-lifted, log)",
    )
    parser.add_argument(
        "--naive", action="store_true", help="also project without blur or noise matching"
    )
    parser.add_argument(
        "--curve",
        choices=("stated", "estimate"),
        default="stated",
        help="vendor hosts' display curve: stated (the pipeline's) or estimated from the image",
    )
    parser.add_argument(
        "--sharpen",
        choices=("stated", "estimate", "none"),
        default="estimate",
        help="vendor hosts' unsharp masking: stated (the pipeline's), estimated from the "
        "halos at the image's edges, or not reproduced",
    )
    args = parser.parse_args()
    results: dict[tuple[str, bool], list[float]] = {}
    for pipeline in args.pipelines.split(","):
        vendor = None if pipeline == "scanlab" else VENDOR_PIPELINES[pipeline]
        display: str | dict[str, float] = "estimate"
        if vendor is not None and args.curve == "stated":
            display = vendor.curve.as_dict()
        sharpen: str | dict[str, float] = args.sharpen
        if args.sharpen == "stated":
            sharpen = (
                {"amount": vendor.sharpen, "sigma_px": vendor.sharpen_sigma_px}
                if vendor is not None and vendor.sharpen > 0
                else "none"
            )
        for seed in range(11, 11 + args.seeds):
            with tempfile.TemporaryDirectory(prefix="scanlab-bench-hosts-") as tmp:
                paths = write_simulated_hosts(
                    Path(tmp),
                    args.hosts,
                    seed=seed,
                    blur_px=args.blur,
                    pipeline=None if vendor is None else pipeline,
                )
                spec = HostSpec(paths=[tmp], display=display, sharpen=sharpen)
                for matched in (True, False) if args.naive else (True,):
                    start = time.perf_counter()
                    x, y, groups = edge_table(paths, spec, args.items, matched=matched)
                    score = held_out_auroc(x, y, groups)
                    results.setdefault((pipeline, matched), []).append(score)
                    name = f"{pipeline} " + ("matched" if matched else "naive")
                    # Each statistic alone (above 0.5: larger on threat edges): which one
                    # separates.
                    ok = np.isfinite(x).all(axis=1)
                    alone = [auroc(y[ok], x[ok, j]) for j in range(x.shape[1])]
                    print(
                        f"seed {seed} {name:24s} AUROC {score:.3f}  ({len(np.unique(groups))} "
                        f"items, {int(y.sum())} threat edges, {int((1 - y).sum())} host edges; "
                        f"alone: sharpness {alone[0]:.3f}, noise {alone[1]:.3f}; "
                        f"{time.perf_counter() - start:.1f} s)",
                        flush=True,
                    )
    for (pipeline, matched), scores in results.items():
        v = np.array(scores)
        sep = np.maximum(v, 1 - v)
        name = f"{pipeline} " + ("matched (scanlab)" if matched else "naive (no matching)")
        print(
            f"{name:32s} AUROC {v.mean():.3f} (min {v.min():.3f}, max {v.max():.3f}, "
            f"sd {v.std(ddof=1) if len(v) > 1 else 0.0:.3f} over {len(v)} seeds), "
            f"separability {sep.mean():.3f}"
        )
    print("goal: separability <= 0.65 for the matched projection")


if __name__ == "__main__":
    main()
