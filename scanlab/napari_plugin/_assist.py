"""Detector assist: run :mod:`scanlab.detect` on a scan with progress, and its result as layers.

Plain Python. The detector runs in a helper thread so that :func:`detection_steps` can yield
progress while it works; the Qt widget drives that generator from a napari ``thread_worker``.
"""

from __future__ import annotations

from collections.abc import Collection, Generator, Iterable
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from scanlab.i18n import _
from scanlab.io import Scan
from scanlab.napari_plugin._layers import META_KEY, LayerData, ScanRef, named, placement
from scanlab.napari_plugin._progress import steps_of

__all__ = [
    "ANOMALY_COLOURMAP",
    "ASSIST_ROLES",
    "SupportsDetect",
    "anomaly_layers",
    "assist_on_screen",
    "default_detector",
    "detection_steps",
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


def detection_steps(detector: SupportsDetect, scan: Scan) -> Generator[tuple[int, int], None, Any]:
    """Run ``detector`` on ``scan``, yielding ``(done, total)`` progress; return its Detection.

    A detector whose ``detect`` takes ``progress=callback(done, total)`` (for example tiles
    processed) reports real progress; any other yields ``(0, 0)`` (busy) until it is done.
    """
    return (yield from steps_of(detector.detect, scan))


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
