"""Concealments: the objects an officer must find, drawn into a scene with their exact extent.

Two kinds. *Space-changing* concealments are planned before the cargo is loaded, because they
take load space: a false front wall, a false floor or roof, cigarettes stowed behind the
legitimate cargo, an undeclared car. *In-load* concealments go into the loaded cargo or the
vehicle: drugs in tyres or the spare wheel, drugs or cash inside packages, weapons, stowaways.
"""

from __future__ import annotations

import math
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from scanlab.synth._canvas import Canvas, Footprint
from scanlab.synth._cargo import Load, Unit, grain_field
from scanlab.synth._vehicles import CargoSpace, VehicleLayout

__all__ = [
    "CONCEALMENT_TYPES",
    "IN_LOAD",
    "SPACE_CHANGING",
    "Concealed",
    "conceal_in_load",
    "plan_space",
    "texture_concealed",
]

SPACE_CHANGING = ("false_wall", "false_floor", "false_roof", "cigarettes_behind_cargo", "vehicle")
IN_LOAD = (
    "drugs_in_tyre",
    "drugs_in_spare_wheel",
    "drugs_in_cargo",
    "cash",
    "pistol",
    "rifle",
    "stowaway",
)
CONCEALMENT_TYPES = SPACE_CHANGING + IN_LOAD
_DRUGS = ("cocaine_hydrochloride", "heroin", "cannabis")
_DRUG_PACKING = {"cocaine_hydrochloride": 0.85, "heroin": 0.8, "cannabis": 0.75}

#: The grain of what concealments are made of, as goods have it (:func:`texture_goods`):
#: material -> (spread of the areal density from pixel to pixel, grain size in mm). Pressed
#: powder and leaf, banknotes, tobacco and a clothed body are not uniform at a few
#: millimetres, so a ray through them crosses a different mix than its neighbour; machined
#: steel (and any material not named) is uniform.
MATERIAL_GRAIN = {
    "cocaine_hydrochloride": (0.03, 8.0),
    "heroin": (0.03, 8.0),
    "cannabis": (0.03, 8.0),
    "banknote_paper": (0.03, 8.0),
    "tobacco": (0.03, 8.0),
    "soft_tissue": (0.03, 8.0),
}


@dataclass
class Concealed:
    """One hidden object as drawn: the answer-key facts plus its own basis contribution."""

    kind: str
    threat_class: str
    concealment: str
    material: str
    description: str
    parts: list[tuple[Footprint, np.ndarray]] = field(default_factory=list)
    mass_kg: float = 0.0

    def add(
        self, canvas: Canvas, material: str, fp: Footprint | None, *, scale: float = 1.0
    ) -> None:
        """Draw part of the object and remember it (mask and contribution)."""
        part = canvas.add(material, fp, scale=scale)
        if fp is not None and part is not None:
            self.parts.append((fp, part))
            self.mass_kg += canvas.mass_kg(material, fp, scale=scale)

    def bbox(self) -> tuple[int, int, int, int]:
        r0 = min(fp.rows.start for fp, _ in self.parts)
        c0 = min(fp.cols.start for fp, _ in self.parts)
        r1 = max(fp.rows.stop for fp, _ in self.parts)
        c1 = max(fp.cols.stop for fp, _ in self.parts)
        return r0, c0, r1, c1

    def contribution(self) -> tuple[tuple[int, int, int, int], np.ndarray, np.ndarray]:
        """(bbox, basis contribution (2, h, w), chord-weighted mask (h, w)) over its bbox."""
        r0, c0, r1, c1 = self.bbox()
        total = np.zeros((self.parts[0][1].shape[0], r1 - r0, c1 - c0), np.float32)
        chord = np.zeros((r1 - r0, c1 - c0), np.float32)
        for fp, part in self.parts:
            rs = slice(fp.rows.start - r0, fp.rows.stop - r0)
            cs = slice(fp.cols.start - c0, fp.cols.stop - c0)
            total[:, rs, cs] += part
            chord[rs, cs] += np.abs(fp.chord_cm)
        return (r0, c0, r1, c1), total, chord


def texture_concealed(canvas: Canvas, obj: Concealed, rng: np.random.Generator) -> None:
    """Give a drawn concealment the grain of its material (:data:`MATERIAL_GRAIN`), in place:
    every part of it (wrapping and bones included) is multiplied by ``1 + rel_std * field``,
    in ``canvas.basis`` and in ``obj.parts`` alike, so that its key still holds what it added.
    """
    rel_std, grain_mm = MATERIAL_GRAIN.get(obj.material, (0.0, 0.0))
    if rel_std <= 0 or not obj.parts:
        return
    field = grain_field(canvas.basis.shape[1:], grain_mm / canvas.pitch_mm, rng)
    for fp, part in obj.parts:
        change = part * (np.float32(rel_std) * field[fp.rows, fp.cols])[None]
        canvas.basis[:, fp.rows, fp.cols] += change
        part += change


# --- shapes ------------------------------------------------------------------------------


def _brick_block(
    obj: Concealed,
    canvas: Canvas,
    x0: float,
    z0: float,
    length: float,
    height: float,
    depth_cm: float,
    material: str,
) -> None:
    """Bricks of a drug (or banknotes) wrapped in tape, stacked in a block."""
    packing = _DRUG_PACKING.get(material, 0.85)
    obj.add(canvas, material, canvas.box(x0, z0, length, height, depth_cm), scale=packing)
    obj.add(canvas, "polyethylene", canvas.box(x0, z0, length, height, 0.4))


def _rotate(points: np.ndarray, angle: float, centre: tuple[float, float]) -> np.ndarray:
    c, s = math.cos(angle), math.sin(angle)
    rot = np.array([[c, -s], [s, c]])
    return (points @ rot.T) + np.asarray(centre)


def _pistol(
    obj: Concealed, canvas: Canvas, xc: float, zc: float, angle: float, scale: float
) -> None:
    """A semi-automatic pistol side-on: steel slide and barrel, frame, magazine in the grip."""
    slide = np.array([[-95, 10], [95, 10], [95, 42], [-95, 42]], float) * scale
    grip = np.array([[-85, 12], [-45, 12], [-60, -95], [-100, -95]], float) * scale
    guard = np.array([[-45, 12], [5, 12], [5, -10], [-45, -25]], float) * scale
    obj.add(canvas, "steel", canvas.polygon(_rotate(slide, angle, (xc, zc)), 2.6))
    obj.add(canvas, "steel", canvas.polygon(_rotate(grip, angle, (xc, zc)), 1.2))
    obj.add(canvas, "polyethylene", canvas.polygon(_rotate(grip, angle, (xc, zc)), 1.8))
    obj.add(canvas, "steel", canvas.polygon(_rotate(guard, angle, (xc, zc)), 0.6))
    mag = np.array([[-80, 5], [-55, 5], [-68, -90], [-92, -90]], float) * scale
    obj.add(canvas, "steel", canvas.polygon(_rotate(mag, angle, (xc, zc)), 1.0))


def _rifle(obj: Concealed, canvas: Canvas, xc: float, zc: float, angle: float) -> None:
    """An assault rifle side-on: barrel, steel receiver, curved magazine, wooden stock."""
    receiver = np.array([[-150, -30], [150, -30], [150, 30], [-150, 30]], float)
    stock = np.array([[-150, -20], [-420, -70], [-420, 30], [-150, 25]], float)
    mag = np.array([[40, -30], [100, -30], [130, -200], [75, -205]], float)
    grip = np.array([[-100, -30], [-70, -30], [-95, -130], [-125, -125]], float)
    obj.add(canvas, "steel", canvas.polygon(_rotate(receiver, angle, (xc, zc)), 3.2))
    obj.add(canvas, "wood", canvas.polygon(_rotate(stock, angle, (xc, zc)), 4.5))
    obj.add(canvas, "steel", canvas.polygon(_rotate(mag, angle, (xc, zc)), 2.6))
    obj.add(canvas, "polyethylene", canvas.polygon(_rotate(grip, angle, (xc, zc)), 3.0))
    p0 = _rotate(np.array([[150.0, 10.0]]), angle, (xc, zc))[0]
    p1 = _rotate(np.array([[560.0, 10.0]]), angle, (xc, zc))[0]
    obj.add(canvas, "steel", canvas.capsule((p0[0], p0[1]), (p1[0], p1[1]), 11.0))
    obj.add(
        canvas,
        "wood",
        canvas.capsule((p0[0], p0[1] - 5), ((p0[0] + p1[0]) / 2, (p0[1] + p1[1]) / 2 - 5), 22.0),
    )


def _human(
    obj: Concealed, canvas: Canvas, x: float, z_floor: float, pose: str, facing: int
) -> None:
    """A person side-on (soft tissue over a simple skeleton) sitting, crouching or lying."""
    f = facing  # +1 faces along +x

    def limb(a: tuple[float, float], b: tuple[float, float], r: float, bone_r: float) -> None:
        obj.add(canvas, "soft_tissue", canvas.capsule(a, b, r))
        obj.add(canvas, "bone", canvas.capsule(a, b, bone_r))

    if pose == "lying":
        hip = (x, z_floor + 130)
        obj.add(canvas, "soft_tissue", canvas.ellipsoid(x + f * 300, z_floor + 140, 300, 120, 14.0))
        obj.add(
            canvas,
            "bone",
            canvas.capsule((x + f * 60, z_floor + 140), (x + f * 560, z_floor + 140), 18),
        )
        head = (x + f * 720, z_floor + 120)
        limb(hip, (x - f * 420, z_floor + 90), 80, 14)
        limb((x - f * 420, z_floor + 90), (x - f * 850, z_floor + 70), 55, 11)
        limb((x + f * 520, z_floor + 200), (x + f * 250, z_floor + 260), 45, 9)
    else:
        # Sitting on the floor with the knees drawn up, or crouching on the feet.
        seated = pose == "sitting"
        hip = (x, z_floor + (110 if seated else 420))
        shoulder = (x + f * (60 if seated else 200), hip[1] + (520 if seated else 430))
        obj.add(
            canvas,
            "soft_tissue",
            canvas.ellipsoid(
                (hip[0] + shoulder[0]) / 2, (hip[1] + shoulder[1]) / 2, 150, 300, 13.0
            ),
        )
        obj.add(canvas, "bone", canvas.capsule(hip, shoulder, 18))  # spine
        knee = (x + f * (380 if seated else 330), hip[1] + (330 if seated else 60))
        foot = (x + f * (500 if seated else 260), z_floor + 45)
        limb(hip, knee, 80, 14)
        limb(knee, foot, 55, 11)
        hand = (knee[0] - f * 30, knee[1] - 20)
        limb(shoulder, hand, 45, 9)
        head = (shoulder[0] + f * 70, shoulder[1] + 150)
    obj.add(canvas, "soft_tissue", canvas.ellipsoid(head[0], head[1], 95, 115, 8.0))
    obj.add(canvas, "bone", canvas.ellipsoid(head[0], head[1], 85, 105, 7.5), scale=0.12)


def _car(obj: Concealed, canvas: Canvas, x0: float, z0: float) -> float:
    """A hatchback seen side-on (1.7 m wide): shell, glass, engine, seats, four wheels."""
    length, width_cm = 4100.0, 170.0
    origin = np.array([x0, z0])
    body = origin + np.array(
        [
            [0, 300],
            [0, 800],
            [700, 950],
            [1300, 1450],
            [3300, 1450],
            [4000, 900],
            [length, 850],
            [length, 300],
        ],
        float,
    )
    obj.add(canvas, "steel", canvas.polygon(body, 2 * 0.08))
    obj.add(
        canvas, "steel", canvas.box(x0 + 150, z0 + 300, length - 300, 2.0, width_cm)
    )  # floor pan
    obj.add(canvas, "steel", canvas.box(x0 + 1400, z0 + 1430, 1800, 1.5, width_cm))  # roof
    obj.add(
        canvas,
        "glass",
        canvas.polygon(
            origin + np.array([[1350, 1000], [1600, 1400], [3200, 1400], [3600, 1000]], float),
            2 * 0.4,
        ),
    )
    obj.add(canvas, "cast_iron", canvas.box(x0 + 3300, z0 + 400, 550, 450, 12.0))  # engine
    obj.add(canvas, "aluminium", canvas.box(x0 + 3250, z0 + 350, 700, 550, 6.0))  # gearbox etc.
    for sx in (x0 + 1700, x0 + 2700):
        obj.add(canvas, "polyethylene", canvas.box(sx, z0 + 350, 500, 550, 100.0), scale=0.06)
        obj.add(canvas, "steel", canvas.box(sx, z0 + 350, 500, 40, 20.0))
    for wx in (x0 + 700, x0 + 3450):
        obj.add(canvas, "tyre", canvas.disc(wx, z0 + 310, 310, 2 * 20.0, inner_radius=200))
        obj.add(canvas, "steel", canvas.disc(wx, z0 + 310, 200, 2 * 3.0))
        obj.add(canvas, "steel", canvas.disc(wx, z0 + 310, 80, 30.0))
    return x0 + length


# --- planning the load space -----------------------------------------------------------------


def plan_space(
    kinds: list[str], canvas: Canvas, layout: VehicleLayout, rng: np.random.Generator
) -> tuple[CargoSpace, list[Concealed]]:
    """Draw the space-changing concealments and return the space left for legitimate cargo."""
    space = layout.cargo
    made: list[Concealed] = []
    for kind in kinds:
        if kind == "false_wall":
            gap = rng.uniform(350, 900)
            wall_x = space.x0 + gap
            drug = str(rng.choice((*_DRUGS, "cigarettes")))
            threat = "cigarettes" if drug == "cigarettes" else "narcotics"
            material = "tobacco" if drug == "cigarettes" else drug
            obj = Concealed(
                kind, threat, "false_wall", material, f"{material} behind a false front wall"
            )
            height = space.height * rng.uniform(0.3, 0.9)
            depth = space.depth_cm * rng.uniform(0.3, 0.9)
            if threat == "cigarettes":
                obj.add(
                    canvas,
                    "tobacco",
                    canvas.box(space.x0 + 20, space.z0, gap - 60, height, depth),
                    scale=0.25,
                )
            else:
                _brick_block(
                    obj,
                    canvas,
                    space.x0 + 20,
                    space.z0,
                    gap - 60,
                    height * 0.5,
                    depth * 0.6,
                    material,
                )
            # The false wall itself: plywood and a thin steel skin across the whole width.
            canvas.add(
                "plywood", canvas.box(wall_x - 18, space.z0, 18, space.height, space.depth_cm)
            )
            canvas.add(
                "steel", canvas.box(wall_x - 20, space.z0, 1.5, space.height, space.depth_cm)
            )
            made.append(obj)
            space = CargoSpace(wall_x + 5, space.x1, space.z0, space.z1, space.depth_cm)
        elif kind in ("false_floor", "false_roof"):
            cavity = rng.uniform(90, 180)
            length = space.length * rng.uniform(0.4, 0.9)
            x0 = space.x0 + rng.uniform(0, space.length - length)
            material = str(rng.choice((*_DRUGS, "banknote_paper")))
            threat = "cash" if material == "banknote_paper" else "narcotics"
            where = "false floor" if kind == "false_floor" else "false roof"
            obj = Concealed(kind, threat, kind, material, f"{material} in a {where} compartment")
            if kind == "false_floor":
                cz, deck_z = space.z0, space.z0 + cavity
                canvas.add(
                    "plywood", canvas.box(space.x0, deck_z, space.length, 18, space.depth_cm)
                )
                space = CargoSpace(space.x0, space.x1, deck_z + 18, space.z1, space.depth_cm)
            else:
                cz, deck_z = space.z1 - cavity, space.z1 - cavity - 12
                canvas.add(
                    "plywood", canvas.box(space.x0, deck_z, space.length, 12, space.depth_cm)
                )
                canvas.add(
                    "steel", canvas.box(space.x0, deck_z - 1, space.length, 1.0, space.depth_cm)
                )
                space = CargoSpace(space.x0, space.x1, space.z0, deck_z - 2, space.depth_cm)
            _brick_block(
                obj,
                canvas,
                x0,
                cz + 5,
                length,
                cavity - 15,
                space.depth_cm * rng.uniform(0.4, 0.9),
                material,
            )
            made.append(obj)
        elif kind == "cigarettes_behind_cargo":
            length = space.length * rng.uniform(0.15, 0.35)
            obj = Concealed(
                kind,
                "cigarettes",
                "behind_cargo",
                "tobacco",
                "master cases of cigarettes behind the declared goods",
            )
            x, top = space.x0 + 10, space.z1 - rng.uniform(100, 400)
            while x + 580 <= space.x0 + length:
                z = space.z0
                while z + 350 <= top:
                    obj.add(
                        canvas,
                        "tobacco",
                        canvas.box(x, z, 576, 346, space.depth_cm * 0.95),
                        scale=rng.uniform(0.22, 0.28),
                    )
                    canvas.add("cardboard", canvas.box(x, z, 4, 346, space.depth_cm * 0.95))
                    z += 350
                x += 580
            if obj.parts:
                made.append(obj)
                space = CargoSpace(x + 20, space.x1, space.z0, space.z1, space.depth_cm)
        elif kind == "vehicle":
            if space.length < 4600:
                continue
            obj = Concealed(
                kind, "vehicle", "in_cargo", "steel", "an undeclared car inside the container"
            )
            end = _car(obj, canvas, space.x0 + rng.uniform(50, 300), space.z0)
            made.append(obj)
            space = CargoSpace(end + 200, space.x1, space.z0, space.z1, space.depth_cm)
        else:
            raise ValueError(kind)
    return space, made


# --- in-load concealments ------------------------------------------------------------------


def _at_unit(canvas: Canvas, unit: Unit | None, depth_cm: float) -> AbstractContextManager[Any]:
    """Draw at the depth across the vehicle where ``unit`` lies (a slab ``depth_cm`` thick),
    so that a diverging beam images what is hidden in it where it images the unit; goods
    drawn about the centre plane need nothing."""
    if unit is None or unit.y_mm == 0.0:
        return nullcontext()
    return canvas.at_depths(unit.y_mm, thickness_mm=10.0 * depth_cm)


def conceal_in_load(
    kind: str,
    canvas: Canvas,
    layout: VehicleLayout,
    space: CargoSpace,
    load: Load | None,
    rng: np.random.Generator,
) -> Concealed | None:
    """Hide one object of ``kind`` in the loaded scene; ``None`` if the scene has no place."""
    units = load.units if load else []
    if kind == "drugs_in_tyre":
        tyres = [u for u in units if u.material == "tyre"]
        if not tyres:
            return conceal_in_load("drugs_in_spare_wheel", canvas, layout, space, load, rng)
        drug = str(rng.choice(_DRUGS))
        obj = Concealed(kind, "narcotics", "tyre", drug, f"{drug} packed inside tyres")
        for index in rng.choice(
            len(tyres), size=min(len(tyres), int(rng.integers(2, 6))), replace=False
        ):
            unit = tyres[int(index)]
            # Bricks fill the tyre's inner cavity, between the bead and the tread.
            r = unit.length / 2
            xc, zc = unit.x0 + r, unit.z0 + unit.height / 2
            with _at_unit(canvas, unit, 0.2 * r):
                cavity = canvas.tyre_ring(
                    xc,
                    zc,
                    r * 0.92,
                    r * 0.7,
                    unit.depth_cm * 10 * 0.8,
                    unit.tilt,
                    unit.depth_cm * 0.4,
                    lean=unit.lean,
                )
                obj.add(canvas, drug, cavity, scale=0.8)
        return obj
    if kind == "drugs_in_spare_wheel":
        if layout.spare_wheel_xz is None:
            return conceal_in_load("drugs_in_cargo", canvas, layout, space, load, rng)
        drug = str(rng.choice(_DRUGS))
        obj = Concealed(kind, "narcotics", "spare_wheel", drug, f"{drug} inside the spare wheel")
        xc, zc = layout.spare_wheel_xz
        obj.add(canvas, drug, canvas.box(xc - 440, zc - 130, 140, 260, 60.0), scale=0.8)
        obj.add(canvas, drug, canvas.box(xc + 300, zc - 130, 140, 260, 60.0), scale=0.8)
        return obj
    if kind in ("drugs_in_cargo", "cash"):
        # Packages big enough for a brick: a carton of meat or fruit, a bag, a bale, a crate.
        hosts = [
            u
            for u in units
            if u.material != "tyre"
            and u.height > 100
            and u.length > 250
            and u.height * u.length >= 4e4
        ]
        material = "banknote_paper" if kind == "cash" else str(rng.choice(_DRUGS))
        threat = "cash" if kind == "cash" else "narcotics"
        if not hosts:
            # No packages to hide in: a loose holdall on the floor.
            obj = Concealed(kind, threat, "loose", material, f"{material} in a bag on the floor")
            x = space.x0 + rng.uniform(0, max(space.length - 600, 1))
            _brick_block(obj, canvas, x, space.z0, 550, 300, 35.0, material)
            return obj
        unit = hosts[int(rng.integers(len(hosts)))]
        obj = Concealed(
            kind, threat, "in_cargo", material, f"{material} hidden inside {unit.material} packages"
        )
        length = unit.length * rng.uniform(0.3, 0.8)
        height = unit.height * rng.uniform(0.3, 0.8)
        depth = unit.depth_cm * rng.uniform(0.15, 0.5)
        x0 = unit.x0 + rng.uniform(0, unit.length - length)
        z0 = unit.z0 + rng.uniform(0, unit.height - height)
        # Displace the host's goods where the bricks go (at the host's packing density), at
        # the depth across the vehicle where the host package lies.
        with _at_unit(canvas, unit, depth):
            canvas.add(unit.material, canvas.box(x0, z0, length, height, depth), scale=-unit.scale)
            _brick_block(obj, canvas, x0, z0, length, height, depth, material)
        return obj
    if kind in ("pistol", "rifle"):
        obj = Concealed(kind, "weapon", "in_cargo" if units else "loose", "steel", f"a {kind}")
        if units:
            unit = units[int(rng.integers(len(units)))]
            xc = unit.x0 + rng.uniform(0.2, 0.8) * unit.length
            zc = unit.z0 + rng.uniform(0.2, 0.8) * unit.height
        else:
            xc = space.x0 + rng.uniform(0.1, 0.9) * space.length
            zc = space.z0 + 150
        angle = rng.uniform(-math.pi, math.pi)
        with _at_unit(canvas, unit if units else None, 0.0):
            if kind == "pistol":
                _pistol(obj, canvas, xc, zc, angle, rng.uniform(0.9, 1.15))
            else:
                _rifle(obj, canvas, xc, zc, angle)
        return obj
    if kind == "stowaway":
        pose = str(rng.choice(["sitting", "crouching", "lying"]))
        obj = Concealed(
            kind, "stowaway", "in_cargo" if units else "loose", "soft_tissue", f"a person {pose}"
        )
        # People hide in the gap by the doors or on top of the load.
        if load is not None and load.end_x < space.x1 - 900:
            x = float(rng.uniform(load.end_x + 450, space.x1 - 450))
            z = space.z0
        elif units:
            top = max(units, key=lambda u: u.z0 + u.height)
            x, z = top.x0 + top.length / 2, min(top.z0 + top.height + 5, space.z1 - 700)
            pose = "lying"
        elif space.length >= 1800:
            x, z = float(rng.uniform(space.x0 + 900, space.x1 - 900)), space.z0
        elif space.length >= 1000 and space.height >= 1000:
            # What a car or a false wall leaves: room to crouch, not to lie down.
            x, z, pose = space.x0 + space.length / 2, space.z0, "crouching"
        else:
            return None  # no room for a person
        _human(obj, canvas, x, z, pose, int(rng.choice([-1, 1])))
        return obj
    raise ValueError(kind)
