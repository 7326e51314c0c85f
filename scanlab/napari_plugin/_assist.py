"""Detector assist: run :mod:`scanlab.detect` on a scan with progress, and its result as layers.

Plain Python. :class:`DetectionAhead` runs the detector in a background thread, on the scan
shown and ahead on those about to be shown; the Qt widget waits for it in a napari
``thread_worker`` that yields progress.
"""

from __future__ import annotations

import inspect
import threading
from collections.abc import Callable, Collection, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from scanlab.i18n import _
from scanlab.io import Scan
from scanlab.napari_plugin._layers import META_KEY, LayerData, ScanRef, named, placement

__all__ = [
    "ANOMALY_COLOURMAP",
    "ASSIST_ROLES",
    "DetectionAhead",
    "SupportsDetect",
    "anomaly_layers",
    "assist_on_screen",
    "default_detector",
    "detection_summary",
    "detector_names",
    "load_detector",
]

#: Transparent where the map is low, through orange to yellow: the scan stays readable
#: under the overlay.
ANOMALY_COLOURMAP: dict[str, Any] = {
    "name": "scanlab-anomaly",
    "colors": [
        [1.0, 0.2, 0.0, 0.0],
        [1.0, 0.35, 0.0, 0.35],
        [1.0, 0.75, 0.0, 0.75],
        [1.0, 1.0, 0.3, 0.95],
    ],
    "controls": [0.0, 0.3, 0.7, 1.0],
}


#: The roles (:class:`~scanlab.napari_plugin._layers.ScanRef`) of the layers that
#: :func:`anomaly_layers` lays over a scan.
ASSIST_ROLES = ("anomaly", "regions")


class SupportsDetect(Protocol):
    """What the widget needs of a detector: ``detect(scan)`` returning a Detection-like
    object (``score``, ``anomaly_map``, ``regions`` with ``bbox``/``score``, ``threshold``)."""

    def detect(self, scan: Scan) -> Any: ...


def detector_names() -> tuple[str, ...]:
    """Names of the trained detectors in the repository's ``models/`` folder."""
    from scanlab.detect import models_dir

    folder = models_dir()
    if not folder.is_dir():
        return ()
    return tuple(sorted(p.parent.name for p in folder.glob("*/card.json")))


def default_detector(names: tuple[str, ...]) -> str | None:
    """The detector preselected among ``names``: scanlab's default model when it is there
    (as ``scanlab detect`` uses it), else the first name, else None.

    Examples
    --------
    >>> default_detector(("cargo-anomaly-v1", "cargo-anomaly-v2", "site-a"))
    'cargo-anomaly-v2'
    >>> default_detector(("site-a", "site-b"))
    'site-a'
    >>> default_detector(()) is None
    True
    """
    from scanlab.detect import DetectorWeights

    if DetectorWeights.DEFAULT.value in names:
        return DetectorWeights.DEFAULT.value
    return names[0] if names else None


def load_detector(
    name: str | Path, *, scan_pitch_mm: float | tuple[float, float] | None = None
) -> SupportsDetect:
    """A ready detector (loads torch and the weights: seconds; call it in a worker).
    ``scan_pitch_mm`` overrides the pitch of the scans it reads (``scanlab gui --pitch``)."""
    from scanlab.detect import load_detector as _load

    return _load(name, scan_pitch_mm=scan_pitch_mm)


def detection_summary(detection: Any) -> str:
    """One paragraph for people: the decision, or that the scan is unlike the model's
    calibration scans (then the map says little), and how its pitch was obtained.

    Examples
    --------
    >>> from scanlab.detect import Detection
    >>> d = Detection(0.9, np.zeros((2, 2)), [], 0.5, "display", (7.5, 7.5), "estimate",
    ...               False, ("not calibrated for this scanner: run scanlab adapt",))
    >>> for sentence in detection_summary(d).split(". "):
    ...     print(sentence)
    Not calibrated for this scanner: run scanlab adapt
    Score 0.90 (threshold 0.50), 0 region(s): do not rely on them
    Pitch 7.5 mm (estimate).
    """
    score, threshold = float(detection.score), float(detection.threshold)
    n = len(detection.regions)
    if not getattr(detection, "in_domain", True):
        text = (
            _("Not calibrated for this scanner: run scanlab adapt.")
            + " "
            + _(
                "Score {score:.2f} (threshold {threshold:.2f}), {n} region(s): do not rely on them."
            ).format(score=score, threshold=threshold, n=n)
        )
    else:
        template = (
            _("Score {score:.2f} (threshold {threshold:.2f}): flagged; {n} region(s).")
            if score >= threshold
            else _("Score {score:.2f} (threshold {threshold:.2f}): not flagged; {n} region(s).")
        )
        text = (
            template.format(score=score, threshold=threshold, n=n)
            + " "
            + _("The detector assists, it does not decide.")
        )
    pitch = getattr(detection, "pitch_mm", None)
    if pitch:
        source = {
            "option": _("given"),
            "metadata": _("metadata"),
            "estimate": _("estimate"),
            "default": _("default"),
        }.get(detection.pitch_source, detection.pitch_source)
        text += " " + _("Pitch {pitch:g} mm ({source}).").format(pitch=pitch[0], source=source)
    return text


class DetectionAhead:
    """Detector results for the scan on screen and the scans about to be shown, computed one
    at a time in a background thread and kept per scan.

    ``load()`` gives the detector; it is called in the background thread before the first
    run (loading weights takes seconds). Each scan comes as ``(key, scan)``, where ``scan``
    is the :class:`~scanlab.io.Scan` or a function giving it (called in the background
    thread: for example waiting for the next scan to be read). :meth:`want` says which
    scans matter now, most wanted first: the runs not started are put in that order, those
    of scans no longer wanted are cancelled, and kept results of other scans are forgotten.
    A run under way is never stopped in the middle (a detector cannot be), unless its
    ``detect`` takes ``progress=callback(done, total)``: then it stops at its next step. A
    result is given only for the very scan it was made from (:meth:`result`), so that a scan
    read again, or another scan under the same key, never gets another's map. With
    ``quiet_s``, the scans after the first wait until :meth:`want` has not been called for
    that long (the trainee has settled on a scan) before their run starts.

    Examples
    --------
    >>> class Sums:
    ...     def detect(self, scan):
    ...         return float(scan.data.sum())
    >>> from scanlab.io import example_scan
    >>> first, second = (example_scan(rows=32, cols=64, seed=s) for s in (1, 2))
    >>> ahead = DetectionAhead(Sums)  # made (loaded) in the background, at its first run
    >>> ahead.want([("a", first), ("b", lambda: second)])
    >>> ahead.wait("b") == float(second.data.sum())
    True
    >>> ahead.result("b", second) == float(second.data.sum()), ahead.result("b", first)
    (True, None)
    >>> ahead.want([("b", second)])  # "a" is forgotten
    >>> ahead.result("a", first) is None
    True
    >>> ahead.close()
    """

    def __init__(self, load: Callable[[], SupportsDetect], *, quiet_s: float = 0.0) -> None:
        self._load = load
        self._detector: SupportsDetect | None = None
        self._quiet_s = quiet_s
        self._first: str | None = None  # the key wanted first (the scan on screen)
        self._moved = threading.Event()  # set by each want()
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="scanlab-assist")
        self._lock = threading.Lock()
        self._futures: dict[str, Future[tuple[Scan, Any]]] = {}
        self._progress: dict[str, tuple[int, int]] = {}

    def want(self, scans: Sequence[tuple[str, Scan | Callable[[], Scan]]]) -> None:
        """Keep or compute the results of ``scans``, in this order; forget every other."""
        wanted = dict(reversed(scans))  # the first of a repeated key wins
        order = list(dict.fromkeys(key for key, _scan in scans))
        with self._lock:
            self._first = order[0] if order else None
            self._moved.set()
            for key, future in list(self._futures.items()):
                scan = wanted.get(key)
                stale = future.done() and isinstance(scan, Scan) and not self._made_of(future, scan)
                # Not started: cancelled, and put back below in the wanted order.
                if key not in wanted or stale or future.cancel():
                    future.cancel()
                    del self._futures[key]
                    self._progress.pop(key, None)
            for key in order:
                if key not in self._futures:
                    self._futures[key] = self._pool.submit(self._run, key, wanted[key])

    def future(self, key: str) -> Future[tuple[Scan, Any]] | None:
        """The run for ``key`` (done or not): its result is ``(scan, detection)``."""
        with self._lock:
            return self._futures.get(key)

    def result(self, key: str, scan: Scan) -> Any:
        """The detection made of ``scan`` under ``key`` if it is done, else None."""
        future = self.future(key)
        if future is None or not future.done() or not self._made_of(future, scan):
            return None
        return future.result()[1]

    def wait(self, key: str, timeout: float | None = None) -> Any:
        """The detection for ``key``, waiting for it (its error is raised here)."""
        future = self.future(key)
        if future is None:
            raise KeyError(key)
        return future.result(timeout)[1]

    def forget(self, key: str) -> None:
        """Drop the result (or run) for ``key``: the next :meth:`want` runs it again."""
        with self._lock:
            future = self._futures.pop(key, None)
        if future is not None:
            future.cancel()

    @property
    def loaded(self) -> bool:
        """The detector is loaded (its first run has begun)."""
        return self._detector is not None

    def progress(self, key: str) -> tuple[int, int]:
        """``(done, total)`` of the run for ``key``: ``(0, 0)`` when unknown."""
        return self._progress.get(key, (0, 0))

    @property
    def idle(self) -> bool:
        """No run under way or waiting."""
        with self._lock:
            return all(future.done() for future in self._futures.values())

    def close(self) -> None:
        self._quiet_s = 0.0
        self._moved.set()
        with self._lock:
            for future in self._futures.values():
                future.cancel()
            self._futures.clear()
        self._pool.shutdown(wait=False, cancel_futures=True)

    @staticmethod
    def _made_of(future: Future[tuple[Scan, Any]], scan: Scan) -> bool:
        if future.cancelled() or future.exception() is not None:
            return False
        return future.result()[0] is scan

    def _run(self, key: str, scan: Scan | Callable[[], Scan]) -> tuple[Scan, Any]:
        this = self.future(key)
        # A scan ahead waits for quiet_s without a want(): the trainee's moves, and the
        # workstation drawing the scan they moved to, have the cores first.
        while key != self._first and self._quiet_s > 0:
            self._moved.clear()
            if not self._moved.wait(self._quiet_s):
                break
            if self.future(key) is not this:
                raise _NoLongerWanted(key)
        if self.future(key) is not this:  # forgotten meanwhile, or closed
            raise _NoLongerWanted(key)
        if self._detector is None:
            self._detector = self._load()
        detector = self._detector
        if not isinstance(scan, Scan):
            scan = scan()
        if "progress" not in inspect.signature(detector.detect).parameters:
            return scan, detector.detect(scan)

        def progress(done: int, total: int) -> None:
            if self.future(key) is not this:
                raise _NoLongerWanted(key)
            self._progress[key] = (int(done), int(total))

        detect: Callable[..., Any] = detector.detect
        return scan, detect(scan, progress=progress)


class _NoLongerWanted(Exception):
    """Stops a run whose scan is no longer wanted (raised from its progress callback)."""


def anomaly_layers(detection: Any, ref: ScanRef, *, name: str = "") -> list[LayerData]:
    """The anomaly map as a transparent-to-yellow overlay and its regions as red boxes."""
    base = name or ref.scan_id
    amap = np.asarray(detection.anomaly_map, dtype=np.float32)
    stride = max(1, round(ref.scan.shape[0] / amap.shape[0]))
    map_kwargs = {
        "name": f"{base} [anomaly map]",
        **placement(ref, stride),
        "colormap": ANOMALY_COLOURMAP,
        "contrast_limits": [0.0, 1.0],
        "blending": "translucent",
        "opacity": 0.8,
        "metadata": {"scanlab": ref.with_role("anomaly", stride=stride)},
    }
    boxes = [
        np.array([[r0, c0], [r0, c1 - 1], [r1 - 1, c1 - 1], [r1 - 1, c0]], dtype=float)
        for r0, c0, r1, c1 in (region.bbox for region in detection.regions)
    ]
    scores = [float(region.score) for region in detection.regions]
    region_kwargs = {
        "name": f"{base} [detector regions]",
        "shape_type": "rectangle",
        **placement(ref),
        "edge_color": "#ff3030",
        "face_color": "transparent",
        "edge_width": 3.0,
        "features": {"score": scores},
        "text": {"string": "{score:.2f}", "color": "#ff3030", "size": 10, "anchor": "upper_left"},
        "metadata": {"scanlab": ref.with_role("regions")},
    }
    return [(amap, named(map_kwargs), "image"), (boxes, named(region_kwargs), "shapes")]


def assist_on_screen(layers: Iterable[Any], scan_ids: Collection[str]) -> bool:
    """Whether Detector assist's output over one of the scans ``scan_ids`` is on screen:
    its anomaly map or regions among ``layers``, visible and not fully transparent.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> from scanlab.napari_plugin._layers import META_KEY, ScanRef
    >>> scan = SimpleNamespace(metadata=SimpleNamespace(scan_id="item-1"), source="")
    >>> ref = ScanRef(scan, role="anomaly")
    >>> layer = SimpleNamespace(visible=True, opacity=0.8, metadata={META_KEY: ref})
    >>> assist_on_screen([layer], {"item-1"}), assist_on_screen([layer], {"item-2"})
    (True, False)
    >>> layer.opacity = 0.0
    >>> assist_on_screen([layer], {"item-1"})
    False
    """
    for layer in layers:
        ref = layer.metadata.get(META_KEY)
        if (
            isinstance(ref, ScanRef)
            and ref.role in ASSIST_ROLES
            and ref.scan_id in scan_ids
            and layer.visible
            and float(layer.opacity) > 0
        ):
            return True
    return False
