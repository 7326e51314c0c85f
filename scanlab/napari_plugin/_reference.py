"""The reference library beside the scan, as napari layer data (plain Python, no Qt): a
reference image placed below the scans in the viewer, at the same millimetre scale, with
what to look at outlined."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from scanlab.i18n import N_, _, display_order, format_decimal, term
from scanlab.napari_plugin._layers import (
    CLASS_COLOURS,
    NAME_KEY,
    REFERENCE_PREFIX,
    LayerData,
    named,
    scan_layers,
)
from scanlab.synth import (
    CargoDeclaration,
    Reference,
    declared_commodities,
    reference_names,
)
from scanlab.synth._declaration import COMMODITIES
from scanlab.synth._reference import _CONCEALMENT_CARGO, _DEFAULT_CARGO

__all__ = [
    "KINDS",
    "REFERENCE_PREFIX",
    "choices",
    "place_below",
    "reference_layers",
    "reference_title",
]

#: The libraries, as the widget names them.
KINDS = {
    "threat": N_("Threats"),
    "concealment": N_("Concealments"),
    "commodity": N_("Declared goods"),
}

#: Space between the scans and a reference placed below them.
_GAP_MM = 400.0


def choices(kind: str, declaration: CargoDeclaration | None = None) -> list[tuple[str, str]]:
    """(label, name) pairs for the widget's list, in the current language. Commodities the
    declaration names come first, marked "declared"; each commodity shows its HS code."""
    names = list(reference_names(kind))
    if kind != "commodity":
        return [(term(name), name) for name in names]
    declared = declared_commodities(declaration)
    ordered = declared + [n for n in names if n not in declared]
    out = []
    for n in ordered:
        label = _("HS {hs} {commodity}").format(hs=COMMODITIES[n][0], commodity=term(n))
        out.append((_("declared: {goods}").format(goods=label) if n in declared else label, n))
    return out


def reference_title(reference: Reference) -> str:
    """What the reference shows, in the current language: the commodity's HS code and
    description, or the objects (class, material, mass, difficulty) and where they are."""
    name, kind = reference.name, reference.kind
    if kind == "commodity":
        hs, description = COMMODITIES[name]
        return _("HS {hs} {description}: a clean 20 ft container, 80 % full").format(
            hs=hs, description=_(description)
        )
    objects = ", ".join(
        _("{threat_class} ({material}, {mass} kg, {difficulty})").format(
            threat_class=term(o.threat_class),
            material=term(o.material),
            mass=format_decimal(o.mass_kg, 1),
            difficulty=term(o.difficulty.level),
        )
        for o in reference.objects
    )
    if kind == "concealment":
        cargo = _CONCEALMENT_CARGO.get(name, _DEFAULT_CARGO)
        return _("{name}: {objects} in a 20 ft container of {cargo}").format(
            name=term(name), objects=objects, cargo=term(cargo)
        )
    return _("{name}: {objects}, projected into an empty 20 ft container").format(
        name=term(name), objects=objects
    )


def place_below(extents: Iterable[Sequence[Sequence[float]]]) -> tuple[float, float]:
    """Where (row, col in world mm) a reference goes: under the lowest of the given layer
    extents (``[[row0, col0], [row1, col1]]`` each), flush with the leftmost; at the origin
    when nothing is shown."""
    boxes = [(float(e[0][0]), float(e[0][1]), float(e[1][0]), float(e[1][1])) for e in extents]
    if not boxes:
        return (0.0, 0.0)
    return (max(b[2] for b in boxes) + _GAP_MM, min(b[1] for b in boxes))


def reference_layers(
    reference: Reference, *, origin_mm: tuple[float, float] = (0.0, 0.0)
) -> list[LayerData]:
    """The reference's first channel as an image layer and, for a threat or concealment,
    its objects outlined in their class colours, both translated to ``origin_mm``."""
    name = f"{REFERENCE_PREFIX}{reference.name.replace('_', ' ')}"
    image = [layer for layer in scan_layers(reference.scan, name=name) if layer[2] == "image"]
    data, kwargs, kind = image[-1]  # channel 0 (high energy) comes last
    metadata = {k: v for k, v in kwargs["metadata"].items() if k != NAME_KEY}
    kwargs = {**kwargs, "name": name, "metadata": metadata, "translate": origin_mm}
    layers: list[LayerData] = [(data, named({**kwargs, "visible": True}), kind)]
    if reference.objects:
        row_mm, col_mm = reference.scan.metadata.pitch_mm
        boxes = [
            [
                [r0 * row_mm, c0 * col_mm],
                [r0 * row_mm, c1 * col_mm],
                [r1 * row_mm, c1 * col_mm],
                [r1 * row_mm, c0 * col_mm],
            ]
            for (r0, c0, r1, c1) in (o.bbox for o in reference.objects)
        ]
        colours = [CLASS_COLOURS[o.threat_class] for o in reference.objects]
        outline: dict[str, Any] = {
            "name": f"{name} [where]",
            "shape_type": "rectangle",
            "translate": origin_mm,
            "edge_color": colours,
            "face_color": "transparent",
            "edge_width": 2.0,
            "units": ("mm", "mm"),
            # The caption in the current language, shaped for the canvas (vispy).
            "features": {
                "threat_class": [o.threat_class for o in reference.objects],
                "caption": [display_order(term(o.threat_class)) for o in reference.objects],
            },
            "text": {"string": "{caption}", "size": 10, "anchor": "upper_left",
                     "color": colours[0]},
        }  # fmt: skip
        layers.append((boxes, named(outline), "shapes"))
    return layers
