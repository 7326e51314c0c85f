"""The Inspect widget: physical values under the cursor, a millimetre ruler and scale bar,
and two renderings of a scan side by side, linked in pan and zoom (napari's grid)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from magicgui.widgets import CheckBox, ComboBox, Container, Label, PushButton
from psygnal import Signal

from scanlab.enhance import load_preset
from scanlab.i18n import _
from scanlab.napari_plugin._enhance import preset_choices, preset_label, render
from scanlab.napari_plugin._inspect import (
    compare_grid_shape,
    line_lengths_mm,
    readout,
    world_to_pixel,
)
from scanlab.napari_plugin._layers import META_KEY, ScanRef, named, placement
from scanlab.napari_plugin._qt._util import (
    alive,
    find_layer,
    grid_of,
    install_readout,
    relabel,
    rename_layer,
    scale_bar_of,
    scan_ref_of,
    scan_refs,
    showing,
    upsert_layer,
    wrapping,
)

if TYPE_CHECKING:
    import napari
    from napari.layers import Shapes

__all__ = ["InspectWidget"]


class InspectWidget(Container):
    """Readout, ruler and side-by-side comparison for the scans in the viewer."""

    compared = Signal(object)

    def __init__(self, viewer: napari.viewer.Viewer) -> None:
        super().__init__(labels=False)
        self.native.setMinimumWidth(380)
        self._viewer = viewer
        self._readout = Label(value=_("Move the cursor over a scan."))
        wrapping(self._readout)
        self._scale_bar = CheckBox(text=_("Scale bar (mm)"), value=True)
        self._add_ruler = PushButton(text=_("Add ruler (draw lines)"))
        self._lengths = Label(value="")
        wrapping(self._lengths)
        self._scan = ComboBox(label=_("Scan"), choices=self._scan_choices, nullable=True)
        self._left = ComboBox(label=_("First view"), choices=self._preset_choices)
        self._right = ComboBox(label=_("Second view"), choices=self._preset_choices)
        self._compare = CheckBox(text=_("Side by side (linked pan and zoom)"), value=False)
        self._compare_status = Label(value="")
        views = Container(widgets=[self._scan, self._left, self._right], labels=True)
        self.extend(
            [
                Label(value=_("<b>Under the cursor</b>")),
                self._readout,
                Label(value=_("<b>Measure</b>")),
                self._scale_bar,
                self._add_ruler,
                self._lengths,
                Label(value=_("<b>Compare</b>")),
                views,
                self._compare,
                self._compare_status,
            ]
        )
        self._ruler: Shapes | None = None
        self._hidden: list[Any] = []
        self._compare_layers: list[Any] = []
        self._compared: ScanRef | None = None  # the scan the side-by-side views show
        self._worker: Any = None
        self._alive = alive(self)

        self._scale_bar.changed.connect(self._on_scale_bar)
        self._add_ruler.changed.connect(self.add_ruler)
        self._compare.changed.connect(self._on_compare)
        self._scan.changed.connect(self._on_scan)
        viewer.cursor.events.position.connect(self._on_cursor)
        viewer.layers.events.inserted.connect(self._on_inserted)
        viewer.layers.events.removed.connect(self._on_removed)
        # The next scan of an exercise is shown in the same layers, renamed (show_scan).
        viewer.layers.events.renamed.connect(self._on_removed)
        for layer in viewer.layers:
            install_readout(layer)
        self._on_removed()
        self._on_scale_bar()

    def retranslate_state(self) -> None:
        """The presets' names in the current language (a change of language calls it)."""
        relabel(self._left, self._right)

    # --- readout ------------------------------------------------------------------------------

    def readout_at(self, world_mm: tuple[float, ...]) -> str:
        """The readout line for a world position (mm), from the scan of the active layer."""
        ref = self._active_ref()
        if ref is None:
            return ""
        pixel = world_to_pixel(ref.scan, world_mm)
        return readout(ref.scan, *pixel) if pixel is not None else ""

    def _active_ref(self) -> ScanRef | None:
        active = self._viewer.layers.selection.active
        ref = scan_ref_of(active) if active is not None else None
        if ref is None:
            refs = scan_refs(self._viewer)
            ref = refs.get(self._scan.value) if self._scan.value else None
        return ref

    def _on_cursor(self, event: Any) -> None:
        text = self.readout_at(tuple(self._viewer.cursor.position))
        if text:
            self._readout.value = text

    # --- ruler and scale bar ------------------------------------------------------------------

    def _on_scale_bar(self, *_: Any) -> None:
        # The bar reads the layers' units (mm, set on every scanlab layer).
        scale_bar_of(self._viewer).visible = bool(self._scale_bar.value)

    def add_ruler(self, *_args: Any) -> Shapes | None:
        """A line layer whose lines are labelled with their length in mm (draw mode on)."""
        ref = self._active_ref()
        if ref is None:
            self._lengths.value = _("Open a scan first.")
            return None
        name = f"{ref.scan_id} [ruler]"
        self._ruler = find_layer(self._viewer, name)
        if self._ruler is None:
            self._ruler = self._viewer.add_shapes(
                ndim=2,
                **placement(ref),
                shape_type="line",
                edge_color="#00e5ff",
                edge_width=2.0,
                features={"length_mm": []},
                text={
                    "string": "{length_mm:,.0f} mm",
                    "color": "#00e5ff",
                    "size": 11,
                    "anchor": "upper_left",
                },
                **named({"name": name, "metadata": {META_KEY: ref.with_role("ruler")}}),
            )
            self._ruler.events.data.connect(self._on_ruler_changed)
        self._viewer.layers.selection.active = self._ruler
        self._ruler.mode = "add_line"
        return self._ruler

    def _on_ruler_changed(self, event: Any) -> None:
        action = str(getattr(event, "action", "")).lower()
        if action.endswith("ing"):  # "adding", "changing", "removing": wait for the end
            return
        self.update_ruler()

    def update_ruler(self) -> list[float]:
        """Recompute every ruler length (mm), label the lines, list them in the widget."""
        layer = self._ruler
        if layer is None:
            return []
        ref = scan_ref_of(layer)
        if ref is None:
            return []
        lengths = line_lengths_mm(layer.data, ref.pitch_mm)
        layer.features = {"length_mm": lengths}
        layer.refresh_text()
        self._lengths.value = "\n".join(
            _("line {number}: {mm:,.0f} mm").format(number=i + 1, mm=mm)
            for i, mm in enumerate(lengths)
        ) or _("Draw a line on the scan.")
        return lengths

    # --- side by side -------------------------------------------------------------------------

    def _scan_choices(self, _widget: Any = None) -> list[str]:
        return list(scan_refs(self._viewer))

    def _preset_choices(self, _widget: Any = None) -> list[tuple[str, str]]:
        ref = scan_refs(self._viewer).get(self._scan.value) if hasattr(self, "_scan") else None
        return preset_choices(ref.scan) if ref else []

    def _on_scan(self, *_: Any) -> None:
        if self._scan.value is None and self._left.choices:
            return  # between two scans (renamed one layer at a time): the choices stay
        for box, preferred in ((self._left, "standard"), (self._right, "material")):
            chosen = box.value  # the trainee's choice stays for the next scan
            box.reset_choices()
            for name in (chosen, preferred):
                if name in box.choices:
                    box.value = name
                    break
        if self._right.value == self._left.value and len(self._right.choices) > 1:
            self._right.value = next(c for c in self._right.choices if c != self._left.value)

    def _on_inserted(self, event: Any) -> None:
        install_readout(event.value)
        self._on_removed()

    def _on_removed(self, *_: Any) -> None:
        before = self._scan.value
        self._scan.reset_choices()
        if self._scan.value is None and self._scan.choices:
            self._scan.value = self._scan.choices[-1]
        if self._scan.value != before or not self._left.choices:
            self._on_scan()
        if self._compare.value and self._compared is not None and self._worker is None:
            current = scan_refs(self._viewer).get(self._scan.value) if self._scan.value else None
            if current is not None and current.scan is not self._compared.scan:
                # The scan changed under the side-by-side view: render the new one into it.
                self.start_compare()

    def _on_compare(self, *_: Any) -> None:
        if self._compare.value:
            self.start_compare()
        else:
            self.stop_compare()

    def start_compare(self) -> None:
        """Render the two chosen views (in a worker) and show them in a linked grid."""
        from napari.qt.threading import create_worker

        ref = scan_refs(self._viewer).get(self._scan.value) if self._scan.value else None
        if ref is None:
            self._compare_status.value = _("Open a scan first.")
            return
        presets = [self._left.value, self._right.value]
        self._compare_status.value = _("Rendering {first} and {second}...").format(
            first=preset_label(presets[0]), second=preset_label(presets[1])
        )

        def work() -> list[Any]:
            return [render(ref.scan, load_preset(p)) for p in presets]

        worker = create_worker(work)
        worker.returned.connect(lambda images: self._show_compare(ref, presets, images))
        worker.errored.connect(lambda exc: setattr(self._compare_status, "value", str(exc)))
        worker.finished.connect(self._on_finished)
        self._worker = worker
        worker.start()

    def _on_finished(self) -> None:
        self._worker = None
        if self._alive():
            self._on_removed()  # the scan may have changed while the views rendered

    def _show_compare(self, ref: ScanRef, presets: list[str], images: list[Any]) -> None:
        if not (self._compare.value and self._alive() and showing(self._viewer, ref)):
            return
        viewer = self._viewer
        old = [layer for layer in self._compare_layers if layer in viewer.layers]
        if len(old) != len(presets):  # the views are made anew
            self.stop_compare(keep_checkbox=True)
            old = []
        layers = []
        for k, (preset, image) in enumerate(zip(presets, images, strict=True)):
            kwargs: dict[str, Any] = {
                "name": f"{ref.scan_id} [{preset}]",
                **placement(ref),
                "metadata": {META_KEY: ref.with_role("compare", detail=preset)},
            }
            kwargs["rgb"] = image.ndim == 3
            if image.ndim == 2:
                kwargs.update(colormap="gray", contrast_limits=[0.0, 255.0])
            if old:  # another scan or preset in the same layer (upsert finds it by name)
                rename_layer(old[k], kwargs["name"])
            layer = upsert_layer(viewer, (image, kwargs, "image"))
            layers.append(layer)
        self._compare_layers, self._compared = layers, ref
        # Only the two views are shown in the grid; the rest comes back when it ends.
        for layer in viewer.layers:
            if layer.visible and layer not in layers:
                layer.visible = False
                self._hidden.append(layer)
        for layer in layers:
            layer.visible = True
        grid = grid_of(viewer)
        grid.stride = 1
        grid.shape = compare_grid_shape(ref.scan.shape)
        grid.spacing = 0.02
        grid.enabled = True
        viewer.reset_view()
        self._compare_status.value = _("{first} | {second}: pan or zoom either one.").format(
            first=preset_label(presets[0]), second=preset_label(presets[1])
        )
        self.compared.emit([layer.name for layer in layers])

    def stop_compare(self, *, keep_checkbox: bool = False) -> None:
        """Leave the grid, remove the two views and show the layers shown before."""
        viewer = self._viewer
        grid_of(viewer).enabled = False
        for layer in self._compare_layers:
            if layer in viewer.layers:
                viewer.layers.remove(layer)
        self._compare_layers, self._compared = [], None
        for layer in self._hidden:
            if layer in viewer.layers:
                layer.visible = True
        self._hidden = []
        if not keep_checkbox:
            self._compare_status.value = ""
