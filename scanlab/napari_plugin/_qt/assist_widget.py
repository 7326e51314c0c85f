"""The Detector assist widget: run the anomaly detector in the background, overlay its map
and outline its regions."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from magicgui.widgets import (
    CheckBox,
    ComboBox,
    Container,
    FloatSlider,
    Label,
    ProgressBar,
    PushButton,
)
from psygnal import Signal

from scanlab.i18n import _
from scanlab.napari_plugin._assist import (
    SupportsDetect,
    anomaly_layers,
    default_detector,
    detection_steps,
    detection_summary,
    detector_names,
    load_detector,
)
from scanlab.napari_plugin._qt._util import (
    alive,
    find_layer,
    scan_refs,
    showing,
    upsert_layer,
    wrapping,
)

if TYPE_CHECKING:
    import napari

__all__ = ["AssistWidget"]


class AssistWidget(Container):
    """Run a trained detector on a scan; the viewer stays live while it works.

    Parameters
    ----------
    viewer : napari.viewer.Viewer
    loader : callable, optional
        ``loader(name) -> detector``; default :func:`scanlab.detect.load_detector`. Tests and
        notebooks pass their own (any object with ``detect(scan)``).
    names : sequence of str, optional
        Detectors to offer; default the trained ones in ``models/``.
    """

    finished = Signal(object)

    def __init__(
        self,
        viewer: napari.viewer.Viewer,
        *,
        loader: Callable[[str], SupportsDetect] | None = None,
        names: tuple[str, ...] | None = None,
    ) -> None:
        super().__init__(labels=False)
        self.native.setMinimumWidth(380)
        self._viewer = viewer
        self._loader = loader or load_detector
        names = detector_names() if names is None else tuple(names)
        self._scan = ComboBox(label=_("Scan"), choices=self._scan_choices, nullable=True)
        self._model = ComboBox(label=_("Detector"), choices=list(names), nullable=True)
        self._run = PushButton(text=_("Run detector"))
        self._progress = ProgressBar(value=0, min=0, max=1, visible=False)
        self._overlay = CheckBox(text=_("Show anomaly map"), value=True)
        self._opacity = FloatSlider(label=_("Map opacity"), min=0.0, max=1.0, step=0.05, value=0.8)
        self._boxes = CheckBox(text=_("Show regions"), value=True)
        self._follow = CheckBox(text=_("Run again on each scan shown"), value=True)
        self._follow.tooltip = _(
            "Once run, the detector runs on every scan shown next, and its map and regions "
            "follow in the same layers"
        )
        self._status = Label(
            value="" if names else _("No trained detector in models/; train one first.")
        )
        wrapping(self._status)
        self.extend(
            [
                Container(widgets=[self._scan, self._model], labels=True),
                self._run,
                self._progress,
                self._overlay,
                Container(widgets=[self._opacity], labels=True),
                self._boxes,
                self._follow,
                self._status,
            ]
        )
        self._run.enabled = bool(names)
        if names:
            self._model.value = default_detector(names)
        self._detectors: dict[str, SupportsDetect] = {}
        self._worker: Any = None
        self.result: Any = None
        self._shown: Any = None  # the ScanRef of the result on screen
        self._tried: Any = None  # the ScanRef of the last run
        self._alive = alive(self)

        self._run.changed.connect(self.run)
        self._overlay.changed.connect(self._on_visibility)
        self._boxes.changed.connect(self._on_visibility)
        self._opacity.changed.connect(self._on_visibility)
        viewer.layers.events.inserted.connect(self._refresh_scans)
        viewer.layers.events.removed.connect(self._refresh_scans)
        # A scan shown in the layers of the previous one (show_scan) renames them.
        viewer.layers.events.renamed.connect(self._refresh_scans)
        self._refresh_scans()

    def _scan_choices(self, _widget: Any = None) -> list[str]:
        return list(scan_refs(self._viewer))

    def _refresh_scans(self, *_: Any) -> None:
        self._scan.reset_choices()
        if self._scan.value is None and self._scan.choices:
            self._scan.value = self._scan.choices[-1]
        self._follow_scan()

    def _follow_scan(self) -> None:
        """Run on the scan now shown if the map and regions of the one before came along to
        it (the next scan of an exercise, shown in the same layers): they are updated in
        place when the detector is done."""
        if not (self._follow.value and self.enabled and self._shown is not None):
            return
        ref = scan_refs(self._viewer).get(self._scan.value) if self._scan.value else None
        if ref is None or self._worker is not None or ref.scan is self._shown.scan:
            return
        if self._tried is not None and ref.scan is self._tried.scan:
            return  # tried already (and failed): the Run button tries again
        if find_layer(self._viewer, f"{ref.scan_id} [anomaly map]") is not None:
            self.run()

    @property
    def busy(self) -> bool:
        return self._worker is not None

    def run(self, *_args: Any) -> None:
        """Load the detector (first time only) and run it on the chosen scan in a worker."""
        from napari.qt.threading import create_worker

        ref = scan_refs(self._viewer).get(self._scan.value) if self._scan.value else None
        name = self._model.value
        if ref is None or name is None or self._worker is not None:
            return
        loader, cache = self._loader, self._detectors
        self._tried = ref

        def work() -> Any:
            if name not in cache:
                yield (_("Loading detector"), 0, 0)
                cache[name] = loader(name)
            steps = detection_steps(cache[name], ref.scan)
            while True:
                try:
                    done, total = next(steps)
                except StopIteration as stop:
                    return stop.value
                yield (_("Detecting"), done, total)

        worker = create_worker(work)
        worker.yielded.connect(self._on_progress)
        worker.returned.connect(lambda detection: self._show(ref, detection))
        worker.errored.connect(self._on_error)
        worker.finished.connect(self._on_finished)
        self._worker = worker
        self._run.enabled = False
        self._progress.visible = True
        self._status.value = _("Running {detector} on {scan}...").format(
            detector=name, scan=ref.scan_id
        )
        worker.start()

    def _on_progress(self, update: tuple[str, int, int]) -> None:
        what, done, total = update
        # A maximum of 0 makes Qt's bar a busy indicator when the total is unknown.
        self._progress.max = max(total, 0)
        self._progress.value = done
        self._status.value = f"{what}... {done}/{total}" if total else f"{what}..."

    def _on_error(self, exc: Exception) -> None:
        self._status.value = _("Detector failed: {error}").format(error=exc)

    def _on_finished(self) -> None:
        self._worker = None
        self._run.enabled = True
        self._progress.visible = False
        if self._alive():
            self._follow_scan()  # the scan may have changed while the detector ran

    def _show(self, ref: Any, detection: Any) -> None:
        if not (self._alive() and showing(self._viewer, ref)):
            return
        self.result, self._shown = detection, ref
        for layer_data in anomaly_layers(detection, ref):
            upsert_layer(self._viewer, layer_data)
        self._on_visibility()
        self._status.value = detection_summary(detection)
        self.finished.emit(detection)

    def _on_visibility(self, *_: Any) -> None:
        ref_name = self._scan.value
        for suffix, box in (("[anomaly map]", self._overlay), ("[detector regions]", self._boxes)):
            layer = find_layer(self._viewer, f"{ref_name} {suffix}")
            if layer is not None:
                layer.visible = bool(box.value)
                if suffix == "[anomaly map]":
                    layer.opacity = float(self._opacity.value)
