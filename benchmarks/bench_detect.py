"""Held-out evaluation and speed of the cargo anomaly detector, against a classical baseline
(local background statistics) and PaDiM (per-row Gaussians over the U-Net encoder's features).

Prints image AUROC, detection rate at 1 % false alarms, pixel AUROC, AUPRO (FPR <= 0.3) and
object recall per class and difficulty, for dual-energy, single-energy and display input,
TIP into display exports, and the time per megapixel and peak memory of full-scan inference.
Simulated data are built once into the cache (``$SCANLAB_CACHE``, default ~/.cache/scanlab).

Run: .venv/bin/python benchmarks/bench_detect.py [--count 200] [--record] [--no-baselines]
"""

from __future__ import annotations

import os

for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(var, "2")

import argparse  # noqa: E402
import contextlib  # noqa: E402
import json  # noqa: E402
import resource  # noqa: E402
import time  # noqa: E402
import tracemalloc  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402
from unittest import mock  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402

from scanlab.detect import (  # noqa: E402
    TrainConfig,
    calibrate_threshold,
    cargo_unet,
    load_detector,
)
from scanlab.detect._baselines import LocalBackgroundDetector, PadimDetector  # noqa: E402
from scanlab.detect._data import (  # noqa: E402
    as_display_export,
    as_single_energy,
    build_cached,
    default_cache_dir,
    effective_spec,
)
from scanlab.detect._evaluate import (  # noqa: E402
    evaluate_detectors,
    format_reports,
    heldout_items,
    samples,
)
from scanlab.detect._weights import record_metrics  # noqa: E402
from scanlab.io import Scan  # noqa: E402
from scanlab.synth import load_dataset_spec  # noqa: E402


def tip_on_display(detector: Any, items: list[dict[str, Any]], seed: int = 0) -> dict[str, Any]:
    """Project library threats into clean display exports; how many does the detector find,
    and how many of the same images without a threat does it flag?"""
    from scanlab.evaluate import Mark, match_marks
    from scanlab.synth import (
        THREAT_LIBRARY,
        AnswerKey,
        display_to_attenuation,
        project_threat,
        render_threat,
    )

    rng = np.random.default_rng(seed)
    names = sorted(THREAT_LIBRARY)
    found: dict[str, list[int]] = {}
    false_alarms = 0
    clean = [(s, k) for s, k in samples(items) if k.is_clean]
    for scan, _ in clean:
        shown = as_display_export(scan)
        false_alarms += detector(shown).is_anomalous
        att = display_to_attenuation(shown)
        rows, cols = np.nonzero((att > 0.3) & (att < 6.0))  # inside the vehicle, penetrable
        i = int(rng.integers(len(rows)))
        name = names[int(rng.integers(len(names)))]
        threat = render_threat(name, pitch_mm=float(scan.metadata.pitch_mm[0]))
        tipped, obj = project_threat(
            shown,
            threat,
            row=int(rows[i]),
            col=int(cols[i]),
            rotation_deg=float(rng.uniform(-180, 180)),
            rng=rng,
        )
        det = detector(tipped)
        marks = [
            Mark(f"r{j}", "rectangle", [(r0, c0), (r1 - 1, c1 - 1)], "narcotics")
            for j, (r0, c0, r1, c1) in enumerate(r.bbox for r in det.regions)
        ]
        key = AnswerKey(scan.metadata.scan_id, scan.shape, [obj])
        hit = bool(match_marks(key, marks).hits)
        tally = found.setdefault(name, [0, 0])
        tally[0] += hit
        tally[1] += 1
    n = len(clean)
    return {
        "n_images": n,
        "tip_detection_rate": sum(h for h, _ in found.values()) / max(n, 1),
        "false_alarm_rate_without_tip": false_alarms / max(n, 1),
        "by_threat": {k: {"hit": h, "of": m} for k, (h, m) in sorted(found.items())},
    }


def reference_seconds(detector: Any, weights: str, scan: Scan) -> float:
    """The plain way, for comparison: the unfused network in float32 (NCHW) on the whole
    scan in one forward pass, no tiling (best of 2)."""
    from scanlab.detect._preprocess import scan_to_input

    net = cargo_unet(weights=weights).eval()
    times = []
    for _ in range(2):
        t0 = time.perf_counter()
        planes, _ = scan_to_input(scan, model_pitch_mm=detector.pitch_mm)
        rows, cols = planes.shape[1:]
        pad = ((0, 0), (0, -rows % net.stride), (0, -cols % net.stride))
        x = torch.from_numpy(np.pad(planes, pad, mode="edge")[None])
        with torch.inference_mode():
            torch.sigmoid(net(x))
        times.append(time.perf_counter() - t0)
    return min(times)


def previous_detector(detector: Any, weights: str) -> Any:
    """The detector as it ran before :class:`InferenceUNet`: batch norm folded and
    channels-last, but each ReLU a pass of its own and the 1 x 1 reduction after upsampling."""
    import copy

    from scanlab.detect._inference import fold_batch_norm

    folded = fold_batch_norm(cargo_unet(weights=weights).eval())
    folded = folded.to(memory_format=torch.channels_last)
    previous = copy.copy(detector)
    previous._net = lambda x: folded(x.contiguous(memory_format=torch.channels_last))
    return previous


def timed(detector: Any, scan: Scan, repeat: int = 3) -> list[float]:
    """Seconds of ``repeat`` full detections, after one to warm up."""
    detector(scan)
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        detector(scan)
        times.append(time.perf_counter() - t0)
    return times


def speed(detector: Any, weights: str) -> dict[str, Any]:
    """Full-resolution inference on a 1,000 x 3,000 scan: a 40 ft container at 5 mm (920 x
    3,060 pixels) cut to 3,000 columns and given 80 more rows of air above. The machine's
    load average (1 minute) before and after is printed with it: on a shared machine the
    time says little without it. The previous inference path (without InferenceUNet and
    without reusing freed memory) is timed before it and their maps compared."""
    from scanlab.synth import SceneSpec, generate_scene

    scene = generate_scene(
        SceneSpec("container_40ft", "mixed", 0.9, ["drugs_in_cargo"]), 4242, pitch_mm=5.0
    ).scan
    rows = 1000 - scene.shape[0]
    scan = scene.replace(data=np.pad(scene.data[:, :, :3000], ((0, 0), (rows, 0), (0, 0)), "edge"))
    assert scan.shape == (1000, 3000), scan.shape
    load_before = os.getloadavg()[0]
    # The plain reference and the previous path first: the new path leaves freed memory
    # held by the process (reuse_freed_memory), which would then speed them up too.
    reference = reference_seconds(detector, weights, scan)
    previous = previous_detector(detector, weights)
    with mock.patch("scanlab.detect._inference.reuse_freed_memory", contextlib.nullcontext):
        previous_times = timed(previous, scan)
        before = previous(scan)
    times = timed(detector, scan)
    tracemalloc.start()
    now = detector(scan)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    mp = scan.shape[0] * scan.shape[1] / 1e6
    # A bare 8-bit export of the same scan: its pitch is measured on the container first.
    from scanlab.detect import estimate_pitch
    from scanlab.io import Representation
    from scanlab.synth import render_display

    export = Scan(render_display(scan).data[0], Representation.DISPLAY)
    export_times, estimate_times = [], []
    for _ in range(3):
        t0 = time.perf_counter()
        detector(export)
        export_times.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        estimate_pitch(export)
        estimate_times.append(time.perf_counter() - t0)
    return {
        "shape": list(scan.shape),
        "seconds": round(min(times), 3),
        "seconds_per_megapixel": round(min(times) / mp, 3),
        "previous_seconds": round(min(previous_times), 3),
        "speedup_vs_previous": round(min(previous_times) / min(times), 2),
        "max_map_difference_vs_previous": float(np.abs(now.anomaly_map - before.anomaly_map).max()),
        "reference_seconds": round(reference, 3),
        "speedup_vs_reference": round(reference / min(times), 2),
        "bare_export_seconds": round(min(export_times), 3),
        "pitch_estimate_seconds": round(min(estimate_times), 3),
        "tracemalloc_peak_mb": round(peak / 2**20, 1),
        "max_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "load_average_before_after": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        "cpus": os.cpu_count() or 0,
        "torch_threads": torch.get_num_threads(),
    }


def baselines(detector: Any, weights: str, padim_fit: int) -> dict[str, Any]:
    """Local background statistics and PaDiM, their thresholds calibrated on the model's own
    clean calibration scans at its false-alarm rate."""
    card = detector.card
    config = TrainConfig.from_dict(card.training["recipe"])
    cache = default_cache_dir()
    # The clean training scenes as training simulated them (in pitch parts for v2's recipe).
    normal = [
        item
        for part, pitch in config.data_parts(config.normal)
        for item in build_cached(effective_spec(part, pitch)[0], cache)
    ]
    calib_ref = config.calibration
    calibration = build_cached(effective_spec(calib_ref, config.data_pitch(calib_ref))[0], cache)
    local = LocalBackgroundDetector(pitch_mm=detector.pitch_mm)
    padim = PadimDetector(cargo_unet(weights=weights), pitch_mm=detector.pitch_mm)
    padim.fit(scan for scan, _ in samples(normal[:padim_fit]))
    clean_scans: list[Scan] = [scan for scan, _ in samples(calibration)]
    for method in (local, padim):
        scores = [float(method.anomaly_map(s)[0].max()) for s in clean_scans]
        method.threshold = calibrate_threshold(scores, card.false_alarm_rate)
    print(f"baseline thresholds: local {local.threshold:.4g}, padim {padim.threshold:.4g}")
    return {"local-background": local, "padim-rows": padim}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weights", default="cargo-anomaly-v2")
    parser.add_argument("--count", type=int, default=200, help="held-out scans (dual energy)")
    parser.add_argument("--mode-count", type=int, default=100, help="scans per other mode")
    parser.add_argument("--padim-fit", type=int, default=60, help="clean scans to fit PaDiM")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", type=Path, help="write all results here")
    parser.add_argument("--record", action="store_true", help="store metrics in the card")
    parser.add_argument("--speed-only", action="store_true", help="only time inference")
    parser.add_argument(
        "--no-baselines", action="store_true", help="the U-Net alone (no local-background, PaDiM)"
    )
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    started = time.perf_counter()

    detector = load_detector(args.weights)
    card = detector.card
    print(f"{detector}: thresholds {card.thresholds} at {card.false_alarm_rate:.0%} false alarms")
    timing = speed(detector, args.weights)  # first, so that peak memory is the detector's alone
    print("speed:", timing)
    if args.speed_only:
        return

    unet = f"{card.name} (U-Net)"
    methods: dict[str, Any] = {unet: detector}
    if not args.no_baselines:
        methods |= baselines(detector, args.weights, args.padim_fit)
    held = heldout_items(args.count)
    results: dict[str, Any] = {"speed": timing}
    dual = evaluate_detectors(methods, samples(held))
    print(format_reports(dual, title="dual energy, held-out"))
    results["dual"] = {k: r.to_dict() for k, r in dual.items()}
    subset = held[: args.mode_count]
    for mode, transform in (("single", as_single_energy), ("display", as_display_export)):
        reports = evaluate_detectors(
            {k: v for k, v in methods.items() if k != "padim-rows"},
            samples(subset),
            transform=transform,
        )
        print(format_reports(reports, title=f"{mode} input, held-out subset"))
        results[mode] = {k: r.to_dict() for k, r in reports.items()}
    results["tip_display"] = tip_on_display(detector, subset)
    print("TIP into clean display exports:", json.dumps(results["tip_display"]))
    results["seconds"] = round(time.perf_counter() - started, 1)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    if args.record:
        summary = {
            "heldout": {
                "spec": "heldout",
                "scans": len(held),
                "pitch_mm": load_dataset_spec("heldout").pitch_mm,
            },
            **{k: v for k, v in results.items() if k != "seconds"},
        }
        # Other benchmarks' figures in the card (bench_adapt's foreign scanner) are kept.
        print("recorded in", record_metrics(args.weights, {**card.metrics, **summary}))


if __name__ == "__main__":
    main()
