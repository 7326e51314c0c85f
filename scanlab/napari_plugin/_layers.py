"""Scans as napari layer data: which arrays, names, scales and colour maps a scan opens as.

Plain Python (no napari import): the reader, the sample data and every widget build their
layers here, and each layer keeps a :class:`ScanRef` in ``metadata["scanlab"]`` so that a
widget can find the scan behind whatever layer is selected.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from scanlab.i18n import N_, _, get_language, term
from scanlab.io import Representation, Scan
from scanlab.synth import AnswerKey

__all__ = [
    "CLASS_COLOURS",
    "NAME_KEY",
    "REFERENCE_PREFIX",
    "LayerData",
    "LayerPrefetch",
    "ScanRef",
    "answer_key_layer",
    "display_limits",
    "layer_scale",
    "named",
    "pitch_warning",
    "placement",
    "scan_layers",
    "scrub_scan",
    "shown_name",
]

#: A napari layer-data tuple: (data, layer keyword arguments, layer type).
LayerData = tuple[Any, dict[str, Any], str]

#: Edge colour of each threat class, wherever a class is drawn (marks, keys, results). No
#: hue near the outcome colours (green found, amber missed, red false alarm: see
#: ``_marking.OUTCOME_COLOURS``), so that a weapon mark is not read as a false alarm.
CLASS_COLOURS: Mapping[str, str] = {
    "narcotics": "#1f77b4",
    "cigarettes": "#bcbd22",
    "cash": "#ffd92f",
    "weapon": "#ff00ff",
    "stowaway": "#c5b0d5",
    "vehicle": "#17becf",
    "compartment": "#9467bd",
}

#: Metadata key under which every scanlab layer keeps its ScanRef.
META_KEY = "scanlab"
#: Metadata key of a layer's name as scanlab knows it, in English ("scan-1 [anomaly map]"):
#: widgets find their layers by it, while the layer list shows the name in the trainee's
#: language (:func:`shown_name`), which changes when the trainee changes language.
NAME_KEY = "scanlab_name"
#: Every reference layer's name starts with this (the Reference widget replaces them as one).
REFERENCE_PREFIX = "reference: "
#: The words in brackets of layer names ("scan-1 [high]"), as the catalogue holds them.
LAYER_WORDS = (
    N_("high"),
    N_("low"),
    N_("vendor material"),
    N_("answer key"),
    N_("enhanced"),
    N_("ruler"),
    N_("anomaly map"),
    N_("detector regions"),
    N_("where"),
)
_REFERENCE = N_("reference: {name}")


def shown_name(name: str) -> str:
    """A layer's name as scanlab knows it (English) as the layer list shows it in the
    current language: the word in brackets (a channel, an overlay, a preset) and a
    reference's prefix and entry translated; the scan's own name stays as it is.

    Examples
    --------
    >>> from scanlab.i18n import use_language
    >>> with use_language("ru"):
    ...     shown_name("lane2-0041 [anomaly map]"), shown_name("reference: pistol [where]")
    ('lane2-0041 [карта аномалий]', 'эталон: пистолет [где]')
    >>> shown_name("lane2-0041 [high]")
    'lane2-0041 [high]'
    """
    if get_language() == "en":
        return name
    head, word = name, ""
    if name.endswith("]") and " [" in name:
        head, _sep, word = name[:-1].rpartition(" [")
    if head.startswith(REFERENCE_PREFIX):
        head = _(_REFERENCE).format(name=term(head[len(REFERENCE_PREFIX) :]))
    return f"{head} [{_layer_word(word)}]" if word else head


def _layer_word(word: str) -> str:
    said = _(word)
    if said != word:
        return said
    said = term(word)  # a preset's key ("density_band") as its name is translated
    return said if said != word.replace("_", " ") else word


def named(kwargs: dict[str, Any]) -> dict[str, Any]:
    """Layer keyword arguments whose ``name`` (English, as scanlab finds the layer) is kept
    in the metadata under :data:`NAME_KEY` and shown in the current language."""
    metadata = dict(kwargs.get("metadata") or {})
    key = metadata.setdefault(NAME_KEY, kwargs["name"])
    return {**kwargs, "name": shown_name(key), "metadata": metadata}


@dataclass(frozen=True, eq=False)
class ScanRef:
    """The scan a layer belongs to.

    Attributes
    ----------
    scan : Scan
        Attenuation (float32) for a calibrated scan, the picture itself for a display image:
        what the status bar reads and what enhancement starts from.
    role : str
        ``"channel"`` (a channel as read), ``"view"`` (the Enhance widget's rendering, which
        follows the scan shown), ``"compare"`` (a side-by-side rendering), ``"anomaly"``,
        ``"regions"``, ``"ruler"``, ``"marks"``, ``"result"`` or ``"key"``.
    channel : int
        Channel shown by a ``"channel"`` layer.
    stride : int
        Subsampling of the layer's pixels (1 = full resolution, >1 for a preview).
    detail : str
        Free text, e.g. the preset of a view.
    """

    scan: Scan
    role: str = "channel"
    channel: int = 0
    stride: int = 1
    detail: str = ""

    @property
    def scan_id(self) -> str:
        return self.scan.metadata.scan_id or self.scan.source

    @property
    def label(self) -> str:
        """The scan's name in layer names: its id, else its file's name without the folder
        (``scan_id`` keeps the whole path, to tell two files of one name apart)."""
        return self.scan.metadata.scan_id or Path(self.scan.source).stem or self.scan.source

    @property
    def pitch_mm(self) -> tuple[float, float]:
        return self.scan.metadata.pitch_mm

    def with_role(self, role: str, **changes: Any) -> ScanRef:
        return replace(self, role=role, **changes)


def layer_scale(ref: ScanRef, stride: int = 1) -> tuple[float, float]:
    """World size (mm) of one layer pixel: the pitch, times the subsampling stride."""
    row_mm, col_mm = ref.pitch_mm
    return (row_mm * stride, col_mm * stride)


def placement(ref: ScanRef, stride: int = 1) -> dict[str, Any]:
    """Layer keyword arguments that put a layer on the scan in millimetres (rulers, scale
    bar and status bar then read mm)."""
    return {"scale": layer_scale(ref, stride), "units": ("mm", "mm")}


def display_limits(
    image: np.ndarray, percentiles: tuple[float, float] = (0.5, 99.5)
) -> list[float]:
    """Contrast limits from two percentiles of a regular subsample (fast on large scans)."""
    step = max(1, int(np.sqrt(image.size / 2**20)))
    sample = np.asarray(image[::step, ::step], dtype=np.float32)
    low, high = (float(v) for v in np.percentile(sample, percentiles))
    if not high > low:
        high = low + 1.0
    return [low, high]


def pitch_warning(scan: Scan) -> str:
    """What a trainee must know when ``scan`` records no pixel pitch ("" when it does).

    Without one (a plain JPEG or PNG export) layers, rulers and the scale bar use the
    reader's default pitch; an ISO container in the image gives an estimate
    (:func:`scanlab.detect.resolve_pitch`, which Detector assist uses too).

    Examples
    --------
    >>> from scanlab.io import example_scan
    >>> pitch_warning(example_scan(rows=32, cols=64))
    ''
    >>> bare = Scan(np.zeros((1, 32, 64), np.uint8), "display")
    >>> for sentence in pitch_warning(bare).split(". "):
    ...     print(sentence)
    No pitch in this scan's metadata: sizes assume 5 x 5 mm per pixel
    No container to measure it on: give it (scanlab gui --pitch).
    """
    from scanlab.detect import resolve_pitch

    found = resolve_pitch(scan)
    if found.source == "metadata":
        return ""
    row_mm, col_mm = scan.metadata.pitch_mm
    # The sentences are split at ". " (the toolbar shows the first): translations keep it.
    text = _(
        "No pitch in this scan's metadata: sizes assume {row_mm:g} x {col_mm:g} mm per pixel."
    ).format(row_mm=row_mm, col_mm=col_mm)
    if found.estimate is not None:
        est = found.estimate
        row, col = found.pitch_mm
        measured = _(
            "The {container} container in the image measures {row:.1f} x {col:.1f} mm "
            "(Detector assist reads it so; {command} to set it)."
        ).format(
            container=est.container,
            row=row,
            col=col,
            command=f"scanlab gui --pitch {row:.1f},{col:.1f}",  # typed as it is: dots
        )
        return f"{text} {measured}"
    return text + " " + _("No container to measure it on: give it (scanlab gui --pitch).")


def scrub_scan(scan: Scan) -> Scan:
    """The scan without free metadata attributes, which may say what the simulator hid.

    Simulated scans record their scene spec (the concealment kinds, whether the declaration
    is true) in ``metadata.attributes``; a trainee must not be able to read it.
    """
    meta = replace(scan.metadata, attributes={})
    return scan.replace(metadata=meta)


def scan_layers(scan: Scan, *, name: str | None = None, source: str = "") -> list[LayerData]:
    """Image layers of a scan: one per channel, low below high, scaled to millimetres.

    A calibrated scan is shown as attenuation (``-ln(I/I0)``: 0 in air), with a reversed grey
    map so that air is white and steel dark, as on a console; a display image is shown as
    it is. A vendor's material plane becomes a hidden labels layer.
    """
    calibrated = scan.representation is not Representation.DISPLAY
    shown = scan.to_attenuation() if calibrated else scan
    base = name or scan.metadata.scan_id or scan.source
    common_meta = {"scan": scan.metadata.to_dict(), "source": source or scan.source}
    layers: list[LayerData] = []
    names = shown.channel_names()
    for channel in reversed(range(shown.n_channels)):
        ref = ScanRef(shown, "channel", channel=channel)
        image = shown.data[channel]
        label = f"{base} [{names[channel]}]" if shown.n_channels > 1 else base
        kwargs: dict[str, Any] = {
            "name": label,
            **placement(ref),
            "colormap": "gray_r" if calibrated else "gray",
            "contrast_limits": display_limits(image) if calibrated else _full_range(image),
            "metadata": {META_KEY: ref, **common_meta},
            "visible": channel == 0,
        }
        layers.append((image, named(kwargs), "image"))
    if scan.material is not None:
        ref = ScanRef(shown, "vendor_material")
        kwargs = {
            "name": f"{base} [vendor material]",
            **placement(ref),
            "metadata": {META_KEY: ref, **common_meta},
            "visible": False,
            "opacity": 0.5,
        }
        layers.insert(0, (scan.material, named(kwargs), "labels"))
    return layers


class LayerPrefetch:
    """Layers of the scans about to be shown, prepared in a background thread.

    Reading a 40 ft scan, turning it into attenuation and finding its display limits takes
    a few hundred milliseconds; done for the neighbours of the scan on screen while the
    trainee looks at it, the next scan is shown at once. ``load(key)`` gives the layers of
    one scan (for example ``scan_layers`` of the session's scan); it must be safe to call
    from another thread.

    Examples
    --------
    >>> cache = LayerPrefetch(lambda key: [(key.upper(), {}, "image")])
    >>> cache.prepare(["a", "b"])
    >>> cache.take("b"), cache.take("c")
    ([('B', {}, 'image')], [('C', {}, 'image')])
    >>> cache.prepare(["a"], ready={"b": [("shown", {}, "image")]})
    >>> cache.peek("b").result(), cache.peek("c") is None
    ([('shown', {}, 'image')], True)
    >>> cache.close()
    """

    def __init__(self, load: Callable[[str], list[LayerData]]) -> None:
        self._load = load
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="scanlab-prefetch")
        self._futures: dict[str, Future[list[LayerData]]] = {}

    def prepare(
        self, keys: Iterable[str], *, ready: Mapping[str, list[LayerData]] | None = None
    ) -> None:
        """Start preparing ``keys`` (in order) and forget any other prepared scan.

        ``ready`` holds layers there already (the scan on screen): kept, so that coming
        back to it shows the very same scan (a detector result made for it still applies)
        without reading it again."""
        ready = dict(ready or {})
        wanted = list(dict.fromkeys([*keys, *ready]))
        for key in list(self._futures):
            if key not in wanted:
                self._futures.pop(key).cancel()
        for key, layers in ready.items():
            done: Future[list[LayerData]] = Future()
            done.set_result(layers)
            self._futures[key] = done
        for key in wanted:
            if key not in self._futures:
                self._futures[key] = self._pool.submit(self._load, key)

    def peek(self, key: str) -> Future[list[LayerData]] | None:
        """The preparation of ``key`` (done or under way), left in place; None if none."""
        return self._futures.get(key)

    def take(self, key: str) -> list[LayerData]:
        """The layers of ``key``: prepared (waiting for them if under way), else loaded now.
        An error of the background load is raised here, as a direct load would raise it."""
        future = self._futures.pop(key, None)
        if future is not None and not future.cancelled():
            return future.result()
        return self._load(key)

    def close(self) -> None:
        for future in self._futures.values():
            future.cancel()
        self._futures.clear()
        self._pool.shutdown(wait=False, cancel_futures=True)


def answer_key_layer(key: AnswerKey, ref: ScanRef, *, name: str | None = None) -> LayerData:
    """The objects of an answer key as outlined polygons, coloured and labelled by class."""
    polygons = [np.asarray(_outline(obj), dtype=float) for obj in key.objects]
    features = {
        "object_id": [o.object_id for o in key.objects],
        "threat_class": [o.threat_class for o in key.objects],
        "concealment": [o.concealment for o in key.objects],
        "difficulty": [o.difficulty.level for o in key.objects],
    }
    kwargs = {
        "name": name or f"{ref.scan_id} [answer key]",
        "shape_type": "polygon",
        **placement(ref),
        "features": features,
        "edge_color": [CLASS_COLOURS.get(c, "#ffffff") for c in features["threat_class"]],
        "face_color": "transparent",
        "edge_width": 2.0,
        "text": _text("{threat_class} ({concealment}, {difficulty})"),
        "metadata": {META_KEY: ref.with_role("key")},
        "visible": False,
    }
    return (polygons, named(kwargs), "shapes")


def _outline(obj: Any) -> list[tuple[float, float]]:
    if len(obj.polygon) >= 3:
        return list(obj.polygon)
    r0, c0, r1, c1 = obj.bbox
    return [(r0, c0), (r0, c1 - 1), (r1 - 1, c1 - 1), (r1 - 1, c0)]


def _text(template: str) -> dict[str, Any]:
    return {"string": template, "color": "yellow", "size": 9, "anchor": "upper_left"}


def _full_range(image: np.ndarray) -> list[float]:
    if image.dtype.kind == "u":
        return [0.0, float(np.iinfo(image.dtype).max)]
    return display_limits(image, (0.0, 100.0))
