"""Detector assist: run :mod:`scanlab.detect` on a scan with progress, and its result as layers.

Plain Python. The detector runs in a helper thread so that :func:`detection_steps` can yield
progress while it works; the Qt widget drives that generator from a napari ``thread_worker``.
"""

from __future__ import annotations

from collections.abc import Generator
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from scanlab.io import Scan
from scanlab.napari_plugin._layers import LayerData, ScanRef, placement
from scanlab.napari_plugin._progress import steps_of

__all__ = [
    "ANOMALY_COLOURMAP",
    "SupportsDetect",
    "anomaly_layers",
    "detection_steps",
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


def load_detector(name: str | Path) -> SupportsDetect:
    """A ready detector (loads torch and the weights: seconds; call it in a worker)."""
    from scanlab.detect import load_detector as _load

    return _load(name)


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
    return [(amap, map_kwargs, "image"), (boxes, region_kwargs, "shapes")]
