"""The Reference widget: what a threat, a concealment or a clean load of the declared goods
looks like in scanlab's images, shown below the scan at the same scale to compare."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from magicgui.widgets import ComboBox, Container, Label, PushButton
from psygnal import Signal

from scanlab.errors import ScanlabError
from scanlab.i18n import _, term
from scanlab.napari_plugin._qt._util import (
    alive,
    install_canvas_font,
    install_readout,
    layer_key,
    relabel,
    scan_ref_of,
    wrapping,
)
from scanlab.napari_plugin._reference import (
    KINDS,
    REFERENCE_PREFIX,
    choices,
    place_below,
    reference_layers,
    reference_title,
)
from scanlab.synth import CargoDeclaration, Reference, declared_commodities, reference_image
from scanlab.synth._declaration import COMMODITIES

if TYPE_CHECKING:
    import napari

__all__ = ["ReferenceWidget"]


class ReferenceWidget(Container):
    """Pick a threat, a concealment or a commodity and see it below the scan.

    Parameters
    ----------
    viewer : napari.viewer.Viewer
    pitch_mm : float
        Pixel size the references are simulated at (10 mm: sharp enough to see the
        objects, fast to render; a render is cached after the first).
    """

    rendered = Signal(object)  # the Reference put in the viewer

    def __init__(self, viewer: napari.viewer.Viewer, *, pitch_mm: float = 10.0) -> None:
        super().__init__(labels=False)
        install_canvas_font()  # the captions it draws on the canvas join Pashto's letters
        self.native.setMinimumWidth(320)
        self._viewer = viewer
        self._pitch_mm = pitch_mm
        self._declaration: CargoDeclaration | None = None
        self._kind = ComboBox(label=_("Library"), choices=_kind_choices, value="threat")
        self._name = ComboBox(label=_("Show"), choices=self._name_choices)
        self._show = PushButton(text=_("Show below the scan"))
        self._hide = PushButton(text=_("Remove"))
        self._title = Label(value="")
        wrapping(self._title)
        self._declared = Label(value="")
        wrapping(self._declared)
        self.extend(
            [
                Container(widgets=[self._kind, self._name], labels=True),
                Container(widgets=[self._show, self._hide], layout="horizontal"),
                self._title,
                self._declared,
            ]
        )
        self._kind.changed.connect(lambda *_: self._name.reset_choices())
        self._show.changed.connect(self.show_chosen)
        self._hide.changed.connect(self.remove)
        self._alive = alive(self)
        self.reference: Reference | None = None
        self._placed: Reference | None = None  # the reference whose layers are shown

    # --- choices ------------------------------------------------------------------------------

    def _name_choices(self, *_: Any) -> list[tuple[str, str]]:
        return choices(self._kind.value, self._declaration)

    def set_declaration(self, declaration: CargoDeclaration | None) -> None:
        """The declaration beside the shown scan: its goods come first under Declared goods
        (and are chosen), so one click shows a clean load of what is declared."""
        self._declaration = declaration
        self._name.reset_choices()
        declared = declared_commodities(declaration)
        if self._kind.value == "commodity" and declared:
            self._name.value = self._name_choices()[0][1]
        if declaration is None:
            self._declared.value = _("No declaration with this scan.")
        elif declared:
            self._declared.value = _("Declared goods in the library: {goods}").format(
                goods=", ".join(
                    _("HS {hs} {commodity}").format(hs=COMMODITIES[n][0], commodity=term(n))
                    for n in declared
                )
            )
        else:
            self._declared.value = _("The declared goods have no clean load in the library.")

    def retranslate_state(self) -> None:
        """The lists, the title and the declared goods in the current language (a change
        of language calls it)."""
        relabel(self._kind, self._name)
        name = self._name.value
        self.set_declaration(self._declaration)
        if name in self._name.choices:
            self._name.value = name  # the declared goods would be chosen anew
        if self.reference is not None:
            self._title.value = reference_title(self.reference)

    def follow(self, exercise: Any) -> None:
        """Keep to the Exercise widget's shown scan: its declaration's goods are offered."""

        def on_item(_item_id: str) -> None:
            session = exercise.session
            self.set_declaration(session.item.declaration if session is not None else None)
            if self.reference is not None:
                self._place(self.reference)  # below the new scan

        exercise.item_shown.connect(on_item)

    def choose(self, kind: str, name: str) -> None:
        """Pick an entry: ``kind`` one of "threat", "concealment", "commodity"."""
        self._kind.value = kind
        self._name.value = name

    # --- showing ------------------------------------------------------------------------------

    def show_chosen(self, *_args: Any) -> Any:
        """Render the chosen entry in the background (cached after the first time) and put
        it below the scan. Returns the worker."""
        from napari.qt.threading import create_worker

        kind, name = self._kind.value, self._name.value
        self._title.value = _("Rendering {name}...").format(name=term(name))
        worker = create_worker(reference_image, kind, name, pitch_mm=self._pitch_mm)
        worker.returned.connect(self._on_rendered)
        worker.errored.connect(self._on_error)
        worker.start()
        return worker

    def _on_error(self, exc: Exception) -> None:
        if self._alive():
            failed = _("Cannot render it: {error}").format(error=exc)
            self._title.value = failed if isinstance(exc, ScanlabError) else ""
            if not isinstance(exc, ScanlabError):
                raise exc

    def _on_rendered(self, reference: Reference) -> None:
        if not self._alive():
            return
        self.reference = reference
        self._place(reference)
        self._title.value = reference_title(reference)
        self.rendered.emit(reference)

    def _place(self, reference: Reference) -> None:
        from napari.layers import Layer

        extents = [
            layer.extent.world
            for layer in self._viewer.layers
            if (ref := scan_ref_of(layer)) is not None and ref.role == "channel"
        ]
        origin = place_below(extents)
        shown = [ly for ly in self._viewer.layers if layer_key(ly).startswith(REFERENCE_PREFIX)]
        if shown and reference is self._placed:  # the next scan: moved, not re-added
            for layer in shown:
                layer.translate = origin
            return
        self._remove_layers()
        self._placed = reference
        active = self._viewer.layers.selection.active  # the marks layer stays the one drawn on
        for data, kwargs, kind in reference_layers(reference, origin_mm=origin):
            layer = self._viewer.add_layer(Layer.create(data, kwargs, kind))
            if kind == "image":
                install_readout(layer)
        if active is not None and active in self._viewer.layers:
            self._viewer.layers.selection.active = active
        self._viewer.reset_view()

    def remove(self, *_: Any) -> None:
        """Take the reference out of the viewer."""
        self.reference = None
        self._remove_layers()
        self._title.value = ""

    def _remove_layers(self) -> None:
        self._placed = None
        ours = [ly for ly in self._viewer.layers if layer_key(ly).startswith(REFERENCE_PREFIX)]
        for layer in ours:
            self._viewer.layers.remove(layer)


def _kind_choices(_widget: Any = None) -> list[tuple[str, str]]:
    return [(_(label), kind) for kind, label in KINDS.items()]
