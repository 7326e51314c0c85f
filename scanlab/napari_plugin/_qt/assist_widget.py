"""The Detector assist widget: run the anomaly detector in the background, overlay its map
and outline its regions; once run, ahead on the scans to be shown next."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import CancelledError
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
    DetectionAhead,
    SupportsDetect,
    anomaly_layers,
    default_detector,
    detection_summary,
    detector_names,
    load_detector,
)
from scanlab.napari_plugin._qt._util import (
    alive,
    awaits_scan,
    find_layer,
    scan_refs,
    showing,
    upsert_layer,
    wrapping,
)

if TYPE_CHECKING:
    import napari

__all__ = ["AssistWidget"]

#: Seconds a trainee stays on a scan before the detector starts on its neighbours: moving
#: on, and drawing the scan moved to, have the cores first.
AHEAD_QUIET_S = 1.0


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
    run_ahead : bool
        While "Run again on each scan shown" is on, run the detector in the background on
        the scans an exercise shows next (:meth:`scans_around`), so that their result is
        shown as soon as the trainee moves on.
    """

    finished = Signal(object)

    def __init__(
        self,
        viewer: napari.viewer.Viewer,
        *,
        loader: Callable[[str], SupportsDetect] | None = None,
        names: tuple[str, ...] | None = None,
        run_ahead: bool = True,
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
        self.run_ahead = run_ahead
        self._ahead: DetectionAhead | None = None
        self._ahead_name: str | None = None
        # The scans around the one an exercise shows: [(key, scan), (key, scan getter)...].
        self._around: list[tuple[str, Any]] = []
        self._follow_due = False
        self._alive = alive(self)
        self.native.destroyed.connect(lambda *_: self._close_ahead())

        self._run.changed.connect(self.run)
        self._follow.changed.connect(self._on_follow)
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
        """Show the result on the scan now shown if the map and regions of the one before
        came along to it (the next scan of an exercise, shown in the same layers): from
        what was run ahead, else run now. Called on layer events, so put off until the
        layers (and the exercise's :meth:`scans_around`) have settled."""
        if self._follow_due or not (self._follow.value and self._shown is not None):
            return
        from qtpy.QtCore import QTimer

        self._follow_due = True
        QTimer.singleShot(0, self._follow_now)

    def _follow_now(self) -> None:
        self._follow_due = False
        if not (self._alive() and self._follow.value and self.enabled and self._shown):
            return
        ref = self._shown_ref()
        amap = find_layer(self._viewer, f"{ref.scan_id} [anomaly map]") if ref else None
        if ref is None or amap is None:
            return
        if not awaits_scan(amap) and ref.scan is self._shown.scan:
            return  # its result is on screen
        if self._tried is not None and ref.scan is self._tried.scan and self._worker is None:
            return  # tried already (and failed): the Run button tries again
        self._start(ref)

    def scans_around(self, scans: Sequence[tuple[str, Any]]) -> None:
        """The scan an exercise shows and those it may show next, as ``(key, scan)``: the
        shown one first with its :class:`~scanlab.io.Scan`, then its neighbours with a
        function giving their scan (for example waiting for it to be read). While
        following, the detector runs on them in this order (:class:`DetectionAhead`)."""
        self._around = list(scans)
        if self._ahead is not None and self._following():
            shown = self._shown_ref()
            self._ahead.want(self._wanted(shown) if shown is not None else self._around)

    @property
    def busy(self) -> bool:
        return self._worker is not None

    @property
    def ahead_idle(self) -> bool:
        """No detector run under way or waiting, for the scan shown or ahead."""
        return self._ahead is None or self._ahead.idle

    def run(self, *_args: Any) -> None:
        """Show the chosen scan's result: the one run ahead when there is one, else load the
        detector (first time only) and run it in the background."""
        ref = scan_refs(self._viewer).get(self._scan.value) if self._scan.value else None
        if ref is None or self._model.value is None:
            return
        ahead = self._ahead_of(self._model.value)
        future = ahead.future(self._key_of(ref))
        if future is not None and future.done() and (future.cancelled() or future.exception()):
            ahead.forget(self._key_of(ref))  # failed before: asked again
        self._start(ref)

    def _start(self, ref: Any) -> None:
        name = self._model.value
        if name is None:
            return
        ahead, key = self._ahead_of(name), self._key_of(ref)
        self._tried = ref
        ahead.want(self._wanted(ref))
        if self._worker is not None:  # waiting for another scan's result: not any more
            self._worker.quit()
            self._worker = None
        done = ahead.result(key, ref.scan)
        if done is not None:
            self._show(ref, done)
            self._idle()
            return
        from napari.qt.threading import create_worker

        def work() -> Any:
            while True:
                future = ahead.future(key)
                if future is None:
                    return None
                try:
                    return future.result(timeout=0.05)[1]
                except TimeoutError:
                    what = _("Detecting") if ahead.loaded else _("Loading detector")
                    yield (what, *ahead.progress(key))
                except CancelledError:
                    return None

        worker = create_worker(work)
        worker.yielded.connect(self._on_progress)
        worker.returned.connect(lambda detection: self._show(ref, detection))
        worker.errored.connect(self._on_error)
        worker.finished.connect(lambda: self._on_finished(worker))
        self._worker = worker
        self._run.enabled = False
        self._progress.visible = True
        self._status.value = _("Running {detector} on {scan}...").format(
            detector=name, scan=ref.scan_id
        )
        worker.start()

    def _ahead_of(self, name: str) -> DetectionAhead:
        if self._ahead is None or self._ahead_name != name:
            self._close_ahead()
            loader, cache = self._loader, self._detectors

            def load() -> SupportsDetect:
                if name not in cache:
                    cache[name] = loader(name)
                return cache[name]

            self._ahead, self._ahead_name = DetectionAhead(load, quiet_s=AHEAD_QUIET_S), name
        return self._ahead

    def _close_ahead(self) -> None:
        if self._ahead is not None:
            self._ahead.close()
            self._ahead = None

    def _following(self) -> bool:
        return bool(self._follow.value and self.enabled and self._shown is not None)

    def _key_of(self, ref: Any) -> str:
        """An exercise's key for a scan it shows (:meth:`scans_around`), else its id."""
        for key, scan in self._around[:1]:
            if scan is ref.scan:
                return key
        return str(ref.scan_id)

    def _shown_ref(self) -> Any:
        return scan_refs(self._viewer).get(self._scan.value) if self._scan.value else None

    def _wanted(self, ref: Any) -> list[tuple[str, Any]]:
        """``ref``'s scan first, then (following, run ahead) the exercise's neighbours."""
        wanted: list[tuple[str, Any]] = [(self._key_of(ref), ref.scan)]
        if self.run_ahead and self._follow.value and self.enabled:
            wanted += self._around[1:]
        return wanted

    def _on_follow(self, *_: Any) -> None:
        shown = self._shown_ref()
        if self._ahead is not None and shown is not None:
            self._ahead.want(self._wanted(shown))  # off: nothing more ahead

    def _on_progress(self, update: tuple[str, int, int]) -> None:
        what, done, total = update
        # A maximum of 0 makes Qt's bar a busy indicator when the total is unknown.
        self._progress.max = max(total, 0)
        self._progress.value = done
        self._status.value = f"{what}... {done}/{total}" if total else f"{what}..."

    def _on_error(self, exc: Exception) -> None:
        self._status.value = _("Detector failed: {error}").format(error=exc)

    def _on_finished(self, worker: Any) -> None:
        if worker is not self._worker:
            return  # quit for another scan's run
        self._worker = None
        if self._alive():
            self._idle()
            self._follow_scan()  # the scan may have changed while the detector ran

    def _idle(self) -> None:
        self._run.enabled = True
        self._progress.visible = False

    def _show(self, ref: Any, detection: Any) -> None:
        if detection is None or not (self._alive() and showing(self._viewer, ref)):
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
