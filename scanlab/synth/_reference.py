"""The reference library a trainee compares a scan with: each threat of the TIP library
projected into a clean scene, each concealment as the simulator hides it, and a clean load
of each commodity a declaration can name, all as scanlab's images show them."""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from scanlab.errors import SpecError
from scanlab.i18n import _
from scanlab.io import Scan
from scanlab.synth._answer_key import KeyObject
from scanlab.synth._cargo import CARGO_TYPES
from scanlab.synth._concealments import CONCEALMENT_TYPES
from scanlab.synth._declaration import COMMODITIES, CargoDeclaration, DeclaredGoods
from scanlab.synth._scene import SceneSpec, generate_scene
from scanlab.synth._tip import THREAT_LIBRARY, project_threat, render_threat
from scanlab.synth._vehicles import vehicle_extent_mm

__all__ = [
    "REFERENCE_KINDS",
    "Reference",
    "commodity_of",
    "declared_commodities",
    "reference_image",
    "reference_names",
]

#: What the library holds: threats (projected by TIP into an empty container), concealments
#: (as the simulator hides them in a load) and commodities (a clean load of the goods).
REFERENCE_KINDS = ("threat", "concealment", "commodity")
#: Every reference is a 20 ft container: the same frame for all, and fast to simulate.
_VEHICLE = "container_20ft"
#: The load concealments hide in, unless they need their own.
_CONCEALMENT_CARGO = {"drugs_in_tyre": "tyres"}
_DEFAULT_CARGO = "paper_goods"


@dataclass(frozen=True)
class Reference:
    """One reference image: the scan, where the threat or concealment lies, and what it is.

    Attributes
    ----------
    kind, name : str
        One of :data:`REFERENCE_KINDS` and a name of :func:`reference_names`.
    title : str
        One line, e.g. ``"pistol: weapon, steel, 0.9 kg, projected into an empty 20 ft
        container"``.
    scan : Scan
        The simulated scan (calibrated counts, as exam scans are).
    objects : tuple of KeyObject
        What to look at (none for a commodity: the load is the point).
    """

    kind: str
    name: str
    title: str
    scan: Scan
    objects: tuple[KeyObject, ...] = ()


def reference_names(kind: str) -> tuple[str, ...]:
    """The names :func:`reference_image` takes for ``kind``.

    Examples
    --------
    >>> reference_names("threat")[:3]
    ('pistol', 'rifle', 'cocaine_bricks')
    >>> "rice" in reference_names("commodity"), "steel_coils" in reference_names("commodity")
    (True, False)
    """
    if kind == "threat":
        return tuple(THREAT_LIBRARY)
    if kind == "concealment":
        return tuple(CONCEALMENT_TYPES)
    if kind == "commodity":  # those the cargo generator can load
        return tuple(c for c in COMMODITIES if c in CARGO_TYPES)
    raise SpecError(
        _("reference kind must be one of {REFERENCE_KINDS}, got {kind!r}").format(
            REFERENCE_KINDS=REFERENCE_KINDS, kind=kind
        )
    )


def reference_image(kind: str, name: str, *, pitch_mm: float = 10.0, seed: int = 0) -> Reference:
    """Render one entry of the reference library (cached: the same call is instant after
    the first).

    ``"threat"``: the threat of :data:`~scanlab.synth.THREAT_LIBRARY` projected by TIP
    (:func:`~scanlab.synth.project_threat`) onto the floor of an empty 20 ft container,
    halfway along. ``"concealment"``: a 20 ft container of paper goods (tyres for
    ``drugs_in_tyre``) with that concealment, as exams draw it. ``"commodity"``: a clean
    20 ft container of the goods, 80 % full, as the cargo generator loads them.

    Examples
    --------
    >>> ref = reference_image("threat", "pistol", pitch_mm=20.0)
    >>> ref.objects[0].threat_class, ref.objects[0].concealment
    ('weapon', 'tip')
    >>> reference_image("commodity", "rice", pitch_mm=20.0).objects
    ()
    """
    if name not in reference_names(kind):
        raise SpecError(
            _("no {kind} {name!r} in the reference library; it has {reference_names}").format(
                kind=kind, name=name, reference_names=list(reference_names(kind))
            )
        )
    if not isinstance(pitch_mm, int | float) or not 2.0 <= float(pitch_mm) <= 50.0:
        raise SpecError(
            _("pitch_mm must be a number of millimetres in [2, 50], got {pitch_mm!r}").format(
                pitch_mm=pitch_mm
            )
        )
    return _render(kind, name, float(pitch_mm), int(seed))


@functools.lru_cache(maxsize=48)
def _render(kind: str, name: str, pitch_mm: float, seed: int) -> Reference:
    if kind == "commodity":
        scene = generate_scene(SceneSpec(_VEHICLE, name, 0.8), seed, pitch_mm=pitch_mm)
        hs, description = COMMODITIES[name]
        return Reference(
            kind,
            name,
            f"HS {hs} {description}: a clean 20 ft container, 80 % full",
            scene.scan,
        )
    if kind == "concealment":
        cargo = _CONCEALMENT_CARGO.get(name, _DEFAULT_CARGO)
        scene = generate_scene(SceneSpec(_VEHICLE, cargo, 0.7, [name]), seed, pitch_mm=pitch_mm)
        objects = tuple(scene.key.objects)
        what = ", ".join(
            f"{o.threat_class} ({o.material}, {o.mass_kg:g} kg, {o.difficulty.level})"
            for o in objects
        )
        title = f"{name.replace('_', ' ')}: {what} in a 20 ft container of {cargo}"
        return Reference(kind, name, title.replace("_", " "), scene.scan, objects)
    # A threat: projected into an empty container, resting on its floor halfway along.
    scene = generate_scene(SceneSpec(_VEHICLE, "empty", 0.0), seed, pitch_mm=pitch_mm)
    threat = render_threat(name)
    space = scene.layout.cargo
    height_mm = vehicle_extent_mm(_VEHICLE)[1]
    floor_row = (height_mm - space.z0) / pitch_mm
    half_rows = threat.mask.shape[0] * threat.pitch_mm / pitch_mm / 2
    row = round(floor_row - half_rows - 1)
    col = round((space.x0 + space.x1) / 2 / pitch_mm)
    scan, obj = project_threat(
        scene.scan,
        threat,
        row=row,
        col=col,
        rng=np.random.default_rng([seed, 0x4EF]),
        object_id=name,
    )
    threat_class, material = THREAT_LIBRARY[name]
    title = (
        f"{name.replace('_', ' ')}: {threat_class}, {material.replace('_', ' ')}, "
        f"{threat.mass_kg:g} kg, projected into an empty 20 ft container"
    )
    return Reference(kind, name, title, scan, (obj,))


def commodity_of(goods: DeclaredGoods | str) -> str:
    """The commodity of the library a declaration line (or an HS code, or a commodity
    name) names: by its commodity when the library knows it, else by the first four
    digits of its HS code (the heading).

    Examples
    --------
    >>> commodity_of("1006"), commodity_of("4819.10"), commodity_of("rice")
    ('rice', 'paper_goods', 'rice')
    """
    if isinstance(goods, DeclaredGoods):
        if goods.commodity in COMMODITIES:
            return goods.commodity
        text = goods.hs_code
    else:
        text = str(goods).strip()
        if text in COMMODITIES:
            return text
    heading = "".join(ch for ch in text if ch.isdigit())[:4]
    for commodity, (hs, _description) in COMMODITIES.items():
        if len(heading) == 4 and hs == heading:
            return commodity
    raise SpecError(
        _(
            "HS code or commodity {text!r} is not in the reference library (headings {value})"
        ).format(text=text, value=sorted(hs for hs, _ in COMMODITIES.values()))
    )


def declared_commodities(declaration: CargoDeclaration | None) -> list[str]:
    """The commodities a declaration names that the library can show a clean load of, in
    the declaration's order (goods it cannot show are left out)."""
    if declaration is None:
        return []
    found: list[str] = []
    for goods in declaration.goods:
        try:
            commodity = commodity_of(goods)
        except SpecError:
            continue
        if commodity in reference_names("commodity") and commodity not in found:
            found.append(commodity)
    return found
