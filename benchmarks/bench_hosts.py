"""Can a simple classifier tell projected threat edges from a real host's own edges?

Run: ``.venv/bin/python benchmarks/bench_hosts.py [--seeds 3 --hosts 10 --items 6] [--native]
[--pipelines scanlab,linear,gamma-lifted,log] [--curve stated|estimate]
[--pitch estimate|stated] [--sharpen estimate|stated|none] [--naive] [--twin] [--by-threat]``.

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
they lie against the host's edges of similar step, a floor no projection can go below.
With ``--twin`` each of those native threats is also projected, as exams project, at its own
spot into the scene's clean twin (same seed, nothing hidden): the projection alone, scored on
the same threats as the native figure beside it. Each statistic's median on the threat edges
is printed in the classifier's units (the host edges of similar step: median 0, interquartile
range 1)."""

from __future__ import annotations

import argparse
import dataclasses
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np

from scanlab.errors import SpecError
from scanlab.io import Scan
from scanlab.synth import (
    VENDOR_PIPELINES,
    HostSpec,
    load_host,
    make_host_item,
    write_simulated_hosts,
)
from scanlab.synth._answer_key import KeyObject
from scanlab.synth._hosts import boundary_edges, item_view
from scanlab.synth._scene import SceneSpec

Table = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]


def edge_table(
    host_paths: list[Path], spec: HostSpec, items: int, *, matched: bool, cargo_only: bool = False
) -> Table:
    """(features, label, item, threat) of threat-boundary and host edges of similar step:
    sharpness and log noise/step, relative to the median and spread of the image's own edges
    (the step is what the host edges were matched on, so it is left out); ``threat`` names
    the threat whose edges (or whose host's edges) each row is. With ``cargo_only`` the host
    edges are those inside the cargo space found from the host, where the threats lie."""
    feats, labels, groups, kinds = [], [], [], []
    for h, path in enumerate(host_paths):
        host = load_host(path, spec)
        if not matched:
            host = dataclasses.replace(host, image_blur_px=(0.0, 0.0), noise_blur_px=(0.0, 0.0))
        r0, c0, r1, c1 = host.region.interior
        for i in range(items):
            rng = np.random.default_rng([h, i])
            try:
                item = make_host_item(host, spec, item_id=f"h{h}-{i}", n_threats=1, rng=rng)
            except SpecError:  # a host without room for the threat is skipped, as exams do
                continue
            att = item_view(item.scan)
            region = None
            if cargo_only:
                region = np.zeros(att.shape, dtype=bool)
                region[r0:r1, c0:c1] = True
            for obj in item.key.objects:
                rows = object_rows(att, obj.full_mask(att.shape), rng, region=region)
                if rows is not None:
                    feats += rows
                    labels += [np.ones(len(rows[0])), np.zeros(len(rows[1]))]
                    groups += [np.full(len(rows[0]) + len(rows[1]), h * items + i)]
                    kinds += [np.full(len(rows[0]) + len(rows[1]), obj.description.split()[0])]
    return _stacked(feats, labels, groups, kinds)


def _stacked(*columns: list[np.ndarray]) -> Table:
    f, y, g, k = (np.concatenate(c) for c in columns)
    return f, y, g, k


def object_rows(
    att: np.ndarray,
    mask: np.ndarray,
    rng: np.random.Generator,
    *,
    region: np.ndarray | None = None,
) -> list[np.ndarray] | None:
    """[threat edges, host edges of similar step] of one object, their features relative
    to the median and spread of the image's own edges (inside ``region`` if given); None
    when there are too few."""
    on, off = boundary_edges(att, mask, host_region=region)
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


def _native_scenes(
    seed: int, count: int
) -> Iterator[tuple[int, SceneSpec, int, np.random.Generator]]:
    """(index, scene spec, scene seed) of ``count`` scenes each with one threat drawn in."""
    from scanlab.synth._dataset import DatasetSpec, sample_scene_spec

    draw = DatasetSpec(
        name="native",
        seed=seed,
        clean_share=0.0,
        fill=(0.5, 0.9),
        concealments=dict.fromkeys(NATIVE_KINDS, 1.0),
        max_concealments=1,
    )
    for i in range(count):
        rng = np.random.default_rng([seed, i, 0x4057])
        yield i, sample_scene_spec(draw, rng), seed * 1000 + i, rng


def export_scene(
    scan: Scan,
    body: tuple[float, float, float, float],
    pipeline: str,
    *,
    blur_px: float,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray, bytes]:
    """(grey image, source-to-export matrix, JPEG bytes) of a simulated scan exported as the
    hosts are: ``scanlab`` as :func:`write_simulated_hosts` does (blurred in transmission,
    scanlab's curve, JPEG 92), else through the vendor pipeline."""
    from scanlab.synth import render_display, render_export

    if pipeline == "scanlab":
        att = scan.to_attenuation()
        t = np.exp(-np.clip(att.data.astype(np.float32), 0, 30))
        blurred = [cv2.GaussianBlur(c, (0, 0), blur_px) for c in t]
        att = att.replace(data=-np.log(np.stack(blurred)).astype(np.float32))
        shown = render_display(att, rng=rng).data[0]
        _ok, buf = cv2.imencode(".jpg", shown, [cv2.IMWRITE_JPEG_QUALITY, 92])
        view = np.asarray(cv2.imdecode(buf, cv2.IMREAD_GRAYSCALE))
        return view.astype(np.float32), np.array([[1.0, 0, 0], [0, 1.0, 0]]), buf.tobytes()
    export = render_export(scan, pipeline, body_px=body, rng=rng)
    return item_view(export.scan), export.matrix, export.encoded or b""


def _warped_mask(mask: np.ndarray, matrix: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    return (
        cv2.warpAffine(mask.astype(np.uint8), matrix, (shape[1], shape[0]), flags=cv2.INTER_NEAREST)
        > 0
    )


def native_kind(obj: KeyObject) -> str:
    """What a native concealment is, as the threat library names its kind."""
    if obj.threat_class in ("narcotics", "cash"):
        return f"{obj.threat_class} (native)"
    return f"{obj.description.split()[-1] if obj.threat_class == 'weapon' else 'stowaway'} (native)"


def native_table(
    pipeline: str, count: int, *, seed: int, blur_px: float, cargo_spec: HostSpec | None = None
) -> Table:
    """As :func:`edge_table`, for threats drawn natively into ``count`` simulated scenes
    exported as the hosts are (not projected): what a perfect projection would score. With
    ``cargo_spec`` the host edges are those inside the cargo space found from each export,
    analysed as a host of that spec would be."""
    from scanlab.synth._scene import generate_scene

    feats, labels, groups, kinds = [], [], [], []
    for i, scene_spec, scene_seed, rng in _native_scenes(seed, count):
        scene = generate_scene(scene_spec, scene_seed, pitch_mm=10.0)
        top, front, bottom, rear = scene.key.attributes["body_px"]
        body = (top, front, bottom, rear)
        view, matrix, jpeg = export_scene(scene.scan, body, pipeline, blur_px=blur_px, rng=rng)
        region = None
        if cargo_spec is not None:
            with tempfile.TemporaryDirectory(prefix="scanlab-bench-native-") as tmp:
                path = Path(tmp) / f"native-{i}.jpg"
                path.write_bytes(jpeg)
                try:
                    host = load_host(path, cargo_spec)
                except SpecError:  # no cargo space found: skipped, as exams skip such hosts
                    continue
            r0, c0, r1, c1 = host.region.interior
            region = np.zeros(view.shape, dtype=bool)
            region[r0:r1, c0:c1] = True
        for obj in scene.key.objects:
            mask = _warped_mask(obj.full_mask(scene.scan.shape), matrix, view.shape)
            rows = object_rows(view, mask, rng, region=region) if mask.any() else None
            if rows is not None:
                feats += rows
                labels += [np.ones(len(rows[0])), np.zeros(len(rows[1]))]
                groups += [np.full(len(rows[0]) + len(rows[1]), i)]
                kinds += [np.full(len(rows[0]) + len(rows[1]), native_kind(obj))]
    return _stacked(feats, labels, groups, kinds)


def twin_tables(
    pipeline: str, count: int, *, seed: int, blur_px: float, spec: HostSpec
) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """The projection alone: each native threat (as in :func:`native_table`) and the same
    threat projected, as exams project (:func:`scanlab.synth._hosts.project_on_host`), at
    the same spot of the scene's clean twin (same seed, nothing hidden: the same vehicle,
    load and grain, its own quantum noise), exported alike and analysed as a host file
    (``spec``; the pitch stated). The threat is the scene's noise-free attenuation less its
    twin's, where it adds some (drugs lighter than the goods they displace add none).
    Returns {"native": table, "projected": table} over the same threats."""
    from scanlab.synth._hosts import _as_compressed, project_on_host
    from scanlab.synth._scene import generate_scene
    from scanlab.synth._tip import Threat

    tables: dict[str, list[list[np.ndarray]]] = {
        "native": [[], [], [], []],
        "projected": [[], [], [], []],
    }
    with tempfile.TemporaryDirectory(prefix="scanlab-bench-twins-") as tmp:
        for i, scene_spec, scene_seed, _rng in _native_scenes(seed, count):
            scene = generate_scene(scene_spec, scene_seed, pitch_mm=10.0)
            clean = generate_scene(
                dataclasses.replace(scene_spec, concealments=[]), scene_seed, pitch_mm=10.0
            )
            top, front, bottom, rear = scene.key.attributes["body_px"]
            body = (top, front, bottom, rear)
            # One export geometry (crop, tilt) for both: the rotation is drawn first.
            native, matrix, _ = export_scene(
                scene.scan, body, pipeline, blur_px=blur_px, rng=np.random.default_rng([i, 1])
            )
            _clean_view, _m, jpeg = export_scene(
                clean.scan, body, pipeline, blur_px=blur_px, rng=np.random.default_rng([i, 1])
            )
            path = Path(tmp) / f"twin-{seed}-{i}.jpg"
            path.write_bytes(jpeg)
            host = load_host(path, spec)
            angle = float(np.degrees(np.arctan2(matrix[1, 0], matrix[0, 0])))
            for obj in scene.key.objects:
                r0, c0, r1, c1 = obj.bbox
                extra = (
                    scene.ideal_attenuation[:, r0:r1, c0:c1]
                    - clean.ideal_attenuation[:, r0:r1, c0:c1]
                )
                if float(extra[0][obj.mask].mean()) <= 0.05:
                    continue
                threat = Threat(
                    np.maximum(extra, 0).astype(np.float32),
                    obj.mask.copy(),
                    obj.threat_class,
                    obj.material,
                    obj.mass_kg,
                    10.0,
                    obj.object_id,
                )
                rows_in, cols_in = np.nonzero(obj.mask)
                centre = np.array(
                    [
                        c0 + (cols_in.min() + cols_in.max()) / 2,
                        r0 + (rows_in.min() + rows_in.max()) / 2,
                        1.0,
                    ]
                )
                col, row = matrix @ centre
                rng = np.random.default_rng([seed, i, 2])
                item, key = project_on_host(
                    host,
                    host.scan,
                    threat,
                    row=round(float(row)),
                    col=round(float(col)),
                    rotation_deg=-angle,
                    scale=1.0,
                    rng=rng,
                    object_id=obj.object_id,
                )
                pixels = item.data[0]
                if host.jpeg_table is not None:
                    pixels = _as_compressed(host.scan.data[0], pixels, host.jpeg_table)
                projected = pixels.astype(np.float32)
                for name, view, mask in (
                    (
                        "native",
                        native,
                        _warped_mask(obj.full_mask(scene.scan.shape), matrix, native.shape),
                    ),
                    ("projected", projected, key.full_mask(projected.shape)),
                ):
                    rows = object_rows(view, mask, np.random.default_rng([seed, i, 3]))
                    if rows is not None:
                        t = tables[name]
                        t[0] += rows
                        t[1] += [np.ones(len(rows[0])), np.zeros(len(rows[1]))]
                        t[2] += [np.full(len(rows[0]) + len(rows[1]), i)]
                        t[3] += [np.full(len(rows[0]) + len(rows[1]), native_kind(obj))]
    return {k: _stacked(*columns) for k, columns in tables.items()}


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


def held_out_auroc(
    x: np.ndarray, y: np.ndarray, groups: np.ndarray, *, folds: int = 5
) -> tuple[float, np.ndarray, np.ndarray]:
    """AUROC of scores each from a model that never saw the edges' item (grouped k-fold),
    with each edge's score and fold (NaN and -1 where its fold had one label only)."""
    from scanlab.evaluate import auroc

    fold = np.random.default_rng(0).permutation(np.unique(groups)) % folds
    fold_of = dict(zip(np.unique(groups), fold, strict=True))
    which = np.array([fold_of[g] for g in groups])
    results = []
    all_scores = np.full(len(y), np.nan)
    for k in range(folds):
        train, test = which != k, which == k
        if len(np.unique(y[test])) < 2:
            which[test] = -1
            continue
        mean, sd = x[train].mean(axis=0), x[train].std(axis=0) + 1e-9
        w = logistic_fit((x[train] - mean) / sd, y[train])
        scores = np.c_[np.ones(test.sum()), (x[test] - mean) / sd] @ w
        all_scores[test] = scores
        results.append(auroc(y[test], scores))
    # Per fold, then averaged: scores of models fitted on different folds are not on one scale.
    return float(np.mean(results)), all_scores, which


def report(
    name: str, table: Table, start: float, *, by_threat: dict[str, list[float]] | None = None
) -> float:
    """Print one set's held-out AUROC and what each statistic does alone; return the AUROC.

    Alone: the AUROC of the statistic itself (above 0.5: larger on threat edges), and the
    threat edges' median in the classifier's units (host edges of similar step in the same
    image: median 0, interquartile range 1). With ``by_threat`` (kind -> AUROCs, extended
    in place), the same held-out scores split by threat: each kind's edges against the host
    edges of its own items, per fold (the folds that hold both), printed averaged."""
    from scanlab.evaluate import auroc

    x, y, groups, kinds = table
    score, scores, folds = held_out_auroc(x, y, groups)
    ok = np.isfinite(x).all(axis=1)
    alone = [auroc(y[ok], x[ok, j]) for j in range(x.shape[1])]
    shift = np.median(x[ok & (y == 1)], axis=0)
    print(
        f"{name:36s} AUROC {score:.3f}  ({len(np.unique(groups))} items, {int(y.sum())} "
        f"threat edges, {int((1 - y).sum())} host edges; alone: sharpness {alone[0]:.3f} "
        f"(median {shift[0]:+.2f}), noise {alone[1]:.3f} (median {shift[1]:+.2f}); "
        f"{time.perf_counter() - start:.1f} s)",
        flush=True,
    )
    if by_threat is not None:
        for kind in sorted(set(kinds.tolist())):
            per_fold = [
                auroc(y[k], scores[k])
                for f in np.unique(folds[folds >= 0])
                if len(np.unique(y[k := (kinds == kind) & (folds == f)])) == 2
            ]
            if per_fold:
                by_threat.setdefault(kind, []).extend(per_fold)
                mine = kinds == kind
                print(
                    f"    {kind:26s} AUROC {np.mean(per_fold):.3f}  ({len(np.unique(groups[mine]))}"
                    f" items, {int(y[mine].sum())} threat edges)",
                    flush=True,
                )
    return score


def main() -> None:

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
        "--twin",
        action="store_true",
        help="also project each native threat at its own spot into the scene's clean twin "
        "(hosts x items scenes per seed): the projection alone, against the native figure "
        "on the same threats",
    )
    parser.add_argument(
        "--host-edges",
        choices=("all", "cargo"),
        default="all",
        help="the host edges threats are set against: all of the host's, or only those "
        "inside the cargo space found from the host (or, with --native, from the export), "
        "where the threats lie",
    )
    parser.add_argument(
        "--by-threat",
        action="store_true",
        help="also print each threat kind's AUROC from the same held-out scores",
    )
    parser.add_argument(
        "--curve",
        choices=("stated", "estimate"),
        default="stated",
        help="vendor hosts' display curve: stated (the pipeline's) or estimated from the image",
    )
    parser.add_argument(
        "--pitch",
        choices=("stated", "estimate"),
        default="estimate",
        help="hosts' pixel pitch: stated (the simulated scans' 10 mm, which exports keep) or "
        "estimated from the container",
    )
    parser.add_argument(
        "--sharpen",
        choices=("stated", "estimate", "none"),
        default="estimate",
        help="vendor hosts' unsharp masking: stated (the pipeline's), estimated from the "
        "halos at the image's edges, or not reproduced",
    )
    args = parser.parse_args()
    results: dict[tuple[str, str], list[float]] = {}
    by_threat: dict[tuple[str, str], dict[str, list[float]]] = {}

    def kinds_of(pipeline: str, which: str) -> dict[str, list[float]] | None:
        return by_threat.setdefault((pipeline, which), {}) if args.by_threat else None

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
                pitch = 10.0 if args.pitch == "stated" else None
                spec = HostSpec(paths=[tmp], display=display, sharpen=sharpen, pitch_mm=pitch)
                for matched in (True, False) if args.naive else (True,):
                    start = time.perf_counter()
                    table = edge_table(
                        paths,
                        spec,
                        args.items,
                        matched=matched,
                        cargo_only=args.host_edges == "cargo",
                    )
                    name = "matched" if matched else "naive"
                    label = f"seed {seed} {pipeline} {name}"
                    score = report(label, table, start, by_threat=kinds_of(pipeline, name))
                    results.setdefault((pipeline, name), []).append(score)
            if args.native:
                start = time.perf_counter()
                table = native_table(
                    pipeline,
                    args.hosts * args.items,
                    seed=seed,
                    blur_px=args.blur,
                    cargo_spec=(
                        HostSpec(paths=["."], display=display, sharpen=sharpen, pitch_mm=10.0)
                        if args.host_edges == "cargo"
                        else None
                    ),
                )
                label = f"seed {seed} {pipeline} native"
                score = report(label, table, start, by_threat=kinds_of(pipeline, "native"))
                results.setdefault((pipeline, "native"), []).append(score)
            if args.twin:
                start = time.perf_counter()
                twin_spec = HostSpec(paths=["."], display=display, sharpen=sharpen, pitch_mm=10.0)
                tables = twin_tables(
                    pipeline, args.hosts * args.items, seed=seed, blur_px=args.blur, spec=twin_spec
                )
                for name, table in tables.items():
                    label = f"seed {seed} {pipeline} twin {name}"
                    which = f"twin {name}"
                    score = report(label, table, start, by_threat=kinds_of(pipeline, which))
                    results.setdefault((pipeline, f"twin {name}"), []).append(score)
    kind = {"matched": "matched (scanlab)", "naive": "naive (no matching)"}
    for (pipeline, which), scores in results.items():
        v = np.array(scores)
        sep = np.maximum(v, 1 - v)
        name = f"{pipeline} " + kind.get(which, which)
        print(
            f"{name:32s} AUROC {v.mean():.3f} (min {v.min():.3f}, max {v.max():.3f}, "
            f"sd {v.std(ddof=1) if len(v) > 1 else 0.0:.3f} over {len(v)} seeds), "
            f"separability {sep.mean():.3f}"
        )
        for threat, aurocs in sorted(by_threat.get((pipeline, which), {}).items()):
            print(f"    {threat:28s} AUROC {np.mean(aurocs):.3f} (mean of {len(aurocs)} folds)")
    print("goal: separability <= 0.65 for the matched projection")


if __name__ == "__main__":
    main()
