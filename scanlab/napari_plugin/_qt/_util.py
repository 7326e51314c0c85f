"""Small helpers the widgets share: finding scans among layers, adding or updating a layer."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from magicgui.widgets import Container, Label

from scanlab.i18n import retranslated
from scanlab.napari_plugin._inspect import readout, world_to_pixel
from scanlab.napari_plugin._layers import META_KEY, LayerData, ScanRef

if TYPE_CHECKING:
    import napari
    from napari.layers import Layer

__all__ = [
    "alive",
    "camera_of",
    "grid_of",
    "install_readout",
    "retranslate",
    "scale_bar_of",
    "scan_ref_of",
    "scan_refs",
    "showing",
    "upsert_layer",
]


def alive(widget: Any) -> Callable[[], bool]:
    """A test of whether ``widget``'s Qt side still exists: a worker that finishes after
    its widget (or the viewer) closed must not touch the layers."""
    state = {"alive": True}
    widget.native.destroyed.connect(lambda *_: state.update(alive=False))
    return lambda: state["alive"]


def showing(viewer: napari.Viewer, ref: ScanRef) -> bool:
    """``ref``'s scan is still open in the viewer (the very same Scan, not a namesake):
    results computed for a scan that has since been closed are dropped."""
    current = scan_refs(viewer).get(ref.scan_id)
    return current is not None and current.scan is ref.scan


def grid_of(viewer: napari.Viewer) -> Any:
    """The grid model (``viewer.canvas.grid`` since napari 0.9, ``viewer.grid`` before)."""
    canvas: Any = getattr(viewer, "canvas", None)
    return canvas.grid if hasattr(canvas, "grid") else viewer.grid


def camera_of(viewer: napari.Viewer) -> Any:
    """The camera (``viewer.scene.camera`` since napari 0.9, ``viewer.camera`` before)."""
    scene = getattr(viewer, "scene", None)
    return scene.camera if scene is not None else viewer.camera


def scale_bar_of(viewer: napari.Viewer) -> Any:
    """The scale bar overlay (``viewer.canvas.overlays.scale_bar`` since napari 0.9)."""
    canvas = getattr(viewer, "canvas", None)
    overlays = getattr(canvas, "overlays", None)
    return overlays.scale_bar if overlays is not None else viewer.scale_bar


def scan_ref_of(layer: Layer) -> ScanRef | None:
    ref = layer.metadata.get(META_KEY)
    return ref if isinstance(ref, ScanRef) else None


def scan_refs(viewer: napari.Viewer) -> dict[str, ScanRef]:
    """The scans open in the viewer, by scan id (from their channel layers)."""
    out: dict[str, ScanRef] = {}
    for layer in viewer.layers:
        ref = scan_ref_of(layer)
        if ref is not None and ref.role == "channel":
            out.setdefault(ref.scan_id, ref)
    return out


def upsert_layer(viewer: napari.Viewer, layer_data: LayerData) -> Layer:
    """Add a layer, or update the one of the same name and kind in place (keeping the user's
    visibility and opacity); an image that changes between grey and RGB is replaced."""
    data, kwargs, kind = layer_data
    name = kwargs["name"]
    if name in viewer.layers:
        layer = viewer.layers[name]
        same_kind = _kind(layer) == kind
        if kind == "image" and same_kind:
            same_kind = bool(layer.rgb) == (getattr(data, "ndim", 2) == 3)
        if same_kind:
            _update(layer, data, kwargs, kind)
            return layer
        viewer.layers.remove(layer)
    from napari.layers import Layer

    layer = Layer.create(data, kwargs, kind)
    selected = viewer.layers.selection.active  # e.g. the marks being drawn: keep them active
    ref = scan_ref_of(layer)
    if ref is not None and ref.role == "view":
        # A rendering replaces the channels it is made from: it goes right above them,
        # below marks, rulers and overlays, which must stay visible on top of it.
        above = [
            i
            for i, other in enumerate(viewer.layers)
            if (r := scan_ref_of(other)) is not None
            and r.scan_id == ref.scan_id
            and r.role in ("channel", "view")
        ]
        viewer.layers.insert(max(above) + 1 if above else len(viewer.layers), layer)
    else:
        viewer.add_layer(layer)
    if selected is not None and selected in viewer.layers:
        viewer.layers.selection.active = selected
    install_readout(layer)
    return layer


def _kind(layer: Any) -> str:
    return type(layer).__name__.lower()


def _update(layer: Any, data: Any, kwargs: dict[str, Any], kind: str) -> None:
    layer.metadata.update(kwargs.get("metadata", {}))
    layer.scale = kwargs.get("scale", layer.scale)
    if kind == "shapes":
        layer.data = []
        if len(data):
            layer.add(data, shape_type=kwargs.get("shape_type", "rectangle"))
        for key in ("features", "edge_color", "face_color", "text"):
            if key in kwargs:
                setattr(layer, key, kwargs[key])
        return
    layer.data = data
    if "contrast_limits" in kwargs and not layer.rgb:
        layer.contrast_limits = kwargs["contrast_limits"]


def install_readout(layer: Layer) -> None:
    """Make the status bar show attenuation and transmission under the cursor for a layer
    of a scanlab scan (whatever it displays: a channel, a rendering, an overlay).

    napari computes a layer's status with ``layer.get_status``; this layer's gets wrapped so
    that its value is the physical readout of the scan behind it.
    """
    ref = scan_ref_of(layer)
    if ref is None or getattr(layer, "_scanlab_readout", False) or _kind(layer) != "image":
        return
    original = layer.get_status

    def get_status(position: Any, *args: Any, world: bool = False, **kwargs: Any) -> Any:
        status = original(position, *args, world=world, **kwargs)
        if position is None or not isinstance(status, dict):
            return status
        world_pos = position if world else layer.data_to_world(position)
        pixel = world_to_pixel(ref.scan, world_pos)
        if pixel is not None:
            status["value"] = status["coordinates"] = readout(ref.scan, *pixel)
        return status

    layer.get_status = get_status
    layer._scanlab_readout = True


def retranslate(container: Any, before: str, after: str) -> None:
    """Put the fixed texts of ``container``'s widgets (button texts, labels, label values,
    tooltips) from language ``before`` into ``after``; texts made from state are not
    touched (the widget sets them again)."""
    for widget in container:
        if isinstance(widget, Container):
            retranslate(widget, before, after)
        for attr in ("text", "label", "tooltip") + (
            ("value",) if isinstance(widget, Label) else ()
        ):
            text = getattr(widget, attr, None)
            if isinstance(text, str) and text:
                new = retranslated(text, before, after)
                if new != text:
                    setattr(widget, attr, new)
