"""The Enhance widget: a preset picker and its parameters, re-rendering the scan live."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from magicgui.widgets import (
    CheckBox,
    ComboBox,
    Container,
    FloatRangeSlider,
    FloatSlider,
    Label,
    PushButton,
    Slider,
)
from magicgui.widgets.bases import ValueWidget
from psygnal import Signal
from qtpy.QtCore import QTimer

from scanlab.enhance import Pipeline, load_preset
from scanlab.i18n import _, term
from scanlab.napari_plugin._enhance import (
    DEFAULT_PRESET,
    PRESET_KEYS,
    Param,
    editable_params,
    preset_choices,
    preset_description,
    preset_label,
    preview_stride,
    render,
    with_params,
)
from scanlab.napari_plugin._layers import META_KEY, ScanRef, placement
from scanlab.napari_plugin._qt._util import (
    alive,
    camera_of,
    find_layer,
    relabel,
    scan_refs,
    showing,
    upsert_layer,
    wrapping,
)

if TYPE_CHECKING:
    import napari

__all__ = ["EnhanceWidget", "RenderInfo"]

#: Wait this long after the last change before rendering at full resolution.
FULL_RESOLUTION_DELAY_MS = 250


@dataclass(frozen=True)
class RenderInfo:
    """What the last shown rendering was: which scan and preset, at which stride, how fast."""

    scan_id: str
    preset: str
    stride: int
    seconds: float
    layer_name: str


class EnhanceWidget(Container):
    """Pick a preset, move its parameters, see the scan re-rendered as you drag.

    While a slider moves, or once a preset or scan is chosen, the scan is rendered
    subsampled (about 1 Mpx, or coarser as long as the view shows no more: see
    :func:`preview_stride`) in a background worker; once it rests for a quarter of a second,
    at full resolution. The controls of another preset are built once its first frame is on
    screen. The result is a layer ``<scan> [enhanced]`` above the scan's channels.
    """

    rendered = Signal(object)

    def __init__(
        self, viewer: napari.viewer.Viewer, *, preset: str | None = DEFAULT_PRESET
    ) -> None:
        super().__init__(labels=False)
        self._viewer = viewer
        self._default = preset
        self._wanted = preset  # the preset every scan is shown through: the user's last choice
        self._busy = False
        self._scan = ComboBox(label=_("Scan"), choices=self._scan_choices, nullable=True)
        self._preset = ComboBox(label=_("Preset"), choices=self._preset_choices, nullable=True)
        self._about = Label(value="")
        wrapping(self._about)
        self._params: Container[ValueWidget] = Container(labels=True)
        self.native.setMinimumWidth(380)
        self._reset = PushButton(text=_("Reset parameters"))
        self._status = Label(value=_("Open a scan, then pick a preset."))
        wrapping(self._status)
        header = Container(widgets=[self._scan, self._preset], labels=True)
        self.extend([header, self._about, self._params, self._reset, self._status])

        self._pipeline: Pipeline | None = None
        self._controls: dict[tuple[int, str], ValueWidget] = {}
        self._built: list[Param] = []  # the parameters the controls were built for
        self._due: list[Param] | None = None  # controls to build once the first frame shows
        self._generation = 0
        self._shown: tuple[int, int] = (0, 0)  # (generation, -stride) of the layer now
        self._pending: int | None = None
        self._worker: Any = None
        self.last_render: RenderInfo | None = None
        self._alive = alive(self)
        self._full_timer = QTimer(self.native)
        self._full_timer.setSingleShot(True)
        self._full_timer.setInterval(FULL_RESOLUTION_DELAY_MS)
        self._full_timer.timeout.connect(self._full_resolution)

        self._scan.changed.connect(self._on_scan)
        self._preset.changed.connect(self._on_preset)
        self._reset.changed.connect(self._on_preset)
        viewer.layers.events.inserted.connect(self._refresh_scans)
        viewer.layers.events.removed.connect(self._refresh_scans)
        # A scan shown in the layers of the previous one (show_scan) renames them.
        viewer.layers.events.renamed.connect(self._refresh_scans)
        self._bind_keys()
        self._refresh_scans()

    # --- public -------------------------------------------------------------------------------

    @property
    def pipeline(self) -> Pipeline | None:
        """The preset with the parameters as the controls set them now."""
        if self._pipeline is None:
            return None
        values = {key: _value(w) for key, w in self._controls.items()}
        return with_params(self._pipeline, values)

    def set_preset(self, name: str | None) -> None:
        """Show the scan through a preset (None: its channels as they are)."""
        self._preset.value = name

    def _bind_keys(self) -> None:
        viewer = self._viewer

        def choose(name: str) -> Any:
            def on_key(_viewer: Any) -> None:
                if name in self._preset.choices:
                    self.set_preset(name)

            return on_key

        for key, name in PRESET_KEYS.items():
            viewer.bind_key(key, choose(name), overwrite=True)

        def unbind(*_: Any) -> None:
            for key in PRESET_KEYS:
                viewer.bind_key(key, None)

        self.native.destroyed.connect(unbind)

    def set_param(self, name: str, value: Any, *, step_index: int | None = None) -> None:
        """Set one parameter control (the first of that name unless ``step_index`` given)."""
        self._build_due()
        for (index, param), widget in self._controls.items():
            if param == name and step_index in (None, index):
                widget.value = value
                return
        raise KeyError(f"preset {self._preset.value!r} has no parameter {name!r}")

    def retranslate_state(self) -> None:
        """The presets' names in the current language (a change of language calls it)."""
        with self._quiet():
            relabel(self._preset)

    # --- choices ------------------------------------------------------------------------------

    def _scan_choices(self, _widget: Any = None) -> list[str]:
        return list(scan_refs(self._viewer))

    def _preset_choices(self, _widget: Any = None) -> list[tuple[str, str]]:
        ref = self._ref()
        return preset_choices(ref.scan) if ref else []

    def _ref(self) -> ScanRef | None:
        name = getattr(self, "_scan", None) and self._scan.value
        return scan_refs(self._viewer).get(name) if name else None

    def _refresh_scans(self, *_: Any) -> None:
        before = self._scan.value
        with self._quiet():  # the combo boxes pass through empty states meanwhile
            self._scan.reset_choices()
            if self._scan.value is None and self._scan.choices:
                self._scan.value = self._scan.choices[-1]
        if self._scan.value != before:
            self._on_scan()

    @contextmanager
    def _quiet(self) -> Iterator[None]:
        """Changes of the controls made here are the widget's own: not the user's choice."""
        self._busy = True
        try:
            yield
        finally:
            self._busy = False

    # --- reacting to the controls -------------------------------------------------------------

    def _on_scan(self, *_: Any) -> None:
        """Another scan: shown through the preset last chosen, else the default one."""
        if self._busy:
            return
        with self._quiet():
            self._preset.reset_choices()
            choices = self._preset.choices
            target = self._wanted
            if target is not None and target not in choices:  # e.g. material, single energy
                target = self._default if self._default in choices else None
            self._preset.value = target
        self._on_preset(remember=False)

    def _on_preset(self, *_: Any, remember: bool = True) -> None:
        if self._busy:
            return
        name = self._preset.value
        if remember:
            self._wanted = name
        ref = self._ref()
        if ref is None:
            return
        if name is None:
            self._pipeline = None
            self._params.clear()
            self._controls, self._built, self._due = {}, [], None
            self._about.value = ""
            self._hide_view()
            return
        self._pipeline = load_preset(name)
        self._about.value = preset_description(self._pipeline)
        params = editable_params(self._pipeline, value_max=_value_max(ref))
        if params == self._built and len(self._controls) == len(params):
            self._due = None
            self._request()
            self._build_controls(params)
            return
        # Another preset's controls: built once its first frame is on screen (building
        # sliders takes the main thread tens of milliseconds), the preset's own values
        # rendered meanwhile (``pipeline``).
        self._controls, self._due = {}, params
        self._request()

    def _build_due(self) -> None:
        if self._due is not None and self._alive():
            params, self._due = self._due, None
            self._build_controls(params)

    def _full_resolution(self) -> None:
        self._queue(1)
        self._build_due()  # while the worker renders

    def _build_controls(self, params: list[Param]) -> None:
        if params == self._built and len(self._controls) == len(params):
            # The same controls (the next scan, the same preset): set back to the preset's
            # values rather than built anew (a tenth of a second per slider on 2 cores).
            for p in params:
                widget = self._controls[p.key]
                value = tuple(p.value) if p.kind == "range" else p.value
                if _value(widget) != value:
                    with widget.changed.blocked():
                        widget.value = value
            return
        self._built = list(params)
        self._params.clear()
        self._controls = {}
        step = -1
        for p in params:
            if p.step_index != step:  # one heading per pipeline step
                step = p.step_index
                title = term(p.step_name).capitalize()
                self._params.append(Label(label=" ", value=f"<i>{title}</i>"))
            widget = _control(p)
            widget.changed.connect(self._request)
            self._controls[p.key] = widget
            self._params.append(widget)

    def _view_layer(self) -> Any:
        ref = self._ref()
        return find_layer(self._viewer, f"{ref.label} [enhanced]") if ref is not None else None

    def _hide_view(self) -> None:
        """No preset: the scan's own channels show (the rendering is kept, hidden)."""
        self._generation += 1  # a rendering still on its way is not shown
        self._full_timer.stop()
        layer = self._view_layer()
        if layer is not None:
            layer.visible = False
        self._status.value = _("No preset: the scan's channels as read.")

    # --- rendering ----------------------------------------------------------------------------

    def _request(self, *_: Any) -> None:
        """Render anew: a preview first, no finer than the view shows, then the whole."""
        ref = self._ref()
        if ref is None or self._pipeline is None:
            return
        self._generation += 1
        self._full_timer.stop()
        zoom = float(camera_of(self._viewer).zoom)  # screen pixels per mm
        on_screen = zoom * min(ref.pitch_mm)
        self._queue(preview_stride(ref.scan.shape, screen_px_per_pixel=on_screen))

    def _queue(self, stride: int) -> None:
        self._pending = stride
        if self._worker is None:
            self._start_pending()

    def _start_pending(self) -> None:
        from napari.qt.threading import create_worker

        ref, pipeline = self._ref(), self.pipeline
        stride, self._pending = self._pending, None
        if ref is None or pipeline is None or stride is None:
            return
        generation = self._generation
        started = time.perf_counter()
        worker = create_worker(_render_rgb, ref.scan, pipeline, stride=stride)
        worker.returned.connect(
            lambda out: self._show(out, ref, pipeline, stride, generation, started)
        )
        worker.errored.connect(self._on_error)
        worker.finished.connect(self._on_finished)
        self._worker = worker
        worker.start()

    def _on_finished(self) -> None:
        self._worker = None
        if not self._alive():  # the viewer closed while the render ran: its timer is gone
            return
        if self._pending is not None:
            self._start_pending()
        elif self._due is not None and not self._full_timer.isActive():
            # The first frame was the whole scan: the controls follow once it is drawn.
            QTimer.singleShot(0, self._build_due)

    def _on_error(self, exc: Exception) -> None:
        self._status.value = _("Cannot render: {error}").format(error=exc)
        self._build_due()

    def _show(
        self,
        out: np.ndarray,
        ref: ScanRef,
        pipeline: Pipeline,
        stride: int,
        generation: int,
        started: float,
    ) -> None:
        # An older preview still beats what is on screen while a slider moves; a result older
        # than the one shown, or coarser for the same settings, or for a scan closed since,
        # is dropped.
        if (generation, -stride) <= self._shown or not self._alive():
            return
        if not showing(self._viewer, ref):
            return
        self._shown = (generation, -stride)
        seconds = time.perf_counter() - started
        name = f"{ref.label} [enhanced]"
        kwargs: dict[str, Any] = {
            "name": name,
            **placement(ref, stride),
            "metadata": {META_KEY: ref.with_role("view", stride=stride, detail=pipeline.name)},
        }
        kwargs["rgb"] = True
        layer = upsert_layer(self._viewer, (out, kwargs, "image"))
        if not layer.visible:  # a new rendering is meant to be seen (hidden with no preset)
            layer.visible = True
        rows, cols = out.shape[:2]
        if stride > 1 and generation == self._generation:
            self._full_timer.start()
            what = _("preview {cols} x {rows} (every {stride}th pixel)").format(
                cols=cols, rows=rows, stride=stride
            )
        else:
            what = f"{cols} x {rows}"
        self._status.value = _("{preset}: {what} rendered in {ms:.0f} ms").format(
            preset=preset_label(pipeline.name), what=what, ms=seconds * 1000
        )
        info = RenderInfo(ref.scan_id, pipeline.name, stride, seconds, name)
        self.last_render = info
        if stride == 1 and generation == self._generation:
            self.rendered.emit(info)


def _render_rgb(scan: Any, pipeline: Pipeline, *, stride: int) -> np.ndarray:
    """:func:`render` as RGB, a grey rendering as three equal channels: one layer then shows
    every preset, updated in place (a layer cannot turn from grey to RGB; replacing it costs
    napari a garbage collection, over a second on a 40 ft scan)."""
    out = render(scan, pipeline, stride=stride)
    if out.ndim == 2:
        out = np.repeat(out[:, :, np.newaxis], 3, axis=2)
    return out


def _value_max(ref: ScanRef) -> float:
    """Upper limit of attenuation sliders: the scan's 99.9th percentile, rounded up."""
    high = ref.scan.data[0]
    step = max(1, int(np.sqrt(high.size / 2**18)))
    top = float(np.percentile(high[::step, ::step], 99.9))
    return float(np.ceil(max(top, 1.0)))


def _control(p: Param) -> ValueWidget:
    label = p.label
    if p.kind == "range":
        return FloatRangeSlider(
            label=label, min=p.low, max=p.high, step=p.step, value=tuple(p.value), readout=True
        )
    if p.kind == "float":
        return FloatSlider(label=label, min=p.low, max=p.high, step=p.step, value=p.value)
    if p.kind == "int":
        return Slider(label=label, min=int(p.low), max=int(p.high), step=int(p.step), value=p.value)
    if p.kind == "bool":
        return CheckBox(text=label, value=bool(p.value))
    return ComboBox(label=label, choices=list(p.choices), value=p.value)


def _value(widget: ValueWidget) -> Any:
    value = widget.value
    return tuple(float(v) for v in value) if isinstance(value, tuple | list) else value
