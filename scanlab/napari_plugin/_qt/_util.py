"""Small helpers the widgets share: finding scans among layers, adding or updating a layer."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np
from magicgui.widgets import Container, Label

from scanlab.i18n import N_, _, retranslated, set_canvas_forms, translation
from scanlab.napari_plugin._inspect import box_view, readout, world_to_pixel
from scanlab.napari_plugin._layers import (
    META_KEY,
    NAME_KEY,
    LayerData,
    ScanRef,
    named,
    shown_name,
)

if TYPE_CHECKING:
    import napari
    from napari.layers import Layer

__all__ = [
    "alive",
    "awaits_scan",
    "camera_of",
    "catalogue_translator",
    "file_dialog",
    "find_layer",
    "grid_of",
    "install_canvas_font",
    "install_readout",
    "layer_key",
    "relabel",
    "rename_layer",
    "retitle_layers",
    "retranslate",
    "scale_bar_of",
    "scan_ref_of",
    "scan_refs",
    "set_scale",
    "show_scan",
    "showing",
    "upsert_layer",
    "wrapping",
    "zoom_to_box",
]

#: Roles of the layers a scan opens as (``scan_layers``): another scan takes them over.
_SCAN_ROLES = ("channel", "vendor_material")


def alive(widget: Any) -> Callable[[], bool]:
    """A test of whether ``widget``'s Qt side still exists: a worker that finishes after
    its widget (or the viewer) closed must not touch the layers."""
    state = {"alive": True}
    widget.native.destroyed.connect(lambda *_: state.update(alive=False))
    return lambda: state["alive"]


def wrapping(label: Label) -> Label:
    """``label`` wrapping its text to the width of its dock.

    magicgui gives a label a fixed width (its size hint, about half a dock for a long text),
    so a word-wrapped label stayed that narrow, or cut a long line where the dock was
    narrower; a preferred width with height for width lets the layout wrap it to the space
    there is."""
    from qtpy.QtWidgets import QSizePolicy

    native = label.native
    native.setWordWrap(True)
    policy = QSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)
    policy.setHeightForWidth(True)
    native.setSizePolicy(policy)
    native.setMinimumWidth(0)
    return label


#: The words of Qt's own file dialog that it lets a program set, as scanlab's messages in
#: every language (its other words, in Kyrgyz and Pashto, come from
#: :func:`catalogue_translator`).
_DIALOG_LABELS = {
    "LookIn": N_("Look in:"),
    "FileName": N_("File name:"),
    "FileType": N_("Files of type:"),
    "Accept": N_("Open"),
    "Reject": N_("Cancel"),
}


def file_dialog(parent: Any, title: str, filters: str) -> Any:
    """A dialog to open one existing file, in the current language and direction.

    Qt's own dialog, not the desktop's: its words are then scanlab's (a desktop's dialog
    speaks the desktop's language, and none has Pashto where Qt has none), and it looks the
    same in every classroom. Shown with ``exec()``; ``selectedFiles()`` gives the choice."""
    from qtpy.QtWidgets import QFileDialog

    dialog = QFileDialog(parent, title, "", filters)
    dialog.setOption(QFileDialog.Option.DontUseNativeDialog, True)
    dialog.setFileMode(QFileDialog.FileMode.ExistingFile)
    dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptOpen)
    for label, text in _DIALOG_LABELS.items():
        dialog.setLabelText(getattr(QFileDialog.DialogLabel, label), _(text))
    if parent is not None:
        dialog.setLayoutDirection(parent.layoutDirection())
    return dialog


def catalogue_translator(lang: str) -> Any:
    """A translator Qt asks for its own words (:data:`.._qt_words.QT_WORDS`: the file
    dialog's, standard buttons', context menus') that answers from scanlab's ``lang``
    catalogue, and leaves whatever else Qt asks to Qt's English."""
    from qtpy.QtCore import QTranslator

    from scanlab.napari_plugin._qt_words import QT_WORDS

    catalogue = translation(lang)

    class CatalogueTranslator(QTranslator):
        # (context, source text, disambiguation, count); typed loosely, since the stubs
        # say str and Qt needs None for "no translation": "" would blank the button.
        def translate(self, *asked: Any) -> Any:
            message = QT_WORDS.get((asked[0], asked[1]))
            return None if message is None else catalogue.gettext(message)

        def isEmpty(self) -> bool:
            return False  # Qt sends no LanguageChange for an empty translator

    return CatalogueTranslator()


# The canvas font's forms once registered with Qt (once per process), or None where it
# could not be.
_canvas_font: list[dict[str, tuple[str, str, str, str]] | None] = []


def install_canvas_font() -> bool:
    """Register with Qt the font that draws Pashto's own letters joined on the canvas
    (:mod:`scanlab.napari_plugin._canvas_font`, made from Noto Sans Arabic) and let the
    captions use it. False, and Pashto's letters left unjoined there, where Noto Sans
    Arabic is not installed (Debian's ``fonts-noto-core`` has it)."""
    if not _canvas_font:
        _canvas_font.append(_register_canvas_font())
    forms = _canvas_font[0]
    if forms is not None:
        set_canvas_forms(forms)
    return forms is not None


def _register_canvas_font() -> dict[str, tuple[str, str, str, str]] | None:
    from matplotlib import font_manager
    from qtpy.QtCore import QByteArray
    from qtpy.QtGui import QFontDatabase

    from scanlab.errors import ScanlabError
    from scanlab.napari_plugin._canvas_font import canvas_font

    wanted = font_manager.FontProperties(family="Noto Sans Arabic")
    try:
        data, forms = canvas_font(font_manager.findfont(wanted, fallback_to_default=False))
    except (ValueError, ScanlabError):
        return None
    return forms if QFontDatabase.addApplicationFontFromData(QByteArray(data)) >= 0 else None


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


def zoom_to_box(viewer: napari.Viewer, box_mm: Any, margin: float = 1.0) -> None:
    """Centre the view on a box (row0, col0, row1, col1 in world mm) and zoom so that
    ``margin`` times its size fills the canvas."""
    size = viewer.window._qt_viewer.canvas.native.size()
    canvas = (max(size.height(), 100), max(size.width(), 100))
    center, zoom = box_view(box_mm, canvas, margin=margin)
    camera = camera_of(viewer)
    camera.center = center
    camera.zoom = zoom


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


def layer_key(layer: Layer) -> str:
    """The name scanlab knows ``layer`` by (English): its :data:`NAME_KEY`, else its name."""
    return str(layer.metadata.get(NAME_KEY, layer.name))


def find_layer(viewer: napari.Viewer, name: str) -> Layer | None:
    """The layer scanlab knows by ``name`` (in English, whatever language the layer list
    shows), or None."""
    return next((layer for layer in viewer.layers if layer_key(layer) == name), None)


def rename_layer(layer: Layer, name: str) -> None:
    """Give ``layer`` the name ``name`` (English), shown in the current language."""
    layer.metadata[NAME_KEY] = name
    layer.name = shown_name(name)


def retitle_layers(viewer: napari.Viewer) -> None:
    """Show scanlab's layers' names in the current language (after a change of language)."""
    for layer in viewer.layers:
        if NAME_KEY in layer.metadata:
            layer.name = shown_name(layer.metadata[NAME_KEY])


def upsert_layer(viewer: napari.Viewer, layer_data: LayerData) -> Layer:
    """Add a layer, or update the one of the same name (as scanlab knows it: see
    :func:`find_layer`) and kind in place (keeping the user's visibility and opacity); an
    image that changes between grey and RGB is replaced."""
    data, kwargs, kind = layer_data
    kwargs = named(kwargs)
    layer = find_layer(viewer, kwargs["metadata"][NAME_KEY])
    if layer is not None:
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
    if layer.name != kwargs["name"]:
        layer.name = kwargs["name"]
    stale = layer.metadata.pop(_STALE, False)  # hidden while it showed the previous scan
    set_scale(layer, kwargs.get("scale", layer.scale), redraw=False)
    if kind == "shapes":
        layer.data = []
        if len(data):
            layer.add(data, shape_type=kwargs.get("shape_type", "rectangle"))
        for key in ("features", "edge_color", "face_color", "text"):
            if key in kwargs:
                setattr(layer, key, kwargs[key])
    else:
        layer.data = data
        if "contrast_limits" in kwargs and not layer.rgb:
            layer.contrast_limits = kwargs["contrast_limits"]
    if stale:  # shown once it holds the new data: one refresh, not two
        layer.visible = True


def show_scan(
    viewer: napari.Viewer, layers: list[Layer], layer_data: list[LayerData]
) -> list[Layer]:
    """Show another scan in the layers of the one shown (``layers``): the next scan of an
    exercise, without removing and adding layers (each removal costs napari a full garbage
    collection and the scene graph a rebuild; an update re-uploads one texture).

    Each layer in ``layer_data`` (from :func:`~scanlab.napari_plugin._layers.scan_layers`)
    takes over the old layer of the same kind, role and channel: data, scale, contrast,
    metadata and name; the user's visibility and opacity stay. What other widgets made of
    the old scan follows: a rendering (role ``"view"``) is hidden until its widget renders
    the new scan into it (:func:`upsert_layer` shows it again); overlays that only meant
    something on the old scan (anomaly map, regions, rulers, results, keys) are removed, in
    one batch. Layers with no counterpart are added. Returns the scan's layers, in
    ``layer_data``'s order.
    """
    old_ids = {ref.scan_id for layer in layers if (ref := scan_ref_of(layer)) is not None}
    free = {_slot(layer): layer for layer in layers if _slot(layer) is not None}
    renames: list[tuple[Layer, str]] = []
    out: list[Layer] = []
    for data, kwargs, kind in layer_data:
        ref = kwargs["metadata"][META_KEY]
        layer = free.pop((kind, ref.role, ref.channel), None)
        if layer is None:
            from napari.layers import Layer as _Layer

            layer = viewer.add_layer(_Layer.create(data, kwargs, kind))
            install_readout(layer)
        else:
            layer.metadata = dict(kwargs["metadata"])
            set_scale(layer, kwargs["scale"], redraw=False)
            layer.data = data
            if "contrast_limits" in kwargs:
                low, high = kwargs["contrast_limits"]
                lo_range, hi_range = layer.contrast_limits_range
                layer.contrast_limits_range = (min(low, lo_range), max(high, hi_range))
                layer.contrast_limits = [low, high]
            renames.append((layer, _key_of(kwargs)))
        out.append(layer)
    new_ref = scan_ref_of(out[-1]) if out else None
    stale: list[Layer] = list(free.values())
    for layer in viewer.layers:
        ref = scan_ref_of(layer)
        if ref is None or ref.scan_id not in old_ids or layer in out or layer in stale:
            continue
        if ref.role in _FOLLOWING_ROLES and new_ref is not None:
            # Shown again when its widget has rendered the new scan into it; one the user
            # had hidden stays hidden.
            # Still waiting since an earlier switch (hidden): what the user had is kept.
            stale_flag = layer.metadata.get(_STALE, layer.visible)
            layer.metadata = {**layer.metadata, META_KEY: replace(ref, scan=new_ref.scan)}
            layer.visible = False
            layer.metadata[_STALE] = stale_flag
            renames.append((layer, layer_key(layer).replace(ref.label, new_ref.label, 1)))
        elif ref.role not in ("marks",):
            stale.append(layer)
    if stale:
        with viewer.layers.batched_update():
            for layer in stale:
                viewer.layers.remove(layer)
    # Renamed last: widgets that follow renames then find the new scan everywhere.
    for layer, name in renames:
        rename_layer(layer, name)
    return out


def _key_of(kwargs: dict[str, Any]) -> str:
    """The name scanlab knows a layer by, from its keyword arguments."""
    return str((kwargs.get("metadata") or {}).get(NAME_KEY, kwargs["name"]))


#: Metadata flag of a rendering that still shows the previous scan (hidden meanwhile).
_STALE = "scanlab_stale"
#: Roles of renderings that follow the scan shown: the Enhance widget's view, Inspect's
#: side-by-side views and Detector assist's overlays (each widget renders the new scan into
#: them).
_FOLLOWING_ROLES = ("view", "compare", "anomaly", "regions")


def awaits_scan(layer: Layer) -> bool:
    """``layer`` (a rendering or overlay) still shows the previous scan, hidden until its
    widget renders the scan now shown into it (see :func:`show_scan`)."""
    return _STALE in layer.metadata


def _slot(layer: Layer) -> tuple[str, str, int] | None:
    ref = scan_ref_of(layer)
    if ref is None or ref.role not in _SCAN_ROLES:
        return None
    return (_kind(layer), ref.role, ref.channel)


def set_scale(layer: Layer, scale: Any, *, redraw: bool = True) -> None:
    """Set a layer's scale (mm per pixel) only when it changes: napari's setter re-slices
    and redraws the layer and makes the viewer recompute its extent even for the same
    value (a tenth of a second for a 40 ft scan), and scans of one exercise share a pitch.
    ``redraw=False`` when new data follows at once, which redraws the layer anyway."""
    if np.array_equal(np.asarray(layer.scale, dtype=float), np.asarray(scale, dtype=float)):
        return
    block = getattr(layer, "_block_refresh", None)  # napari's own, private
    with block() if block is not None and not redraw else nullcontext():
        layer.scale = scale


def install_readout(layer: Layer) -> None:
    """Make the status bar show attenuation and transmission under the cursor for a layer
    of a scanlab scan (whatever it displays: a channel, a rendering, an overlay).

    napari computes a layer's status with ``layer.get_status``; this layer's gets wrapped so
    that its value is the physical readout of the scan behind it.
    """
    if scan_ref_of(layer) is None or getattr(layer, "_scanlab_readout", False):
        return
    if _kind(layer) != "image":
        return
    original = layer.get_status

    def get_status(position: Any, *args: Any, world: bool = False, **kwargs: Any) -> Any:
        status = original(position, *args, world=world, **kwargs)
        ref = scan_ref_of(layer)  # read now: the layer may show another scan since
        if position is None or not isinstance(status, dict) or ref is None:
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
    tooltips) from language ``before`` into ``after``; texts made from state are the
    widget's to set again, in its ``retranslate_state()`` if it has one (called last)."""
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
    refresh = getattr(container, "retranslate_state", None)
    if callable(refresh):
        refresh()


def relabel(*combos: Any) -> None:
    """Read the choices of combo boxes anew (their labels in the current language), each
    keeping the value it had."""
    for combo in combos:
        value = combo.value
        combo.reset_choices()
        if value is not None and value in combo.choices and combo.value != value:
            combo.value = value
