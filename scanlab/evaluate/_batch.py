"""Batch evaluation of detectors over whole datasets, serial or on a Dask cluster, resumable.

Each (detector, scan) pair is one task. Its result is written atomically to
``OUT/results/<folder>-<fingerprint>/<scan_id>.json`` as soon as it is done (the fingerprint
is of the weights and card and of how pixels are binned, so two models of one name never
share results, and a retrained model never reuses stale ones), so an interrupted run
continues where it stopped, no finished result is lost or duplicated, and an item that
failed is tried again. Everything a metric needs is in those files (image score, regions
with scores, matched objects, the scan's pixel histograms), so the aggregate metrics are the
same whether the tasks ran serially, on two local workers or on a remote cluster.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from scanlab.errors import ScanlabError, SpecError
from scanlab.evaluate._marks import Mark
from scanlab.evaluate._matching import match_marks
from scanlab.evaluate._metrics import PixelHistogram
from scanlab.i18n import _, format_number

__all__ = [
    "DEFAULT_FPRS",
    "INPUT_MODES",
    "BatchResults",
    "DetectorProtocol",
    "evaluate_dataset",
    "load_results",
    "prepare_baselines",
    "summarise",
]

#: False-alarm rates at which detection rates are reported.
DEFAULT_FPRS = (0.01, 0.05)
#: Bins of the per-scan pixel histograms, equal in the logit of the score (see
#: :func:`pixel_ranks`).
PIXEL_BINS = 1000
#: Pixel scores are binned on their logit clipped to +-PIXEL_LOGIT (scores within 1.1e-7 of
#: 0 or of 1 share the end bins).
PIXEL_LOGIT = 16.0
#: How the pixel histograms are binned: part of every results folder's name, so results
#: binned otherwise (before the logit bins: 1000 equal bins of the score) are not reused.
_PIXEL_BINNING = f"logit +-{PIXEL_LOGIT:g}, {PIXEL_BINS} bins"
#: Region-score thresholds of the FROC curve.
FROC_THRESHOLDS = tuple(round(float(t), 3) for t in np.linspace(0.02, 0.98, 49))


class DetectorProtocol(Protocol):
    """What batch evaluation needs of a detector (:class:`scanlab.detect.Detector` is one).

    Calling it on a scan returns an object with ``score`` (float), ``anomaly_map`` ((row,
    col) float in [0, 1]), ``threshold`` (float) and ``regions`` (items with ``bbox``
    (row0, col0, row1, col1) and ``score``).
    """

    @property
    def name(self) -> str: ...

    def __call__(self, scan: Any) -> Any: ...


#: How each scan is read (``--input``): as recorded, or turned into the high-energy channel
#: alone or an 8-bit display export first (the README's single-energy and display rows).
INPUT_MODES = ("as-recorded", "single", "display")


@functools.cache
def _detector(weights: str, key: str) -> DetectorProtocol:
    """Load a detector once per process (each Dask worker keeps its own); ``key`` holds the
    weights' fingerprint, so a model retrained in the same folder is loaded anew. A fitted
    baseline (``.npz``, see :func:`prepare_baselines`) loads from its file."""
    from scanlab.detect import load_detector

    factory = _factory_spec(weights)
    if factory is not None:
        return _import_detector(*factory, weights)
    if weights.endswith(".npz"):
        from scanlab.detect._baselines import load_baseline

        baseline: DetectorProtocol = load_baseline(weights)
        return baseline
    detector: DetectorProtocol = load_detector(weights)
    return detector


@dataclass(frozen=True)
class _Model:
    """A detector as the tasks see it: its absolute weights folder (or fitted baseline
    file) and its results folder."""

    weights: str
    key: str


def _model(name: str, out: Path) -> _Model:
    """Resolve a detector name or folder here, before any task runs: an unknown name is an
    error of the whole run, and workers get an absolute path, whatever their folder."""
    from scanlab._specfiles import file_sha256
    from scanlab.detect._baselines import BASELINE_NAMES
    from scanlab.detect._weights import resolve_weights, weights_fingerprint

    factory = _factory_spec(name)
    if factory is not None:  # "file.py:factory" or "package.module:factory": your own detector
        target, attr = factory
        if target.endswith(".py"):
            file = Path(target).resolve()
            if not file.is_file():
                raise SpecError(_("detector {name!r}: no file {file}").format(name=name, file=file))
            target, digest = str(file), file_sha256(file)
        else:
            digest = hashlib.sha256(target.encode()).hexdigest()
        digest = hashlib.sha256(f"{digest} {_PIXEL_BINNING}".encode()).hexdigest()
        model = _Model(f"{target}:{attr}", f"{_safe(Path(target).stem)}-{attr}-{digest[:16]}")
        _detector(model.weights, model.key)  # a factory that fails is an error of the run
        return model
    if name in BASELINE_NAMES:
        path = (out / "baselines" / f"{name}.npz").resolve()
        text = f"{file_sha256(path)} {_UNBOUNDED_PIXELS} {_PIXEL_BINNING}"
        return _Model(str(path), f"{name}-{hashlib.sha256(text.encode()).hexdigest()[:16]}")
    folder = resolve_weights(name).resolve()
    text = f"{weights_fingerprint(folder)} {_PIXEL_BINNING}"
    return _Model(
        str(folder), f"{_safe(folder.name)}-{hashlib.sha256(text.encode()).hexdigest()[:16]}"
    )


def _factory_spec(name: str) -> tuple[str, str] | None:
    """``(target, attr)`` of ``"file.py:factory"`` or ``"package.module:factory"``, else None.

    ``factory()`` returns the detector, so researchers evaluate their own detectors (and the
    tests known-answer ones) exactly as scanlab's, serially, on local workers or a cluster.
    """
    target, sep, attr = name.rpartition(":")
    is_module = bool(target) and all(part.isidentifier() for part in target.split("."))
    if sep and attr.isidentifier() and (target.endswith(".py") or is_module):
        return target, attr
    return None


def _import_detector(target: str, attr: str, name: str) -> DetectorProtocol:
    import importlib
    import importlib.util
    import sys

    try:
        if target.endswith(".py"):
            path = Path(target).resolve()
            if not path.is_file():
                raise SpecError(_("detector {name!r}: no file {path}").format(name=name, path=path))
            module_name = f"_scanlab_detector_{hashlib.sha256(str(path).encode()).hexdigest()[:12]}"
            spec = importlib.util.spec_from_file_location(module_name, path)
            if spec is None or spec.loader is None:
                raise SpecError(
                    _("detector {name!r}: {path} is not a Python module").format(
                        name=name, path=path
                    )
                )
            module = importlib.util.module_from_spec(spec)
            sys.modules[module_name] = module  # dataclasses and pickling look modules up
            spec.loader.exec_module(module)
        else:
            module = importlib.import_module(target)
    except ImportError as exc:
        raise SpecError(
            _("detector {name!r}: cannot import {target}: {exc}").format(
                name=name, target=target, exc=exc
            )
        ) from None
    factory = getattr(module, attr, None)
    if not callable(factory):
        raise SpecError(
            _("detector {name!r}: {target} has no callable {attr!r}").format(
                name=name, target=target, attr=attr
            )
        )
    detector = factory()
    if not callable(detector):
        raise SpecError(
            _("detector {name!r}: {attr}() returned {type}, not a detector").format(
                name=name, attr=attr, type=type(detector).__name__
            )
        )
    return detector


def _result_path(out: str | Path, model: _Model, scan_id: str) -> Path:
    return Path(out) / "results" / model.key / f"{scan_id}.json"


def _check_scan_ids(items: list[dict[str, Any]], manifest: str | Path) -> None:
    """Scan ids name result files: each must be a plain, unique file name."""
    seen: set[str] = set()
    for item in items:
        scan_id = item.get("scan_id")
        if (
            not isinstance(scan_id, str)
            or scan_id in ("", ".", "..")
            or any(ch in scan_id for ch in "/\\\0")
            or Path(scan_id).is_absolute()
        ):
            raise SpecError(
                _(
                    "{manifest}: scan_id {scan_id!r} is not a plain file name (no '/', '\\', "
                    "'..'); results are written under it"
                ).format(manifest=manifest, scan_id=scan_id)
            )
        if scan_id in seen:
            raise SpecError(
                _("{manifest}: scan_id {scan_id!r} occurs twice").format(
                    manifest=manifest, scan_id=scan_id
                )
            )
        seen.add(scan_id)


def prepare_baselines(
    detectors: Sequence[str], out: str | Path, *, fit_data: str | Path | None = None
) -> None:
    """Fit and calibrate the baselines among ``detectors`` once, into ``OUT/baselines/``.

    By default PaDiM is fitted on clean training scans of the shipped weights' recipe and
    both thresholds are calibrated on its calibration scans (simulated once into the
    cache). ``fit_data``, a dataset folder, replaces both: the first half of its clean
    scans fits PaDiM, the second half calibrates the thresholds.
    """
    from scanlab.detect._baselines import BASELINE_NAMES, fitted_baseline, save_baseline

    for name in detectors:
        path = Path(out) / "baselines" / f"{name}.npz"
        if name not in BASELINE_NAMES or path.is_file():
            continue
        normal = calibration = None
        if fit_data is not None:
            from scanlab.io import read_scan
            from scanlab.synth import AnswerKey, load_manifest

            items = [i for i in load_manifest(fit_data) if AnswerKey.load(i["key_path"]).is_clean]
            if len(items) < 2:
                raise SpecError(
                    _("{fit_data}: fitting a baseline needs at least 2 clean scans").format(
                        fit_data=fit_data
                    )
                )
            half = len(items) // 2
            normal = [read_scan(i["scan_path"]) for i in items[:half]]
            calibration = [read_scan(i["scan_path"]) for i in items[half:]]
        path.parent.mkdir(parents=True, exist_ok=True)
        save_baseline(fitted_baseline(name, normal=normal, calibration=calibration), path)


def _read_as(scan: Any, settings: dict[str, Any]) -> Any:
    """The scan as the run's ``--input`` and ``--pitch`` settings ask to read it.

    The pitch is set in the scan's metadata, so every detector resamples it by its own
    pre-processing exactly as if the scanner had recorded that pitch.
    """
    import dataclasses

    mode = settings.get("input", "as-recorded")
    if mode == "single" and scan.is_dual_energy:
        from scanlab.detect._data import as_single_energy

        scan = as_single_energy(scan)
    elif mode == "display" and scan.representation.value != "display":
        from scanlab.detect._data import as_display_export

        scan = as_display_export(scan)
    if settings.get("pitch_mm"):
        value = settings["pitch_mm"]
        pitch = (float(value), float(value)) if isinstance(value, int | float) else value
        scan = scan.replace(
            metadata=dataclasses.replace(scan.metadata, pitch_mm=(float(pitch[0]), float(pitch[1])))
        )
    return scan


def _pitch_setting(value: Any) -> float | list[float]:
    """A pitch option as stored in the settings (JSON): one number, or [row, col]."""
    values = [value] if isinstance(value, int | float) else list(value)
    if len(values) not in (1, 2) or not all(
        isinstance(v, int | float) and 0 < v < 1000 for v in values
    ):
        raise SpecError(
            _("pitch must be one or two positive numbers of mm, got {value!r}").format(value=value)
        )
    return float(values[0]) if len(values) == 1 else [float(v) for v in values]


def _pin_threads(n: int | None) -> None:
    """Give this process's numeric libraries ``n`` threads (workers must not oversubscribe)."""
    if not n:
        return
    import cv2

    cv2.setNumThreads(n)
    try:
        import torch
    except ImportError:
        return
    if torch.get_num_threads() != n:
        torch.set_num_threads(n)


def _evaluate_chunk(
    items: list[dict[str, Any]],
    detector_name: str,
    model: _Model,
    out: str,
    settings: dict[str, Any],
    threads: int | None,
    slots_by_host: dict[str, int] | None = None,
) -> list[dict[str, Any]]:
    """Several items in one Dask task: fewer round trips when scans are small.

    ``threads``: the numeric libraries' threads for this task; None on a cluster whose
    workers this process did not start: then the cores of the worker's machine shared out
    among the task slots (Dask threads of all workers) that ``slots_by_host`` counts on it.
    """
    if threads is None and slots_by_host:
        threads = _host_share(slots_by_host)
    _pin_threads(threads)
    return [_evaluate_one(item, detector_name, model, out, settings) for item in items]


def _host_share(slots_by_host: dict[str, int]) -> int:
    """This Dask worker's machine's cores (those it may run on) divided by the tasks that
    may run there at once, at least 1."""
    from dask.distributed import get_worker

    host = get_worker().address.rsplit("://", 1)[-1].rsplit(":", 1)[0]
    return max(1, available_cores() // max(slots_by_host.get(host, 1), 1))


def available_cores() -> int:
    """The cores this process may run on (its affinity, as a job queue or container sets
    it), else the machine's."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def _evaluate_one(
    item: dict[str, Any], detector_name: str, model: _Model, out: str, settings: dict[str, Any]
) -> dict[str, Any]:
    """Run one detector on one scan and write its result file; never raises for bad data."""
    from scanlab.io import read_scan
    from scanlab.io._common import atomic_open
    from scanlab.synth import AnswerKey

    matching_rule = settings["matching_rule"]
    path = _result_path(out, model, item["scan_id"])
    result: dict[str, Any] = {
        "detector": detector_name,
        "scan_id": item["scan_id"],
        "settings": settings,
    }
    started = time.perf_counter()
    try:
        scan = read_scan(item["scan_path"])
        key = AnswerKey.load(item["key_path"])
        if key.shape != scan.shape:
            raise SpecError(
                _("{item}: key shape {shape} != scan shape {scan_shape}").format(
                    item=item["key_path"], shape=key.shape, scan_shape=scan.shape
                )
            )
        detector = _detector(model.weights, model.key)
        det = detector(_read_as(scan, settings))
        regions: list[dict[str, Any]] = [
            {"bbox": [int(v) for v in r.bbox], "score": float(r.score)} for r in det.regions
        ]
        amap = pixel_scores(det.anomaly_map, detector, float(det.threshold))
        truth = key.label_image() > 0
        hist = PixelHistogram.from_images(
            [truth], [pixel_ranks(amap)], score_range=(0.0, 1.0), n_bins=PIXEL_BINS
        )
        flagged = [_region_mark(i, r) for i, r in enumerate(regions) if r["score"] >= det.threshold]
        match = match_marks(key, flagged, rule=matching_rule)
        hit_ids = {h.object_id for h in match.hits}
        froc_hits, froc_fp = _froc_counts(key, regions, matching_rule)
        result.update(
            {
                "clean": key.is_clean,
                "score": float(det.score),
                # How the scan was read (baselines and own detectors may not say); a
                # pitch given to the run reaches the detector as the scan's metadata.
                "pitch_mm": list(getattr(det, "pitch_mm", None) or []) or None,
                "pitch_source": "option"
                if settings.get("pitch_mm")
                else getattr(det, "pitch_source", ""),
                "in_domain": bool(getattr(det, "in_domain", True)),
                "threshold": float(det.threshold),
                "flagged": bool(det.score >= det.threshold),
                "regions": regions,
                "objects": [
                    {
                        "object_id": o.object_id,
                        "threat_class": o.threat_class,
                        "concealment": o.concealment,
                        "level": o.difficulty.level,
                        "detected": o.object_id in hit_ids,
                        "overlap": round(match.overlap.get(o.object_id, 0.0), 4),
                    }
                    for o in key.objects
                ],
                "false_regions": len(match.false_alarms),
                "froc": {"hits": froc_hits, "false_positives": froc_fp},
                "pixels": hist.to_dict(),
            }
        )
    except ScanlabError as exc:
        result["error"] = str(exc)
    except Exception as exc:  # one damaged item among thousands must not stop the run
        result["error"] = f"{type(exc).__name__}: {exc}"
    result["seconds"] = round(time.perf_counter() - started, 4)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_open(path, "w") as fh:
        json.dump(result, fh)
    return result


#: How a map that is not in [0, 1] is brought there for the pixel histograms; part of the
#: fingerprint of such a detector's results, so results scored otherwise are not reused.
_UNBOUNDED_PIXELS = "map / (map + threshold)"


def pixel_scores(anomaly_map: Any, detector: Any, threshold: float) -> np.ndarray:
    """A detector's map in [0, 1], the range of the pixel histograms.

    A map in [0, 1] (scanlab's U-Net; the default for a detector without ``map_range``) is
    taken as it is. An unbounded one (``map_range`` (0, inf): the baselines' contrast-to-noise
    ratios and Mahalanobis distances) becomes ``map / (map + threshold)``: the ranking of
    pixels, which is all pixel AUROC, AP and AUPRO depend on, is kept, and the threshold
    lands at 0.5; clipping it at 1 would tie every pixel above 1 and flatten those figures.

    Examples
    --------
    >>> class Baseline:
    ...     map_range = (0.0, float("inf"))
    >>> pixel_scores(np.array([0.0, 2.0, 6.0, 18.0]), Baseline(), 6.0).tolist()
    [0.0, 0.25, 0.5, 0.75]
    >>> pixel_scores(np.array([-0.5, 0.3, 1.5]), object(), 0.5).tolist()
    [0.0, 0.3, 1.0]
    """
    amap = np.asarray(anomaly_map, dtype=np.float64)
    if tuple(getattr(detector, "map_range", (0.0, 1.0))) == (0.0, 1.0):
        return np.clip(amap, 0.0, 1.0)
    scale = threshold if math.isfinite(threshold) and threshold > 0 else 1.0
    amap = np.maximum(amap, 0.0)
    return amap / (amap + scale)


def pixel_ranks(scores: np.ndarray) -> np.ndarray:
    """Pixel scores in [0, 1] spread for binning: their logit, clipped to +-PIXEL_LOGIT and
    mapped back onto [0, 1] linearly.

    The pixel metrics (AUROC, average precision, F1-max, AUPRO) depend only on how pixels
    rank, and the histograms keep the ranking only between bins: pixels sharing a bin
    count as ties. A detector's map is mostly near 0: on v2's held-out scans 72 % of clean
    pixels and 2 % of object pixels lie below 0.001, so 1000 equal bins of the score tied
    them all and gave pixel AUROC 0.964 where the exact figure is 0.971. Equal bins of the
    logit are as fine near 0 and 1 as in between (a bin spans 3 % of the odds), and give
    0.971 there.

    Examples
    --------
    >>> pixel_ranks(np.array([0.0, 1e-4, 1e-3, 0.5, 1.0])).round(4).tolist()
    [0.0, 0.2122, 0.2842, 0.5, 1.0]
    """
    p = np.clip(np.asarray(scores, dtype=np.float64), 0.0, 1.0)
    with np.errstate(divide="ignore"):
        logit = np.log(p) - np.log1p(-p)
    return (np.clip(logit, -PIXEL_LOGIT, PIXEL_LOGIT) + PIXEL_LOGIT) / (2 * PIXEL_LOGIT)


def _froc_counts(key: Any, regions: list[dict[str, Any]], rule: str) -> tuple[list[int], list[int]]:
    """Hits and false regions at each of :data:`FROC_THRESHOLDS` (regions kept at >= t).

    The kept sets are nested, so matching runs only where the set changes.
    """
    hits: dict[float, int] = {}
    false: dict[float, int] = {}
    previous: tuple[int, int] | None = None
    n_kept = -1
    for t in sorted(FROC_THRESHOLDS, reverse=True):
        kept = [_region_mark(i, r) for i, r in enumerate(regions) if r["score"] >= t]
        if len(kept) != n_kept or previous is None:
            m = match_marks(key, kept, rule=rule)
            previous, n_kept = (len(m.hits), len(m.false_alarms)), len(kept)
        hits[t], false[t] = previous
    return [hits[t] for t in FROC_THRESHOLDS], [false[t] for t in FROC_THRESHOLDS]


def _region_mark(index: int, region: dict[str, Any]) -> Mark:
    r0, c0, r1, c1 = region["bbox"]
    return Mark(
        mark_id=f"r{index}",
        shape="rectangle",
        vertices=[(r0, c0), (r1 - 1, c1 - 1)],
        threat_class="narcotics",  # detectors flag anomalies; the class is not judged
        confidence=min(max(region["score"], 0.0), 1.0),
    )


def _safe(name: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in Path(name).name)


@dataclass
class BatchResults:
    """Per-scan results of every detector and the metrics computed from them."""

    per_scan: dict[str, list[dict[str, Any]]]
    metrics: dict[str, dict[str, Any]] = field(default_factory=dict)
    errors: list[dict[str, Any]] = field(default_factory=list)
    #: Paired comparisons of every pair of detectors (see :func:`compare_detectors`).
    comparisons: list[dict[str, Any]] = field(default_factory=list)
    #: How the run read and scored the scans (matching rule, input, pitch, FA rates).
    settings: dict[str, Any] = field(default_factory=dict)
    #: Per detector, the overlay images of its top false alarms and misses.
    overlays: dict[str, list[dict[str, Any]]] = field(default_factory=dict)


def evaluate_dataset(
    manifest: str | Path,
    detectors: Sequence[str],
    out: str | Path,
    *,
    scheduler: str | None = None,
    workers: int = 0,
    threads_per_worker: int | None = None,
    chunk_size: int | None = None,
    fprs: Sequence[float] = DEFAULT_FPRS,
    matching_rule: str = "overlap",
    input_mode: str = "as-recorded",
    pitch_mm: float | tuple[float, float] | None = None,
    n_bootstrap: int = 1000,
    n_overlays: int = 3,
    baseline_data: str | Path | None = None,
    limit: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> BatchResults:
    """Evaluate ``detectors`` on every scan of a dataset manifest; write results and a report.

    Parameters
    ----------
    manifest : path
        A dataset folder or its ``manifest.json`` (see :func:`scanlab.synth.build_dataset`).
    detectors : sequence of str
        Names of shipped weights (``"cargo-anomaly-v1"``) or model folders (or a file in
        one), or the baselines ``"local-background"`` and ``"padim"`` (fitted once, see
        :func:`prepare_baselines`). An unknown name raises
        :class:`~scanlab.detect.WeightsError` before anything runs.
    out : path
        Output folder: ``results/``, ``per_scan.csv``, ``per_scan.jsonl``, ``metrics.json``,
        ``roc.png``, ``froc.png``, ``roc.csv``, ``froc.csv``, ``overlays/``, ``report.html``.
    scheduler : str, optional
        A running Dask scheduler: its address as :class:`dask.distributed.Client` takes it
        (``tcp://host:8786``, ``host:8786``, ``tls://host:8786`` with Dask's TLS settings)
        or the JSON file it wrote with ``dask scheduler --scheduler-file`` (a name ending in
        ``.json``; how dask-mpi and HPC batch scripts hand the address over).
    workers : int
        Without ``scheduler``: 0 runs in this process; n > 0 starts a local Dask cluster of
        n worker processes.
    threads_per_worker : int, optional
        Threads each task's torch and OpenCV may use; default the machine's cores shared
        out among the local workers, and on a running scheduler each worker machine's cores
        shared out among the Dask threads of the workers on it.
    chunk_size : int, optional
        Scans per Dask task; default about four tasks per worker and detector.
    fprs : sequence of float
        False-alarm rates of the reported detection rates and of McNemar's tests.
    matching_rule : {"overlap", "centroid"}
        How a region hits an object (:func:`~scanlab.evaluate.match_marks`).
    input_mode : {"as-recorded", "single", "display"}
        Read scans as recorded, or as their high-energy channel alone, or as 8-bit display
        exports.
    pitch_mm : float or (float, float), optional
        The (row, col) pitch to take the scans as having (display exports rarely record
        one); one value for square pixels. Without it: the scans' metadata, else the pitch
        the detector measures on the container. Each scan's result records the pitch it was
        read at and where that came from.
    n_bootstrap : int
        Bootstrap resamples of every interval.
    n_overlays : int
        Top false alarms and misses per detector drawn as overlays (0: none).
    baseline_data : path, optional
        Clean scans to fit and calibrate the baselines on (default: the recipe's).
    limit : int, optional
        Evaluate only the first ``limit`` scans.
    progress : callable, optional
        ``progress(done, total)`` after each task (finished earlier ones count at once).
    """

    from scanlab.evaluate._matching import MATCH_RULES
    from scanlab.synth import load_manifest

    # Absolute paths: Dask workers resolve relative ones against their own folders.
    out = Path(out).resolve()
    if matching_rule not in MATCH_RULES:
        raise SpecError(
            _("matching rule must be one of {MATCH_RULES}, got {matching_rule!r}").format(
                MATCH_RULES=MATCH_RULES, matching_rule=matching_rule
            )
        )
    if input_mode not in INPUT_MODES:
        raise SpecError(
            _("input mode must be one of {INPUT_MODES}, got {input_mode!r}").format(
                INPUT_MODES=INPUT_MODES, input_mode=input_mode
            )
        )
    if not fprs or not all(0.0 < f < 1.0 for f in fprs):
        raise SpecError(
            _("false-alarm rates must lie strictly between 0 and 1, got {fprs}").format(
                fprs=list(fprs)
            )
        )
    if n_bootstrap < 2:
        raise SpecError(
            _("bootstrap count must be at least 2, got {n_bootstrap}").format(
                n_bootstrap=n_bootstrap
            )
        )
    # A limit of 0 or below would slice the manifest (all scans, or all but the last few),
    # and a negative worker count starts a Dask cluster without workers that never ends.
    for what, value, least in (
        ("limit", limit, 1),
        ("workers", workers, 0),
        ("threads per worker", threads_per_worker, 1),
        ("chunk size", chunk_size, 1),
        ("overlays", n_overlays, 0),
    ):
        if value is not None and value < least:
            raise SpecError(
                _("{what} must be at least {least}, got {value}").format(
                    what=what, least=least, value=value
                )
            )
    if scheduler is not None and scheduler.endswith(".json") and not Path(scheduler).is_file():
        raise SpecError(_("{scheduler}: no such Dask scheduler file").format(scheduler=scheduler))
    pitch_setting = _pitch_setting(pitch_mm) if pitch_mm is not None else None
    if len(set(detectors)) != len(detectors):
        raise SpecError(
            _("a detector is named twice: {detectors}").format(detectors=list(detectors))
        )
    items = load_manifest(Path(manifest).resolve())[:limit]
    if not items or not detectors:
        raise SpecError(
            _("{manifest}: nothing to evaluate (no scans or no detectors)").format(
                manifest=manifest
            )
        )
    _check_scan_ids(items, manifest)
    settings = {"matching_rule": matching_rule, "input": input_mode, "pitch_mm": pitch_setting}
    from scanlab.detect._baselines import BASELINE_NAMES

    # Unknown names fail here, before minutes are spent fitting a baseline.
    models = {name: _model(name, out) for name in detectors if name not in BASELINE_NAMES}
    prepare_baselines(detectors, out, fit_data=baseline_data)
    models.update({name: _model(name, out) for name in detectors if name in BASELINE_NAMES})
    tasks = []
    done: list[dict[str, Any]] = []
    for name in detectors:
        for item in items:
            previous = _read_result(_result_path(out, models[name], item["scan_id"]))
            if (
                previous is not None
                and "error" not in previous
                and previous.get("settings") == settings
            ):
                done.append(previous)
            else:  # not run yet, or failed: the input may have been repaired since
                plain = {k: str(v) if isinstance(v, Path) else v for k, v in item.items()}
                tasks.append((plain, name, models[name]))
    total = len(tasks) + len(done)
    if progress:
        progress(len(done), total)
    if tasks:
        if scheduler is None and workers == 0:
            for plain, name, model in tasks:
                done.append(_evaluate_one(plain, name, model, str(out), settings))
                if progress:
                    progress(len(done), total)
        else:
            if threads_per_worker is None and scheduler is None:
                threads_per_worker = max(1, available_cores() // max(workers, 1))
            done.extend(
                _run_on_dask(
                    tasks,
                    str(out),
                    settings,
                    scheduler=scheduler,
                    workers=workers,
                    threads=threads_per_worker,
                    chunk_size=chunk_size,
                    progress=progress,
                    already=len(done),
                    total=total,
                )
            )
    results = _collate(done, detectors)
    results.metrics = {
        name: summarise(results.per_scan[name], fprs=fprs, n_bootstrap=n_bootstrap)
        for name in detectors
    }
    from scanlab.evaluate._compare import compare_detectors

    results.comparisons = compare_detectors(results.per_scan, fprs=fprs, n_bootstrap=n_bootstrap)
    results.settings = {**settings, "fprs": list(fprs), "n_bootstrap": n_bootstrap}
    from scanlab.evaluate._report import write_batch_report, write_overlays

    if n_overlays > 0:
        results.overlays = write_overlays(results, items, out, n=n_overlays)
    write_batch_report(results, out)
    return results


def _chunks(
    tasks: list[tuple[dict[str, Any], str, _Model]], size: int
) -> list[tuple[list[dict[str, Any]], str, _Model]]:
    """Group tasks of the same detector into chunks of at most ``size`` items."""
    by_detector: dict[str, tuple[_Model, list[dict[str, Any]]]] = {}
    for plain, name, model in tasks:
        by_detector.setdefault(name, (model, []))[1].append(plain)
    return [
        (items[i : i + size], name, model)
        for name, (model, items) in by_detector.items()
        for i in range(0, len(items), size)
    ]


def _run_on_dask(
    tasks: list[tuple[dict[str, Any], str, _Model]],
    out: str,
    settings: dict[str, Any],
    *,
    scheduler: str | None,
    workers: int,
    threads: int | None,
    chunk_size: int | None,
    progress: Callable[[int, int], None] | None,
    already: int,
    total: int,
) -> list[dict[str, Any]]:
    from dask.distributed import Client, LocalCluster, as_completed

    cluster = None
    if scheduler is None:
        n = str(threads or 1)
        # Set before the worker imports torch or OpenCV, so their pools start at this size.
        env = {v: n for v in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")}
        cluster = LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=":0",
            env=env,
        )
        client = Client(cluster)
    elif scheduler.endswith(".json"):
        client = Client(scheduler_file=scheduler)
    else:
        client = Client(scheduler)
    try:
        info = client.scheduler_info().get("workers", {})
        n_workers = max(len(info), workers, 1)
        n_detectors = len({name for _, name, _ in tasks})
        size = chunk_size or max(1, math.ceil(len(tasks) / (4 * n_workers * n_detectors)))
        # On a cluster started elsewhere, each task pins its libraries to its machine's cores
        # shared out among the task slots there (several workers may share a machine).
        slots_by_host: dict[str, int] = {}
        for address, worker in info.items():
            host = worker.get("host") or address.rsplit("://", 1)[-1].rsplit(":", 1)[0]
            slots_by_host[host] = slots_by_host.get(host, 0) + int(worker.get("nthreads", 1))
        futures = [
            client.submit(
                _evaluate_chunk,
                items,
                name,
                model,
                out,
                settings,
                threads,
                slots_by_host,
                pure=False,
            )
            for items, name, model in _chunks(tasks, size)
        ]
        finished: list[dict[str, Any]] = []
        for future in as_completed(futures):
            finished.extend(future.result())
            if progress:
                progress(already + len(finished), total)
        return finished
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def _read_result(path: Path) -> dict[str, Any] | None:
    """A finished result, or None if absent or unreadable (then it is computed again)."""
    try:
        result = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return result if isinstance(result, dict) and "scan_id" in result else None


def _collate(results: list[dict[str, Any]], detectors: Sequence[str]) -> BatchResults:
    per_scan: dict[str, list[dict[str, Any]]] = {name: [] for name in detectors}
    errors = []
    for r in results:
        if "error" in r:
            errors.append(r)
        per_scan.setdefault(r["detector"], []).append(r)
    for rows in per_scan.values():
        rows.sort(key=lambda r: r["scan_id"])
    errors.sort(key=lambda r: (r["detector"], r["scan_id"]))
    return BatchResults(per_scan=per_scan, errors=errors)


def load_results(out: str | Path, detectors: Sequence[str]) -> BatchResults:
    """Read the per-scan results of a finished (or interrupted) run back."""
    out = Path(out)
    found = []
    for name in detectors:
        for path in sorted((out / "results" / _model(name, out).key).glob("*.json")):
            result = _read_result(path)
            if result is not None:
                found.append(result)
    return _collate(found, detectors)


def summarise(
    rows: list[dict[str, Any]], *, fprs: Sequence[float] = DEFAULT_FPRS, n_bootstrap: int = 1000
) -> dict[str, Any]:
    """Aggregate metrics of one detector, each with a 95 % interval (bootstrap over scans for
    the curve metrics, Wilson for the recall of each concealment method and threat class).

    ``warnings`` lists the false-alarm rates that the clean scans cannot resolve: with
    ``n`` clean scans a rate below ``1 / n`` means no false alarm at all, so the detection
    rates at all such rates are the same number.
    """
    from scanlab.evaluate._metrics import auroc, average_precision, bootstrap_ci, f1_max

    ok = [r for r in rows if "error" not in r]
    out: dict[str, Any] = {"n_scans": len(ok), "n_errors": len(rows) - len(ok)}
    if not ok:
        return out
    y = np.array([not r["clean"] for r in ok])
    s = np.array([r["score"] for r in ok])
    n_clean = int((~y).sum())
    out["n_clean"] = n_clean
    out["n_objects"] = sum(len(r["objects"]) for r in ok)
    out["warnings"] = [  # in the current language: the report and the command show them
        _(
            "only {n_clean} clean scans: a false-alarm rate of {rate} needs at least {needed} "
            "to mean anything (below that, no false alarm is allowed and every such rate gives "
            "the same detection rate)"
        ).format(n_clean=n_clean, rate=format_number(fpr, "g"), needed=math.ceil(1 / fpr - 1e-9))
        for fpr in fprs
        if n_clean * fpr < 1
    ]
    hists = [PixelHistogram.from_dict(r["pixels"]) for r in ok]
    index = np.arange(len(ok))

    def with_ci(metric: Callable[[np.ndarray], float]) -> dict[str, float] | None:
        try:
            value = metric(index)
        except ScanlabError:
            return None
        try:
            ci = bootstrap_ci(metric, index, n=n_bootstrap, seed=0)
        except ScanlabError:  # too few scans of one kind to resample: no interval
            return {"value": value, "low": math.nan, "high": math.nan}
        return {"value": value, "low": ci.low, "high": ci.high}

    def pixels(ix: np.ndarray) -> PixelHistogram:
        return functools.reduce(lambda a, b: a + b, (hists[i] for i in ix))

    out["image_auroc"] = with_ci(lambda ix: auroc(y[ix], s[ix]))
    out["average_precision"] = with_ci(lambda ix: average_precision(y[ix], s[ix]))
    out["f1_max"] = with_ci(lambda ix: f1_max(y[ix], s[ix]))
    for fpr in fprs:
        out[f"detection_rate_at_fpr_{fpr:g}"] = with_ci(
            functools.partial(_detection_rate, y, s, fpr)
        )
    out["pixel_auroc"] = with_ci(lambda ix: pixels(ix).auroc())
    out["pixel_average_precision"] = with_ci(lambda ix: pixels(ix).average_precision())
    out["pixel_f1_max"] = with_ci(lambda ix: pixels(ix).f1_max())
    out["aupro_0.3"] = with_ci(lambda ix: pixels(ix).aupro(max_fpr=0.3))
    out["false_alarm_rate_at_threshold"] = float(
        np.mean([r["flagged"] for r in ok if r["clean"]] or [math.nan])
    )
    out["recall_by_concealment"] = _recall_by(ok, "concealment")
    out["recall_by_class"] = _recall_by(ok, "threat_class")
    out["recall_by_level"] = _recall_by(ok, "level")
    out["froc"] = _froc(ok)
    out["seconds_per_scan"] = float(np.mean([r["seconds"] for r in ok]))
    return out


def _detection_rate(y: np.ndarray, s: np.ndarray, fpr: float, ix: np.ndarray) -> float:
    from scanlab.evaluate._metrics import detection_rate_at_fpr

    return detection_rate_at_fpr(y[ix], s[ix], fpr=fpr)


def _recall_by(rows: list[dict[str, Any]], field_name: str) -> dict[str, dict[str, float]]:
    """Object recall at the detector's threshold per group, with its 95 % Wilson interval."""
    from scanlab.evaluate._sdt import rate_ci

    groups: dict[str, list[bool]] = {}
    for r in rows:
        for o in r["objects"]:
            groups.setdefault(str(o.get(field_name, "unknown")), []).append(bool(o["detected"]))
    out = {}
    for k, v in sorted(groups.items()):
        ci = rate_ci(sum(v), len(v))
        out[k] = {"recall": ci.estimate, "low": ci.low, "high": ci.high, "n": len(v)}
    return out


def _froc(rows: list[dict[str, Any]]) -> dict[str, list[float]]:
    """Sensitivity against mean false regions per scan over :data:`FROC_THRESHOLDS`.

    Each scan recorded, at every threshold, how many objects its regions of at least that
    score hit (one-to-one matching) and how many regions hit nothing.
    """
    n_objects = sum(len(r["objects"]) for r in rows)
    hits = np.sum([r["froc"]["hits"] for r in rows], axis=0)
    fps = np.sum([r["froc"]["false_positives"] for r in rows], axis=0)
    return {
        "thresholds": list(FROC_THRESHOLDS),
        "mean_false_positives": (fps / len(rows)).tolist(),
        "sensitivity": (hits / max(n_objects, 1)).tolist(),
    }
