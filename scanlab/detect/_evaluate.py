"""Evaluating detectors on held-out simulated scans: image AUROC, detection rate at a fixed
false-alarm rate, pixel AUROC, AUPRO, and object recall per class and difficulty at each
detector's calibrated threshold. Metrics come from :mod:`scanlab.evaluate`."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from scanlab.detect._data import build_cached, default_cache_dir
from scanlab.detect._result import Detection
from scanlab.io import Scan

__all__ = ["MethodReport", "evaluate_detectors", "format_reports", "heldout_items", "samples"]

DetectFn = Callable[[Scan], Detection]


def heldout_items(
    count: int | None = None,
    *,
    spec: str = "heldout",
    pitch_mm: float | None = None,
    cache_dir: str | Path | None = None,
    progress: Callable[[str, int, int], None] | None = None,
) -> list[dict[str, Any]]:
    """Manifest items of the held-out set (its first ``count`` scenes), built once into the
    cache. Its seeds and layouts differ from every training spec."""
    from scanlab.synth import load_dataset_spec

    base = load_dataset_spec(spec)
    changes: dict[str, Any] = {"format": "npz", "display_png": False}
    if count is not None:
        changes["count"] = min(int(count), base.count)
    if pitch_mm is not None:
        changes["pitch_mm"] = float(pitch_mm)
    built = dataclasses.replace(base, **changes)
    cache = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    return build_cached(built, cache, progress=progress, role=f"data:{spec}")


def samples(items: Iterable[dict[str, Any]]) -> Iterator[tuple[Scan, Any]]:
    """(scan, answer key) of each manifest item, read one at a time."""
    from scanlab.io import read_scan
    from scanlab.synth import AnswerKey

    for item in items:
        yield read_scan(item["scan_path"]), AnswerKey.load(item["key_path"])


@dataclass
class MethodReport:
    """Held-out metrics of one detector.

    ``detection_rate_at_fpr`` uses the threshold that lets ``fpr`` of the held-out clean
    scans through (the usual benchmark number); ``*_at_threshold`` use the detector's own
    threshold, calibrated beforehand on other clean scans (what deployment would see).
    Recall counts objects hit by a region (:func:`scanlab.evaluate.match_marks`).
    """

    name: str
    n_scans: int
    n_clean: int
    n_objects: int
    image_auroc: float
    detection_rate_at_fpr: float
    fpr: float
    pixel_auroc: float
    aupro: float
    threshold: float
    false_alarm_rate_at_threshold: float
    detection_rate_at_threshold: float
    object_recall_at_threshold: float
    recall_by_class: dict[str, list[int]] = field(default_factory=dict)
    recall_by_level: dict[str, list[int]] = field(default_factory=dict)
    seconds_per_scan: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        for key in ("recall_by_class", "recall_by_level"):
            out[key] = {
                k: {"hit": h, "of": n, "recall": round(h / n, 4) if n else None}
                for k, (h, n) in out[key].items()
            }
        return {k: round(v, 5) if isinstance(v, float) else v for k, v in out.items()}


def evaluate_detectors(
    detectors: Mapping[str, DetectFn],
    data: Iterable[tuple[Scan, Any]],
    *,
    fpr: float = 0.01,
    transform: Callable[[Scan], Scan] | None = None,
    pixel_step: int = 2,
    progress: Callable[[int], None] | None = None,
) -> dict[str, MethodReport]:
    """Run every detector on every (scan, answer key) and score them alike.

    Parameters
    ----------
    detectors : mapping of name to callable
        ``scan -> Detection`` (a :class:`Detector`, or a baseline's ``detect``).
    data : iterable of (Scan, AnswerKey)
        Read once; each scan goes to every detector.
    fpr : float
        False-alarm rate of the reported detection rate.
    transform : callable, optional
        Applied to each scan first (for example :func:`as_display_export`).
    pixel_step : int
        Pixel metrics use every ``pixel_step``-th row and column (a uniform subsample, so
        AUROC and AUPRO stay unbiased while maps of 200 full scans fit in memory).
    """
    from scanlab.evaluate import Mark, aupro, auroc, detection_rate_at_fpr, match_marks, pixel_auroc

    names = list(detectors)
    scores: dict[str, list[float]] = {n: [] for n in names}
    flagged: dict[str, list[bool]] = {n: [] for n in names}
    thresholds: dict[str, list[float]] = {n: [] for n in names}
    maps: dict[str, list[np.ndarray]] = {n: [] for n in names}
    seconds = dict.fromkeys(names, 0.0)
    hits: dict[str, dict[str, dict[str, list[int]]]] = {
        n: {"class": {}, "level": {}} for n in names
    }
    truth: list[bool] = []
    masks: list[np.ndarray] = []
    n_objects = 0
    for i, (scan, key) in enumerate(data):
        if transform is not None:
            scan = transform(scan)
        positive = not key.is_clean
        truth.append(positive)
        label = key.label_image() > 0
        masks.append(label[::pixel_step, ::pixel_step])
        n_objects += len(key.objects)
        for name in names:
            t0 = time.perf_counter()
            det = detectors[name](scan)
            seconds[name] += time.perf_counter() - t0
            scores[name].append(det.score)
            flagged[name].append(det.is_anomalous)
            thresholds[name].append(det.threshold)
            maps[name].append(det.anomaly_map[::pixel_step, ::pixel_step].astype(np.float16))
            marks = [
                # Detectors do not name a class; matching ignores it (require_class=False).
                Mark(f"r{j}", "rectangle", [(r0, c0), (r1 - 1, c1 - 1)], "narcotics")
                for j, (r0, c0, r1, c1) in enumerate(r.bbox for r in det.regions)
            ]
            found = {h.object_id for h in match_marks(key, marks).hits}
            for obj in key.objects:
                for kind, value in (("class", obj.threat_class), ("level", obj.difficulty.level)):
                    tally = hits[name][kind].setdefault(value, [0, 0])
                    tally[0] += obj.object_id in found
                    tally[1] += 1
        if progress:
            progress(i + 1)
    y = np.asarray(truth)
    reports = {}
    for name in names:
        s = np.asarray(scores[name])
        f = np.asarray(flagged[name])
        n_hit = sum(h for h, _ in hits[name]["class"].values())
        reports[name] = MethodReport(
            name=name,
            n_scans=len(y),
            n_clean=int((~y).sum()),
            n_objects=n_objects,
            image_auroc=auroc(y, s),
            detection_rate_at_fpr=detection_rate_at_fpr(y, s, fpr=fpr),
            fpr=fpr,
            pixel_auroc=pixel_auroc(masks, maps[name]),
            aupro=aupro(masks, maps[name], max_fpr=0.3),
            threshold=float(np.median(thresholds[name])),
            false_alarm_rate_at_threshold=float(f[~y].mean()),
            detection_rate_at_threshold=float(f[y].mean()),
            object_recall_at_threshold=n_hit / max(n_objects, 1),
            recall_by_class=dict(sorted(hits[name]["class"].items())),
            recall_by_level={
                k: hits[name]["level"][k]
                for k in ("easy", "medium", "hard")
                if k in hits[name]["level"]
            },
            seconds_per_scan=seconds[name] / max(len(y), 1),
        )
    return reports


def format_reports(reports: Mapping[str, MethodReport], *, title: str = "") -> str:
    """A plain-text table of the reports (one row per detector) with recall breakdowns."""
    if not reports:
        return ""
    first = next(iter(reports.values()))
    fpr = f"{first.fpr:.0%}"
    lines = [
        title or "held-out evaluation",
        f"{first.n_scans} scans ({first.n_clean} clean), {first.n_objects} objects",
        f"{'method':<22}{'AUROC':>7}{'det@' + fpr + 'FA':>11}{'pxAUROC':>9}{'AUPRO':>7}"
        f"{'FA@thr':>8}{'det@thr':>8}{'obj@thr':>8}{'s/scan':>8}",
    ]
    for r in reports.values():
        lines.append(
            f"{r.name:<22}{r.image_auroc:>7.3f}{r.detection_rate_at_fpr:>11.3f}"
            f"{r.pixel_auroc:>9.3f}{r.aupro:>7.3f}{r.false_alarm_rate_at_threshold:>8.3f}"
            f"{r.detection_rate_at_threshold:>8.3f}{r.object_recall_at_threshold:>8.3f}"
            f"{r.seconds_per_scan:>8.2f}"
        )
    for attr, label in (("recall_by_class", "class"), ("recall_by_level", "difficulty")):
        lines.append(f"object recall at the calibrated threshold, by {label}:")
        for r in reports.values():
            parts = [f"{k} {h}/{n}" for k, (h, n) in getattr(r, attr).items()]
            lines.append(f"  {r.name:<20}" + ", ".join(parts))
    return "\n".join(lines)
