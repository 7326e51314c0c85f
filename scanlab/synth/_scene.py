"""Whole scenes: a vehicle, its load and concealments, scanned by a scanner model; each with its
answer key and cargo declaration. Deterministic for a seed."""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np

from scanlab.errors import SpecError
from scanlab.i18n import _
from scanlab.io import Representation, Scan, ScanMetadata
from scanlab.synth._answer_key import AnswerKey, Difficulty, KeyObject, mask_to_polygon
from scanlab.synth._canvas import Canvas
from scanlab.synth._cargo import CARGO_TYPES, Load, load_cargo, texture_goods
from scanlab.synth._concealments import (
    CONCEALMENT_TYPES,
    IN_LOAD,
    SPACE_CHANGING,
    Concealed,
    conceal_in_load,
    plan_space,
    texture_concealed,
)
from scanlab.synth._declaration import (
    COMMODITIES,
    CargoDeclaration,
    DeclaredGoods,
    check_declaration,
)
from scanlab.synth._vehicles import (
    VEHICLE_TYPES,
    VehicleLayout,
    draw_vehicle,
    texture_vehicle,
    vehicle_extent_mm,
)

__all__ = [
    "DECLARATION_MODES",
    "Scene",
    "SceneSpec",
    "generate_scene",
    "measure_difficulty",
]

#: How a declaration is made: true, or false by leaving out one kind of goods of a groupage
#: load, naming another commodity, stating a weight that does not fit, or claiming "empty".
DECLARATION_MODES = ("true", "undeclared_goods", "other_commodity", "weight", "false_empty")
#: Air counts of a calibrated 16-bit export: transmission 1.0 is stored as this value.
EXPORT_AIR_COUNTS = 60000.0


@dataclass
class SceneSpec:
    """What to simulate. Every field is checked; a bad one raises :class:`SpecError`.

    Parameters
    ----------
    vehicle : str
        One of :data:`VEHICLE_TYPES`.
    cargo : str
        One of :data:`CARGO_TYPES` (a commodity, ``"mixed"`` or ``"empty"``).
    fill : float
        Share of the load space's length the cargo fills, 0-1.
    concealments : list of str
        Kinds from :data:`CONCEALMENT_TYPES` (may repeat); empty for a clean scan.
    declaration : str
        ``"true"`` or a way to falsify it (:data:`DECLARATION_MODES`).
    scanner : str
        A scanner preset of :func:`scanlab.physics.get_scanner`.
    """

    vehicle: str = "container_40ft"
    cargo: str = "paper_goods"
    fill: float = 0.8
    concealments: list[str] = field(default_factory=list)
    declaration: str = "true"
    scanner: str = "scanlab-6MV-dual"

    def __post_init__(self) -> None:
        self.check()

    def check(self, *, source: str = "scene spec") -> None:
        if self.vehicle not in VEHICLE_TYPES:
            raise SpecError(
                _(
                    "{source}: field 'vehicle' must be one of {VEHICLE_TYPES}, got {vehicle!r}"
                ).format(source=source, VEHICLE_TYPES=VEHICLE_TYPES, vehicle=self.vehicle)
            )
        if self.cargo not in CARGO_TYPES:
            raise SpecError(
                _("{source}: field 'cargo' must be one of {CARGO_TYPES}, got {cargo!r}").format(
                    source=source, CARGO_TYPES=CARGO_TYPES, cargo=self.cargo
                )
            )
        if not isinstance(self.fill, int | float) or not 0.0 <= self.fill <= 1.0:
            raise SpecError(
                _("{source}: field 'fill' must be a number in [0, 1], got {fill!r}").format(
                    source=source, fill=self.fill
                )
            )
        for kind in self.concealments:
            if kind not in CONCEALMENT_TYPES:
                raise SpecError(
                    _(
                        "{source}: field 'concealments' has unknown kind {kind!r}; valid: "
                        "{CONCEALMENT_TYPES}"
                    ).format(source=source, kind=kind, CONCEALMENT_TYPES=CONCEALMENT_TYPES)
                )
        if self.declaration not in DECLARATION_MODES:
            raise SpecError(
                _(
                    "{source}: field 'declaration' must be one of {DECLARATION_MODES}, got "
                    "{declaration!r}"
                ).format(
                    source=source, DECLARATION_MODES=DECLARATION_MODES, declaration=self.declaration
                )
            )

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any], *, source: str = "scene spec") -> SceneSpec:
        if not isinstance(d, dict):
            raise SpecError(_("{source}: must be a mapping").format(source=source))
        unknown = set(d) - {f.name for f in dataclasses.fields(cls)}
        if unknown:
            raise SpecError(
                _("{source}: unknown field(s) {unknown}").format(
                    source=source, unknown=sorted(unknown)
                )
            )
        try:
            return cls(**d)
        except SpecError as exc:
            raise SpecError(_("{source}: {exc}").format(source=source, exc=exc)) from None


@dataclass
class Scene:
    """A simulated scan with its answer key (which holds the declaration) and the layout of
    the vehicle drawn (where its body, floor and wheels are, in scene millimetres)."""

    scan: Scan
    key: AnswerKey
    spec: SceneSpec
    seed: int
    ideal_attenuation: np.ndarray = field(repr=False)
    layout: VehicleLayout = field(repr=False)


@functools.cache
def _physics(scanner_name: str) -> tuple[Any, Any]:
    from scanlab.physics import basis_lookup, get_scanner

    scanner = get_scanner(scanner_name)
    return scanner, basis_lookup(scanner)


@functools.cache
def _decomposition(scanner_name: str, material: str) -> tuple[float, ...]:
    _scanner, lookup = _physics(scanner_name)
    return tuple(float(c) for c in lookup.decompose(material))


@functools.cache
def _density(material: str) -> float:
    from scanlab.physics import get_material

    return float(get_material(material).density_g_cm3)


def generate_scene(
    spec: SceneSpec,
    seed: int,
    *,
    pitch_mm: float = 5.0,
    scan_id: str | None = None,
    subpixels: int = 1,
) -> Scene:
    """Simulate one scan of ``spec`` with random layout drawn from ``seed``.

    The same (spec, seed, pitch, subpixels) gives the same scan, bit for bit.

    With ``subpixels`` = k the scene is drawn k times finer per axis than the scan's pixels,
    and each pixel reads the mean transmission over its aperture
    (:func:`scanlab.physics.acquire`): a thin dense part (a cross-member's web, a corner
    post, the gap between two stacks) that covers part of a pixel darkens or lightens it by
    the share it covers, as a detector's photon count does. With 1 (the default) the
    areal density is averaged over the pixel instead, which overstates the contrast of
    whatever is thinner than a pixel, with a quarter of the samples to draw. The shipped
    detectors learnt scenes drawn at 1: on a clean 20 ft box of textile cartons at 5 mm
    drawn at 2, cargo-anomaly-v2 scores 0.994 (0.103 at 1; its threshold 0.969), on the
    seams between cartons, which come out finer. So 1 stays the default until they learn
    the finer draw.

    Examples
    --------
    >>> scene = generate_scene(SceneSpec("container_20ft", "tyres", 0.6, ["drugs_in_tyre"]), 3,
    ...                        pitch_mm=20.0)
    >>> scene.scan.is_dual_energy, scene.key.objects[0].threat_class
    (True, 'narcotics')
    """
    spec.check()
    rng = np.random.default_rng([seed, 0x5CA9])
    scanner, lookup = _physics(spec.scanner)
    length_mm, height_mm = vehicle_extent_mm(spec.vehicle)
    top_mm, bottom_mm = height_mm, 0.0
    source_z, distance = scanner.source_height_mm, scanner.source_distance_mm
    if source_z is not None:
        # Drivers keep to the lane's middle within a few hundred mm. The window grows to
        # hold the near side's image, which the diverging beam magnifies.
        distance += float(rng.uniform(-300.0, 300.0))
        near = distance / (distance - 1250.0)
        top_mm = source_z + (height_mm - source_z) * near
        bottom_mm = source_z - source_z * near
    rows, cols = round((top_mm - bottom_mm) / pitch_mm), round(length_mm / pitch_mm)
    k = int(subpixels)
    if k < 1:
        raise SpecError(f"generate_scene: subpixels must be 1 or more, got {subpixels}")
    n_basis = len(_decomposition(spec.scanner, "water"))
    canvas = Canvas(
        rows * k,
        cols * k,
        pitch_mm / k,
        top_mm,
        functools.partial(_decomposition, spec.scanner),
        _density,
        n_basis,
        source_z_mm=source_z,
        source_distance_mm=distance,
    )
    layout = draw_vehicle(canvas, spec.vehicle, rng)
    vehicle = canvas.basis.copy()
    space_kinds = [k for k in spec.concealments if k in SPACE_CHANGING]
    space, concealed = plan_space(space_kinds, canvas, layout, rng)
    cargo = spec.cargo
    if spec.declaration == "undeclared_goods" and cargo != "empty":
        cargo = "mixed"  # goods of several kinds, one of which the declaration leaves out
    before = canvas.basis.copy()
    load = load_cargo(canvas, space, cargo, fill=spec.fill, rng=rng)
    goods = canvas.basis - before if load is not None else None
    # The goods' texture comes from its own stream, drawn before any concealment, so a
    # clean scene and the same scene with something hidden differ only where it is.
    texture_rng = np.random.default_rng(rng.integers(2**63)) if goods is not None else None
    for kind in spec.concealments:
        if kind not in SPACE_CHANGING:
            obj = conceal_in_load(kind, canvas, layout, space, load, rng)
            if obj is not None and obj.parts:
                concealed.append(obj)
    if goods is not None and texture_rng is not None:
        texture_goods(canvas, before, goods, texture_rng)
    # What is hidden in the load has the grain of its material as the library's threats that
    # exams project do, from a stream of its own (the rest of the scene does not change with
    # it). The compartments behind false walls, floors and roofs keep a uniform fill: the
    # shipped detector learnt them so.
    grain_rng = np.random.default_rng([seed, 0x5CA9, 0x6A1])
    for obj in concealed:
        if obj.kind in IN_LOAD:
            texture_concealed(canvas, obj, grain_rng)
    # The vehicle's own unevenness, from a stream of its own too.
    texture_vehicle(canvas, vehicle, np.random.default_rng([seed, 0x5CA9, 0x7E4]))

    from scanlab.physics import acquire, aperture_mean

    ideal_t = aperture_mean(lookup.transmission(canvas.basis), k)  # noise-free
    acq = acquire(canvas.basis, scanner, rng=rng, subpixels=k)
    # The paperwork (acquisition time, declaration) comes from a stream of its own: the
    # number of draws the detector's noise takes depends on the scene, so drawn from ``rng``
    # it would change with every change to the physics.
    papers = np.random.default_rng([seed, 0x5CA9, 0xDEC])
    trans = acq.transmission()
    counts = np.clip(np.rint(trans * EXPORT_AIR_COUNTS), 0, 65535).astype(np.uint16)
    sid = scan_id or f"sim-{spec.vehicle}-{seed}"
    meta = ScanMetadata(
        scan_id=sid,
        scanner_model=scanner.name,
        energies_mev=tuple(scanner.energies_mev),
        pitch_mm=(pitch_mm, pitch_mm),
        scan_direction="left_to_right",
        vehicle_type=spec.vehicle,
        acquired=datetime(2026, 1, 1) + timedelta(minutes=int(papers.integers(0, 525600))),
        air_level=(EXPORT_AIR_COUNTS,) * scanner.n_channels,
        dark_level=(0.0,) * scanner.n_channels,
        attributes={
            "simulator": "scanlab.synth",
            "seed": seed,
            "spec": spec.to_dict(),
            # Drawn finer than the pixels and read over each pixel's aperture (said only
            # then: scenes drawn at one sample per pixel keep their metadata as before).
            **({"subpixels": k} if k != 1 else {}),
            # Where the diverging beam came from (mm): its height above the road, its
            # distance to the vehicle's centre plane, and the height of row 0's top edge.
            **(
                {
                    "beam": {
                        "source_height_mm": source_z,
                        "source_distance_mm": round(distance, 1),
                        "top_mm": round(top_mm, 1),
                    }
                }
                if source_z is not None
                else {}
            ),
        },
    )
    scan = Scan(counts, Representation.COUNTS, meta, source=f"<scene {sid}>")
    attenuation = scan.to_attenuation().data
    drawn = (
        _key_object(f"{sid}-{i}", obj, canvas, lookup, attenuation, k)
        for i, obj in enumerate(concealed)
    )
    objects = [o for o in drawn if o is not None]
    true_load = load.as_true_load() if load else []
    true_load += [
        {
            "commodity": o.threat_class,
            "packages": 1,
            "mass_kg": round(o.mass_kg, 1),
            "concealed": True,
        }
        for o in objects
    ]
    declaration = _declaration(spec, load, papers, sid)
    consistent, reasons = check_declaration(declaration, true_load)
    key = AnswerKey(
        scan_id=sid,
        shape=scan.shape,
        objects=objects,
        declaration=declaration,
        declaration_consistent=consistent,
        inconsistencies=reasons,
        true_load=true_load,
        attributes={
            "spec": spec.to_dict(),
            "seed": seed,
            "tare_kg": layout.tare_kg,
            # The body's outer box in pixels (row of the roof, col of the front, row of the
            # floor's underside, col of the rear), like an object's bbox: where exports crop.
            "body_px": [v / k for v in _body_px(layout.body_mm, canvas)],
        },
    )
    return Scene(scan, key, spec, seed, -np.log(np.maximum(ideal_t, 1e-30)), layout)


def _body_px(body_mm: tuple[float, float, float, float], canvas: Canvas) -> list[float]:
    x0, x1, z_floor, z_roof = body_mm
    near = -1219.0  # the near side wall, which a diverging beam shows largest
    return [
        round(float(canvas.row_of(max(canvas.project_z(z_roof, near), z_roof))), 1),
        round(float(canvas.col_of(x0)), 1),
        round(float(canvas.row_of(min(canvas.project_z(z_floor, near), z_floor))), 1),
        round(float(canvas.col_of(x1)), 1),
    ]


def _key_object(
    object_id: str,
    obj: Concealed,
    canvas: Canvas,
    lookup: Any,
    attenuation: np.ndarray,
    subpixels: int = 1,
) -> KeyObject | None:
    from scanlab.physics import aperture_mean

    k = subpixels
    (f0, g0, f1, g1), fine_part, fine_chord = obj.contribution()
    # The object's box in the canvas, widened to whole scan pixels.
    r0, c0, r1, c1 = f0 // k, g0 // k, -(-f1 // k), -(-g1 // k)
    inner = (slice(f0 - r0 * k, f1 - r0 * k), slice(g0 - c0 * k, g1 - c0 * k))
    part = np.zeros((fine_part.shape[0], (r1 - r0) * k, (c1 - c0) * k), np.float32)
    part[:, inner[0], inner[1]] = fine_part
    chord = np.zeros(part.shape[1:], np.float32)
    chord[inner] = fine_chord
    # At least half a millimetre of the object along the ray, on average over the pixel.
    mask = aperture_mean(chord, k) > 0.05
    if not mask.any():
        return None
    window = canvas.basis[:, r0 * k : r1 * k, c0 * k : c1 * k]
    clear = aperture_mean(lookup.transmission(window - part)[0], k)
    without = -np.log(np.maximum(clear, 1e-30))
    difficulty = measure_difficulty(attenuation[0], mask, (r0, c0), background=without)
    return KeyObject(
        object_id=object_id,
        threat_class=obj.threat_class,
        concealment=obj.concealment,
        material=obj.material,
        mass_kg=round(obj.mass_kg, 2),
        bbox=(r0, c0, r1, c1),
        mask=mask,
        polygon=mask_to_polygon(mask, offset=(r0, c0)),
        difficulty=difficulty,
        description=obj.description,
    )


def measure_difficulty(
    attenuation: np.ndarray,
    mask: np.ndarray,
    offset: tuple[int, int],
    *,
    background: np.ndarray | None = None,
    ring_px: int = 12,
) -> Difficulty:
    """Difficulty factors of an object measured from the (noisy) attenuation image.

    Parameters
    ----------
    attenuation : ndarray
        The whole high-energy attenuation image.
    mask : ndarray of bool
        The object's mask over its bounding box, which starts at ``offset``.
    background : ndarray, optional
        Attenuation of the scene without the object over the bbox (simulator only); else
        the surroundings' mean stands in for it.
    ring_px : int
        Width of the ring of surroundings.
    """
    import cv2

    r0, c0 = offset
    h, w = mask.shape
    R0, C0 = max(r0 - ring_px, 0), max(c0 - ring_px, 0)
    R1, C1 = (
        min(r0 + h + ring_px, attenuation.shape[0]),
        min(c0 + w + ring_px, attenuation.shape[1]),
    )
    local = attenuation[R0:R1, C0:C1].astype(np.float32)
    inner = np.zeros(local.shape, np.uint8)
    inner[r0 - R0 : r0 - R0 + h, c0 - C0 : c0 - C0 + w] = mask
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * ring_px + 1, 2 * ring_px + 1))
    ring = (cv2.dilate(inner, kernel) > 0) & (inner == 0)
    inside = inner > 0
    if not ring.any():
        ring = ~inside
    # Local noise from the ring only (the object's own edges are not noise).
    from scanlab.synth._tip import local_noise_sigma

    ring_rows = np.where(ring.any(axis=1))[0]
    sigma = local_noise_sigma(np.where(ring, local, np.nan)[ring_rows]) if ring_rows.size else 0.0
    sigma = max(sigma, 1e-4)
    gy, gx = np.gradient(local)
    clutter = float(np.mean(np.hypot(gx, gy)[ring]))
    object_mean = float(local[inside].mean())
    if background is not None:
        superposition = float(background[mask].mean())
        contrast = float(abs(object_mean - superposition) / sigma)
    else:
        surround = float(local[ring].mean())
        superposition = surround
        contrast = float(abs(object_mean - surround) / sigma)
    size = int(mask.sum())
    return Difficulty(
        superposition=round(superposition, 4),
        clutter=round(clutter, 5),
        size_px=size,
        contrast=round(contrast, 3),
        level=difficulty_level(superposition, clutter, size, contrast),
    )


def difficulty_level(superposition: float, clutter: float, size_px: int, contrast: float) -> str:
    """easy / medium / hard from the factors: a score that grows with what hides an object.

    Contrast-to-noise dominates (Rose: below ~5 an object is hard to see at all), then
    superposition (attenuation of what lies on top, in -ln T units: 3 means 5 % of the beam
    left), clutter and small size.
    """
    score = 0.0
    score += 2.0 if contrast < 8 else 1.0 if contrast < 30 else 0.0
    score += 1.5 if superposition > 4.0 else 0.75 if superposition > 2.0 else 0.0
    score += 1.0 if clutter > 0.15 else 0.5 if clutter > 0.05 else 0.0
    score += 1.0 if size_px < 150 else 0.5 if size_px < 1000 else 0.0
    return "hard" if score >= 3.0 else "medium" if score >= 1.5 else "easy"


def _declaration(
    spec: SceneSpec, load: Load | None, rng: np.random.Generator, sid: str
) -> CargoDeclaration:
    container_id = _container_id(rng)
    decl = CargoDeclaration(
        container_id=container_id,
        shipper=f"Shipper {int(rng.integers(1000, 9999))}",
        consignee=f"Consignee {int(rng.integers(1000, 9999))}",
    )
    mode = spec.declaration
    if load is None:  # nothing loaded: a true declaration says empty
        if mode != "true":
            commodity = str(rng.choice(sorted(COMMODITIES)))
            decl.goods.append(
                _goods(commodity, int(rng.integers(10, 200)), rng.uniform(2000, 15000))
            )
        return decl
    if mode == "false_empty":
        return decl
    # (commodity, packages, kg) lines as a truthful shipper would write them.
    lines = [(p.commodity, p.packages, p.mass_kg) for p in (load.parts or [load])]
    if mode == "other_commodity":
        other = [c for c in COMMODITIES if c not in {c for c, _, _ in lines} and c != "cars"]
        lines = [(str(rng.choice(other)), load.packages, load.mass_kg)]
    elif mode == "undeclared_goods":
        if len(lines) > 1:
            lines = lines[:-1]  # groupage (generate_scene makes it so): the last kind is left out
        else:
            # Too little room for a second kind: part of the same goods goes undeclared.
            commodity, packages, kg = lines[0]
            share = rng.uniform(0.4, 0.6)
            lines = [(commodity, max(int(packages * share), 1), kg * share)]
    factor = 1.0
    if mode == "weight":
        factor = float(rng.choice([rng.uniform(0.35, 0.65), rng.uniform(1.5, 2.5)]))
    for commodity, packages, kg in lines:
        noise = factor if mode == "weight" else rng.uniform(0.95, 1.05)
        decl.goods.append(_goods(commodity, packages, kg * noise))
    return decl


def _goods(commodity: str, packages: int, kg: float) -> DeclaredGoods:
    hs, text = COMMODITIES.get(commodity, ("9999", commodity))
    return DeclaredGoods(commodity, hs, text, packages, round(float(kg), 0))


def _container_id(rng: np.random.Generator) -> str:
    """An ISO 6346 container number with a valid check digit."""
    owner = "".join(rng.choice(list("ABCDEFGHIJKLMNOPRSTUVWXYZ"), 3)) + "U"
    serial = "".join(str(d) for d in rng.integers(0, 10, 6))
    values = {
        c: v
        for c, v in zip(
            "ABCDEFGHIJKLMNOPQRSTUVWXYZ",
            [
                10,
                12,
                13,
                14,
                15,
                16,
                17,
                18,
                19,
                20,
                21,
                23,
                24,
                25,
                26,
                27,
                28,
                29,
                30,
                31,
                32,
                34,
                35,
                36,
                37,
                38,
            ],
            strict=True,
        )
    }
    code = owner + serial
    total = sum((values[c] if c.isalpha() else int(c)) * 2**i for i, c in enumerate(code))
    return code + str(total % 11 % 10)
