"""The workstation's toolbar: one click (or one key) per preset, a magnifier, a zoom box,
the whole scan, and a warning when the scan shown records no pixel pitch."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from magicgui.widgets import ComboBox, Container, Label, PushButton
from psygnal import Signal

from scanlab.i18n import _
from scanlab.napari_plugin._enhance import PRESET_KEYS, preset_caption, preset_label
from scanlab.napari_plugin._inspect import MAGNIFICATIONS
from scanlab.napari_plugin._layers import ScanRef, pitch_warning
from scanlab.napari_plugin._qt._util import camera_of, scan_ref_of, scan_refs, zoom_to_box

if TYPE_CHECKING:
    import napari

__all__ = ["TOOL_KEYS", "ToolbarWidget"]

#: Keys of the view tools (the presets have theirs in ``PRESET_KEYS``).
TOOL_KEYS: dict[str, str] = {"F7": "magnifier", "F8": "zoom box", "F9": "whole scan"}

#: A drag shorter than this (screen pixels) is a click: no zoom.
_MIN_BOX_PX = 8


class ToolbarWidget(Container):
    """A row of buttons over the canvas.

    Parameters
    ----------
    viewer : napari.viewer.Viewer
    enhance : EnhanceWidget, optional
        The Enhance widget the preset buttons drive (no preset buttons without one).
    """

    zoomed = Signal(object)  # the (row0, col0, row1, col1) box in mm zoomed to

    def __init__(self, viewer: napari.viewer.Viewer, *, enhance: Any = None) -> None:
        super().__init__(layout="horizontal", labels=False)
        self._viewer = viewer
        self._enhance = enhance
        self.native.layout().setContentsMargins(2, 0, 2, 0)
        self.native.layout().setSpacing(2)
        self._presets: dict[str, PushButton] = {}
        if enhance is not None:
            for name in PRESET_KEYS.values():
                button = PushButton()
                button.changed.connect(lambda *_, n=name: self._preset(n))
                self._presets[name] = button
                self.append(button)
        from scanlab.napari_plugin._qt.magnifier import Magnifier

        self.magnifier = Magnifier(viewer)
        self._loupe = PushButton()
        self._power = ComboBox(
            choices=[(f"{m}x", m) for m in MAGNIFICATIONS], value=self.magnifier.magnification
        )
        self._zoom = PushButton()
        self._whole = PushButton()
        self._pitch = Label(value="")
        self._pitch.native.setStyleSheet("color: #e67e22; font-weight: bold")
        self.extend([self._loupe, self._power, self._zoom, self._whole, self._pitch])
        self._loupe.changed.connect(self.magnifier.toggle)
        self._power.changed.connect(self._set_power)
        self.magnifier.toggled.connect(lambda on: self._loupe.native.setDown(on))
        self._zoom.changed.connect(self.toggle_zoom_box)
        self._whole.changed.connect(self.whole_scan)

        self._boxing: dict[str, Any] | None = None
        self._pitch_of: tuple[Any, str] | None = None  # (scan, warning) last computed
        self._keys: dict[str, Any] = {}
        self.retranslate_state()
        self._bind_keys()
        viewer.mouse_drag_callbacks.append(self._drag)
        for event in ("inserted", "removed", "renamed"):
            getattr(viewer.layers.events, event).connect(self._refresh_pitch)
        viewer.layers.selection.events.active.connect(self._refresh_pitch)
        self.native.destroyed.connect(self.detach)

    def retranslate_state(self) -> None:
        """The buttons' captions and tooltips and the pitch warning in the current language
        (a change of language calls it)."""
        for key, name in PRESET_KEYS.items():
            if name in self._presets:
                self._presets[name].text = f"{preset_caption(name)} {key}"
                self._presets[name].tooltip = _(
                    "Show the scan through the {preset} preset ({key})"
                ).format(preset=preset_label(name), key=key)
        self._zoom.text = _("Zoom box") + " F8"
        self._zoom.tooltip = _(
            "Drag a box on the scan to zoom to it (F8; F8 again cancels). Alt + drag does "
            "the same in the pan/zoom tool."
        )
        self._whole.text = _("Whole scan") + " F9"
        self._whole.tooltip = _("Show the whole scan (F9)")
        self._loupe.text = _("Magnifier") + " F7"
        self._loupe.tooltip = _(
            "A loupe beside the cursor shows the scan under it enlarged, at the scan's own "
            "resolution (F7 turns it on and off)"
        )
        self._power.tooltip = _("How many times the magnifier enlarges")
        self._pitch_of = None
        self._refresh_pitch()

    def detach(self, *_: Any) -> None:
        """Let go of the viewer: its keys, mouse and layer events (a toolbar that replaces
        this one binds them anew)."""
        viewer = self._viewer
        if not self._keys:
            return  # detached already
        self.magnifier.stop()
        for key in self._keys:
            viewer.bind_key(key, None)
        self._keys = {}
        if self._drag in viewer.mouse_drag_callbacks:
            viewer.mouse_drag_callbacks.remove(self._drag)
        for event in ("inserted", "removed", "renamed"):
            getattr(viewer.layers.events, event).disconnect(self._refresh_pitch)
        viewer.layers.selection.events.active.disconnect(self._refresh_pitch)

    # --- presets ------------------------------------------------------------------------------

    def _preset(self, name: str) -> None:
        if self._enhance is not None and name in self._enhance._preset.choices:
            self._enhance.set_preset(name)

    # --- magnifier ----------------------------------------------------------------------------

    def _set_power(self, value: int) -> None:
        self.magnifier.magnification = int(value)

    # --- zoom ---------------------------------------------------------------------------------

    @property
    def zoom_box_active(self) -> bool:
        return self._boxing is not None

    def toggle_zoom_box(self, *_: Any) -> None:
        if self._boxing is None:
            self.start_zoom_box()
        else:
            self.cancel_zoom_box()

    def start_zoom_box(self, *_: Any) -> None:
        """The next drag on the canvas draws a box and zooms to it (once)."""
        if self._boxing is not None:
            return
        layer = self._viewer.layers.selection.active
        mode = getattr(layer, "mode", None)
        camera = camera_of(self._viewer)
        self._boxing = {"layer": layer, "mode": mode, "pan": camera.mouse_pan}
        if layer is not None and mode not in (None, "pan_zoom"):
            layer.mode = "pan_zoom"  # the marks tool would draw instead
        camera.mouse_pan = False
        self._zoom.native.setDown(True)

    def cancel_zoom_box(self, *_: Any) -> None:
        """Leave the zoom box tool; the layer's tool comes back as it was."""
        state, self._boxing = self._boxing, None
        if state is None:
            return
        camera_of(self._viewer).mouse_pan = state["pan"]
        layer = state["layer"]
        restore = layer is not None and state["mode"] not in (None, "pan_zoom")
        if restore and layer in self._viewer.layers:
            layer.mode = state["mode"]
        _zoom_overlay(self._viewer, None)
        self._zoom.native.setDown(False)

    def zoom_to(self, box_mm: tuple[float, float, float, float]) -> None:
        """Show the box (row0, col0, row1, col1 in mm) as large as the canvas allows."""
        zoom_to_box(self._viewer, box_mm)
        self.zoomed.emit(tuple(float(v) for v in box_mm))

    def whole_scan(self, *_: Any) -> None:
        self._viewer.reset_view()

    def _drag(self, viewer: Any, event: Any) -> Any:
        if self._boxing is None or event.type != "mouse_press":
            return
        press_pos, press_world = event.pos[::-1], event.position[-2:]
        move_pos, move_world = press_pos, press_world
        _zoom_overlay(viewer, (press_pos, press_pos))
        yield
        while event.type == "mouse_move":
            move_pos, move_world = event.pos[::-1], event.position[-2:]
            _zoom_overlay(viewer, (press_pos, move_pos))
            yield
        self.cancel_zoom_box()
        if min(abs(a - b) for a, b in zip(press_pos, move_pos, strict=True)) > _MIN_BOX_PX:
            self.zoom_to((press_world[0], press_world[1], move_world[0], move_world[1]))

    # --- keys ---------------------------------------------------------------------------------

    def _bind_keys(self) -> None:
        viewer = self._viewer
        actions = {"F7": self.magnifier.toggle, "F8": self.toggle_zoom_box, "F9": self.whole_scan}

        def call(action: Any) -> Any:
            def on_key(_viewer: Any) -> None:
                action()

            return on_key

        for key, action in actions.items():
            self._keys[key] = call(action)
            viewer.bind_key(key, self._keys[key], overwrite=True)

    # --- pitch --------------------------------------------------------------------------------

    def _shown_ref(self) -> ScanRef | None:
        active = self._viewer.layers.selection.active
        ref = scan_ref_of(active) if active is not None else None
        if ref is not None:
            return ref
        refs = list(scan_refs(self._viewer).values())
        return refs[-1] if refs else None

    @property
    def pitch_warning(self) -> str:
        return str(self._pitch.tooltip or "")

    def _refresh_pitch(self, *_: Any) -> None:
        ref = self._shown_ref()
        scan = ref.scan if ref is not None else None
        if self._pitch_of is None or self._pitch_of[0] is not scan:
            self._pitch_of = (scan, pitch_warning(scan) if scan is not None else "")
        text = self._pitch_of[1]
        self._pitch.value = text.split(". ")[0]  # its first sentence; the rest on hover
        self._pitch.tooltip = text
        self._pitch.visible = bool(text)


def _zoom_overlay(viewer: Any, corners: Any) -> None:
    """napari's own zoom rectangle (its Alt + drag box) while a box is dragged."""
    overlays = getattr(getattr(viewer, "canvas", None), "overlays", None)
    box = getattr(overlays, "_zoom_box", None)
    if box is None:
        return
    if corners is None:
        box.visible = False
    else:
        box.position = corners
        box.visible = True
