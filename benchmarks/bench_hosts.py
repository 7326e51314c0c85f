"""Can a simple classifier tell projected threat edges from a real host's own edges?

Run: ``.venv/bin/python benchmarks/bench_hosts.py [--seeds 3 --hosts 10 --items 6] [--native]
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
checked against. With ``--native`` the same classifier also scores threats drawn into the
scenes themselves (drugs in the cargo, cash, pistol, rifle, stowaway) and exported as the
hosts are: not projected at all, so what it finds there is the threats' physics and where
they lie against the host's edges of similar step, a floor no projection can go below."""

from __future__ import annotations

import argparse
import dataclasses
import tempfile
import time
from pathlib import Path

import cv2
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
                rows = object_rows(att, obj.full_mask(att.shape), rng)
                if rows is not None:
                    feats += rows
                    labels += [np.ones(len(rows[0])), np.zeros(len(rows[1]))]
                    groups += [np.full(len(rows[0]) + len(rows[1]), h * items + i)]
    return np.concatenate(feats), np.concatenate(labels), np.concatenate(groups)


def object_rows(
    att: np.ndarray, mask: np.ndarray, rng: np.random.Generator
) -> list[np.ndarray] | None:
    """[threat edges, host edges of similar step] of one object, their features relative
    to the median and spread of the image's own edges; None when there are too few."""
    on, off = boundary_edges(att, mask)
    if len(on) == 0:
        return None
    lo, hi = np.percentile(on[:, 2], [10, 90])
    off = off[(off[:, 2] >= lo) & (off[:, 2] <= hi)]
    off = off[rng.permutation(len(off))[: 2 * len(on)]]
    if len(off) < 5:
        return None
    # Relative to this image's own edges, as an eye compares within one image.
    ref = np.c_[off[:, 0], np.log(off[:, 1] + 1e-6)]
    centre = np.median(ref, axis=0)
    spread = np.subtract(*np.percentile(ref, [75, 25], axis=0)) + 1e-6
    return [(np.c_[f[:, 0], np.log(f[:, 1] + 1e-6)] - centre) / spread for f in (on, off)]


#: Concealments drawn in the scene itself that the threat library stands for.
NATIVE_KINDS = ("drugs_in_cargo", "cash", "pistol", "rifle", "stowaway")


def native_table(
    pipeline: str, count: int, *, seed: int, blur_px: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """As :func:`edge_table`, for threats drawn natively into ``count`` simulated scenes
    exported as the hosts are (not projected): what a perfect projection would score."""
    from scanlab.synth import render_display, render_export
    from scanlab.synth._dataset import DatasetSpec, sample_scene_spec
    from scanlab.synth._scene import generate_scene

    draw = DatasetSpec(
        name="native",
        seed=seed,
        clean_share=0.0,
        fill=(0.5, 0.9),
        concealments=dict.fromkeys(NATIVE_KINDS, 1.0),
        max_concealments=1,
    )
    feats, labels, groups = [], [], []
    for i in range(count):
        rng = np.random.default_rng([seed, i, 0x4057])
        scene = generate_scene(sample_scene_spec(draw, rng), seed * 1000 + i, pitch_mm=10.0)
        if pipeline == "scanlab":  # as write_simulated_hosts: blurred, scanlab's curve, JPEG
            att = scene.scan.to_attenuation()
            t = np.exp(-np.clip(att.data.astype(np.float32), 0, 30))
            blurred = [cv2.GaussianBlur(c, (0, 0), blur_px) for c in t]
            att = att.replace(data=-np.log(np.stack(blurred)).astype(np.float32))
            shown = render_display(att, rng=rng).data[0]
            _ok, buf = cv2.imencode(".jpg", shown, [cv2.IMWRITE_JPEG_QUALITY, 92])
            view = cv2.imdecode(buf, cv2.IMREAD_GRAYSCALE).astype(np.float32)
            matrix = np.array([[1.0, 0, 0], [0, 1.0, 0]])
        else:
            body = tuple(scene.key.attributes["body_px"])
            export = render_export(scene.scan, pipeline, body_px=body, rng=rng)
            view, matrix = item_view(export.scan), export.matrix
        for obj in scene.key.objects:
            mask = cv2.warpAffine(
                obj.full_mask(scene.scan.shape).astype(np.uint8),
                matrix,
                (view.shape[1], view.shape[0]),
                flags=cv2.INTER_NEAREST,
            )
            rows = object_rows(view, mask > 0, rng) if mask.any() else None
            if rows is not None:
                feats += rows
                labels += [np.ones(len(rows[0])), np.zeros(len(rows[1]))]
                groups += [np.full(len(rows[0]) + len(rows[1]), i)]
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
        "--native",
        action="store_true",
        help="also score threats drawn natively into scenes exported as the hosts are "
        "(hosts x items scenes per seed): the figure a perfect projection would reach",
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
    results: dict[tuple[str, bool | None], list[float]] = {}
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
            if args.native:
                start = time.perf_counter()
                x, y, groups = native_table(
                    pipeline, args.hosts * args.items, seed=seed, blur_px=args.blur
                )
                score = held_out_auroc(x, y, groups)
                results.setdefault((pipeline, None), []).append(score)
                ok = np.isfinite(x).all(axis=1)
                alone = [auroc(y[ok], x[ok, j]) for j in range(x.shape[1])]
                print(
                    f"seed {seed} {pipeline + ' native':24s} AUROC {score:.3f}  "
                    f"({len(np.unique(groups))} scenes, {int(y.sum())} threat edges, "
                    f"{int((1 - y).sum())} host edges; alone: sharpness {alone[0]:.3f}, "
                    f"noise {alone[1]:.3f}; {time.perf_counter() - start:.1f} s)",
                    flush=True,
                )
    for (pipeline, matched), scores in results.items():
        v = np.array(scores)
        sep = np.maximum(v, 1 - v)
        kind = {True: "matched (scanlab)", False: "naive (no matching)", None: "native"}
        name = f"{pipeline} " + kind[matched]
        print(
            f"{name:32s} AUROC {v.mean():.3f} (min {v.min():.3f}, max {v.max():.3f}, "
            f"sd {v.std(ddof=1) if len(v) > 1 else 0.0:.3f} over {len(v)} seeds), "
            f"separability {sep.mean():.3f}"
        )
    print("goal: separability <= 0.65 for the matched projection")


if __name__ == "__main__":
    main()
