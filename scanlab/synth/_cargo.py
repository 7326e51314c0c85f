"""Cargo loads: palletised cartons, bulk bags, machinery, tyres, bottles and drums, textiles,
master cases of cigarettes, the stowed bulk trades (frozen meat and citrus in cartons, coffee,
groundnuts, sugar and soybean meal in bags, cotton in pressed bales) and mixed loads.

Stowed goods are drawn package by package, each row of packages across the width placed on
its own, so that what the beam sums along its path has the soft, column-streaked look of real
loads: rounded bag and bale outlines that nest into each other, crushed carton edges, leaning
and ragged stacks, bright gaps between columns and pallets, and a load line below the roof.
Package sizes, fill densities and payload limits are those of the real trades, so a full
load's areal density (and hence how dark it is at 6 MeV) follows from its weight.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from scanlab.synth._canvas import Canvas
from scanlab.synth._vehicles import CargoSpace

__all__ = [
    "CARGO_TYPES",
    "PACKINGS",
    "Load",
    "Packing",
    "Unit",
    "grain_field",
    "load_cargo",
    "texture_goods",
]


@dataclass
class Unit:
    """One package or block of a load, which a concealment may hollow out or stand behind.

    ``material`` fills the box (x0, z0, length, height) to ``depth_cm`` at ``scale`` times the
    material's density (packing fraction). For packages with rounded or tilted outlines the
    box is their core and ``depth_cm`` the least depth of goods they hold over it, so what is
    hidden there stays inside the goods. ``tilt`` and ``lean`` are a tyre's tilt from flat
    and its turn in the image. ``y_mm`` is where the unit's goods lie across the vehicle (mm
    from its centre plane, positive away from the source; :meth:`Canvas.at_depths`), which a
    diverging beam images at their own magnification; 0 for goods drawn about the centre.
    """

    x0: float
    z0: float
    length: float
    height: float
    depth_cm: float
    material: str
    scale: float
    tilt: float = 0.0
    lean: float = 0.0
    y_mm: float = 0.0


@dataclass
class Load:
    """What a generator put in the load space: the truth a declaration is checked against."""

    commodity: str
    packages: int = 0
    mass_kg: float = 0.0
    units: list[Unit] = field(default_factory=list)
    end_x: float = 0.0
    parts: list[Load] = field(default_factory=list)

    def as_true_load(self) -> list[dict[str, object]]:
        """One entry per commodity (groupage loads list each kind)."""
        if self.parts:
            return [entry for part in self.parts for entry in part.as_true_load()]
        return [
            {
                "commodity": self.commodity,
                "packages": self.packages,
                "mass_kg": round(self.mass_kg, 1),
                "concealed": False,
            }
        ]


def _fill_unit(
    canvas: Canvas,
    load: Load,
    unit: Unit,
    *,
    shell: str | None = "cardboard",
    rng: np.random.Generator | None = None,
) -> None:
    fp = canvas.box(unit.x0, unit.z0, unit.length, unit.height, unit.depth_cm)
    canvas.add(unit.material, fp, scale=unit.scale)
    load.mass_kg += canvas.mass_kg(unit.material, fp, scale=unit.scale)
    if rng is not None:
        # Packages are not uniform inside: denser items and voids give real loads texture.
        for _ in range(int(rng.integers(0, 4))):
            w, h = unit.length * rng.uniform(0.15, 0.5), unit.height * rng.uniform(0.15, 0.5)
            x = unit.x0 + rng.uniform(0, unit.length - w)
            z = unit.z0 + rng.uniform(0, unit.height - h)
            delta = unit.scale * rng.uniform(-0.5, 0.6)
            item = canvas.box(x, z, w, h, unit.depth_cm * rng.uniform(0.3, 0.8))
            canvas.add(unit.material, item, scale=delta)
            load.mass_kg += canvas.mass_kg(unit.material, item, scale=delta)
    if shell:
        # Carton walls seen in-plane at the carton edges: the faint grid of real scans.
        for x in (unit.x0, unit.x0 + unit.length - 4):
            wall = canvas.box(x, unit.z0, 4, unit.height, unit.depth_cm)
            canvas.add(shell, wall)
            load.mass_kg += canvas.mass_kg(shell, wall)
        for z in (unit.z0, unit.z0 + unit.height - 4):
            wall = canvas.box(unit.x0, z, unit.length, 4, unit.depth_cm)
            canvas.add(shell, wall)
    load.units.append(unit)
    load.packages += 1


def _pallet(canvas: Canvas, load: Load, x0: float, z0: float, length: float, depth: float) -> float:
    """A wooden pallet (144 mm): deck boards seen in-plane and three blocks. Returns its top."""
    canvas.add("wood", canvas.box(x0, z0 + 122, length, 22, depth))
    canvas.add("wood", canvas.box(x0, z0, length, 22, depth))
    for bx in (x0, x0 + length / 2 - 50, x0 + length - 100):
        canvas.add("wood", canvas.box(bx, z0 + 22, 100, 100, depth))
    load.mass_kg += 25.0 * depth / 100.0
    return z0 + 144


def _palletised(
    canvas: Canvas, space: CargoSpace, rng: np.random.Generator, fill: float, commodity: str
) -> Load:
    material, density = {
        "paper_goods": ("cardboard", (0.35, 0.75)),
        "furniture": ("wood", (0.12, 0.30)),
        "ceramic_tiles": ("glass", (0.55, 0.85)),
    }[commodity]
    load = Load(commodity)
    x, end = space.x0 + rng.uniform(0, 40), space.x0 + fill * space.length
    while x + 1000 <= end:
        length = float(rng.choice([1000.0, 1200.0]))
        top = _pallet(canvas, load, x, space.z0, length, space.depth_cm * 0.9)
        max_h = space.z1 - top - rng.uniform(20, 500)
        carton_h = rng.uniform(250, 450)
        layers = max(int(max_h // carton_h), 1)
        per_row = int(rng.integers(2, 4))
        for layer in range(layers):
            for k in range(per_row):
                scale = rng.uniform(*density)
                _fill_unit(
                    canvas,
                    load,
                    Unit(
                        x + k * length / per_row,
                        top + layer * carton_h,
                        length / per_row - 3,
                        carton_h - 3,
                        space.depth_cm * rng.uniform(0.85, 0.95),
                        material,
                        scale,
                    ),
                    rng=rng,
                )
        x += length + rng.uniform(10, 120)
    load.end_x = x
    return load


def _row_depth_mm(space: CargoSpace, k: int, n: int) -> float:
    """Depth across the vehicle (mm from its centre plane) of the middle of the ``k``-th of
    ``n`` equal rows side by side across the load space's width (:meth:`Canvas.at_depths`)."""
    return ((k + 0.5) / n - 0.5) * space.depth_cm * 10.0


def _big_bags(
    canvas: Canvas, space: CargoSpace, rng: np.random.Generator, fill: float, commodity: str
) -> Load:
    """Bulk bags (FIBC, 0.9-1.0 m square, 0.6-1.2 t), two across the width in one or two
    tiers: the filled body bulges, the goods heap into a dome under the slack top of the bag
    and its lifting loops; bright gaps stay where round bags meet."""
    material, density = {"sugar": ("sugar", (0.95, 1.0))}[commodity]
    load = Load(commodity)
    side = rng.uniform(900, 1000)
    tiers = 2 if rng.random() < 0.4 else 1
    tier_h = min((space.height - 60) / tiers, 1750.0)
    x, end = space.x0 + 20, space.x0 + fill * space.length
    payload_kg, last_kg = PACKINGS[commodity].payload_kg, 0.0
    # Stop before the payload limit: the next stack of bags weighs about what the last did.
    while x + side <= end and load.mass_kg + 1.1 * last_kg <= payload_kg:
        before = load.mass_kg
        for tier in range(tiers):
            z0 = space.z0 + tier * tier_h
            for across in range(2):
                # Two bags across the width, each at its own depth in a diverging beam.
                y_bag = _row_depth_mm(space, across, 2)
                with canvas.at_depths(y_bag, thickness_mm=side):
                    height = tier_h * rng.uniform(0.86, 0.97)
                    level = height * rng.uniform(0.82, 0.9)  # goods, below the bag's slack top
                    xc = x + 0.5 * side + rng.normal(0.0, 25.0)
                    scale = rng.uniform(*density)
                    depth_cm = side / 10 * rng.uniform(0.93, 1.0)
                    bag = _package(
                        canvas,
                        load,
                        material,
                        (xc, z0 + 0.5 * level),
                        (side, level),
                        depth_cm,
                        scale,
                        radius=rng.uniform(0.15, 0.25) * side,
                        tilt=rng.normal(0.0, 0.02),
                        sag=rng.uniform(-0.04, 0.0) * level,
                    )
                    bag.y_mm = y_bag
                    dome = canvas.ellipsoid(
                        xc, z0 + level * 0.9, 0.42 * side, 0.16 * level, 0.42 * depth_cm
                    )
                    canvas.add(material, dome, scale=scale)
                    load.mass_kg += canvas.mass_kg(material, dome, scale=scale)
                    # The slack woven top and the four loops, polypropylene seen edge-on.
                    top = canvas.block(
                        xc,
                        z0 + 0.5 * (level + height),
                        side * 0.9,
                        height - level,
                        2 * 0.08,
                        radius=0.1 * side,
                    )
                    canvas.add("polypropylene", top)
                    for lx in (xc - 0.4 * side, xc + 0.4 * side - 50):
                        canvas.add("polypropylene", canvas.box(lx, z0 + height - 30, 50, 200, 1.2))
                load.mass_kg += 2.5
                load.packages += 1
        last_kg = load.mass_kg - before
        x += side + rng.uniform(20, 120)
    load.end_x = x
    return load


def _bulk_bags(
    canvas: Canvas, space: CargoSpace, rng: np.random.Generator, fill: float, commodity: str
) -> Load:
    """Rice and plastic granules in bulk bags, drawn as the schematic blocks the shipped
    detector (cargo-anomaly-v1) was trained on; :func:`_big_bags` draws them as real bulk
    bags are, and takes these over when the detector is retrained."""
    material, density = {
        "rice": ("cotton", (0.75, 0.9)),
        "plastic_granules": ("polyethylene", (0.5, 0.6)),
    }[commodity]
    load = Load(commodity)
    x, end = space.x0 + 20, space.x0 + fill * space.length
    while x + 950 <= end:
        height = rng.uniform(900, min(1300, space.height - 50))
        scale = rng.uniform(*density)
        # A filled bag bulges: an ellipsoid-capped block, two bags across the width.
        body = canvas.box(x, space.z0, 950, height * 0.8, 2 * 95.0)
        cap = canvas.ellipsoid(x + 475, space.z0 + height * 0.8, 475, height * 0.2, 95.0)
        for fp in (body, cap):
            canvas.add(material, fp, scale=scale)
            load.mass_kg += canvas.mass_kg(material, fp, scale=scale)
        canvas.add("polyethylene", canvas.box(x + 100, space.z0 + height * 0.97, 40, 250, 2 * 0.5))
        load.units.append(Unit(x, space.z0, 950, height * 0.8, 190.0, material, scale))
        load.packages += 2
        x += 950 + rng.uniform(30, 150)
    load.end_x = x
    return load


def _machinery(
    canvas: Canvas, space: CargoSpace, rng: np.random.Generator, fill: float, commodity: str
) -> Load:
    load = Load(commodity)
    x, end = space.x0 + 50, space.x0 + fill * space.length
    while x + 1500 <= end:
        length = rng.uniform(1200, 2600)
        length = min(length, end - x)
        height = rng.uniform(700, min(1900, space.height - 100))
        # Wooden crate, a steel base frame, a cast-iron body and a motor (steel + copper).
        canvas.add("wood", canvas.box(x, space.z0, length, height, 2 * 2.2))
        canvas.add("wood", canvas.box(x, space.z0, length, 100, 120.0))
        base = canvas.box(x + 50, space.z0 + 100, length - 100, 120, 2 * 1.2)
        canvas.add("steel", base)
        body_l = length * rng.uniform(0.4, 0.7)
        body = canvas.box(
            x + 100, space.z0 + 220, body_l, height * rng.uniform(0.4, 0.7), rng.uniform(3, 10)
        )
        canvas.add("cast_iron", body)
        motor = canvas.disc(x + 150 + body_l + 250, space.z0 + 450, 220, rng.uniform(25, 45))
        canvas.add("steel", motor)
        canvas.add("copper", canvas.disc(x + 150 + body_l + 250, space.z0 + 450, 150, 12.0))
        load.mass_kg += (
            sum(
                canvas.mass_kg(m, fp)
                for m, fp in (("steel", base), ("cast_iron", body), ("steel", motor))
            )
            + 0.08 * length * height / 1e4
        )
        load.units.append(Unit(x, space.z0, length, height, 120.0, "wood", 0.1))
        load.packages += 1
        x += length + rng.uniform(100, 500)
    load.end_x = x
    return load


def _tyres(
    canvas: Canvas, space: CargoSpace, rng: np.random.Generator, fill: float, commodity: str
) -> Load:
    """Car tyres laced in leaning stacks, three stacks across the width (600-800 to a 40 ft
    box): dozens of tilted, overlapping elliptical rings in the image, each stack leaning its
    own way and ending at its own height."""
    load = Load(commodity)
    radius = rng.uniform(290, 340)
    width = rng.uniform(185, 255)
    rim = radius * 0.62
    across = max(int(space.depth_cm * 10 // (2 * radius)), 1)
    mass_each = 9.5 * (radius / 320) ** 2 * (width / 205)
    x, end = space.x0 + radius, space.x0 + fill * space.length
    lace = rng.uniform(0.6, 0.85)  # laced tyres sit inside each other's sidewalls
    while x + radius <= end:
        for stack in range(across):
            # Each stack stands at its own depth across the width, where the diverging beam
            # images it (the near stack magnified most).
            y_stack = _row_depth_mm(space, stack, across)
            with canvas.at_depths(y_stack, thickness_mm=2.0 * radius):
                xc = x + rng.uniform(-0.2, 0.2) * radius
                tilt = rng.uniform(0.25, 0.65) * rng.choice([-1, 1])
                lean = rng.normal(0.0, 0.1)  # the stack leans (radians from upright)
                step = width * np.cos(tilt) * lace
                top = space.z1 - rng.uniform(60, 500)
                z = space.z0 + radius * abs(np.sin(tilt)) + width / 2
                while z + radius * abs(np.sin(tilt)) + width / 2 <= top:
                    t = tilt + rng.normal(0.0, 0.05)
                    ring_lean = lean + rng.normal(0.0, 0.04)
                    canvas.add(
                        "tyre", canvas.tyre_ring(xc, z, radius, rim, width, t, 1.6, lean=ring_lean)
                    )
                    load.units.append(
                        Unit(
                            xc - radius,
                            z - step / 2,
                            2 * radius,
                            step,
                            width / 10,
                            "tyre",
                            1.0,
                            t,
                            ring_lean,
                            y_stack,
                        )
                    )
                    load.packages += 1
                    load.mass_kg += mass_each
                    z += step
                    xc -= step * np.tan(lean) + rng.normal(0.0, 6.0)
        x += 2 * radius * rng.uniform(0.92, 1.04)
    load.end_x = x
    return load


def _liquids(
    canvas: Canvas, space: CargoSpace, rng: np.random.Generator, fill: float, commodity: str
) -> Load:
    """Wine or water in cased bottles on pallets, or 200 l drums standing four across."""
    load = Load(commodity)
    x, end = space.x0 + 20, space.x0 + fill * space.length
    drums = commodity == "bottled_water" and rng.random() < 0.5
    while x + 1000 <= end:
        if drums:
            for tier in range(2 if space.height > 2000 else 1):
                z0 = space.z0 + tier * 900
                level = rng.uniform(0.85, 0.95)
                canvas.add("steel", canvas.cylinder_z(x + 290, z0, 880, 290))
                canvas.add("steel", canvas.cylinder_z(x + 290, z0, 880, 287), scale=-1.0)
                canvas.add("steel", canvas.box(x, z0, 580, 880, 4 * 0.25))
                fp = canvas.cylinder_z(x + 290, z0 + 10, 870 * level, 286)
                for _ in range(4):
                    canvas.add("water", fp)
                load.mass_kg += 4 * (canvas.mass_kg("water", fp) + 20.0)
                load.units.append(Unit(x, z0, 580, 880, 4 * 57.0, "water", 1.0))
                load.packages += 4
            x += 600 + rng.uniform(0, 60)
            continue
        top = _pallet(canvas, load, x, space.z0, 1200, space.depth_cm * 0.85)
        layers = int(rng.integers(3, 6))
        bottle_h, bottle_r = (300.0, 38.0) if commodity == "wine" else (320.0, 45.0)
        wall = "glass" if commodity == "wine" else "polyethylene"
        across = space.depth_cm * 0.85 / (2 * bottle_r / 10)
        for layer in range(layers):
            z0 = top + layer * (bottle_h + 20)
            if z0 + bottle_h > space.z1:
                break
            for bx in np.arange(x + bottle_r, x + 1200 - bottle_r, 2 * bottle_r + 2):
                body = canvas.cylinder_z(float(bx), z0, bottle_h * 0.7, bottle_r)
                canvas.add("water", body, scale=across * 0.78)
                canvas.add(wall, body, scale=across * (0.08 if wall == "glass" else 0.02))
                canvas.add(
                    wall,
                    canvas.cylinder_z(
                        float(bx), z0 + bottle_h * 0.7, bottle_h * 0.3, bottle_r * 0.35
                    ),
                    scale=across * 0.5,
                )
                load.mass_kg += canvas.mass_kg("water", body, scale=across * 0.78) * 1.5
            canvas.add("cardboard", canvas.box(x, z0 + bottle_h, 1200, 6, space.depth_cm * 0.85))
            load.packages += 4
        load.units.append(
            Unit(x, top, 1200, layers * (bottle_h + 20), space.depth_cm * 0.85, "water", 0.6)
        )
        x += 1200 + rng.uniform(20, 100)
    load.end_x = x
    return load


def _soft_goods(
    canvas: Canvas, space: CargoSpace, rng: np.random.Generator, fill: float, commodity: str
) -> Load:
    """Textiles in cartons, cigarettes in master cases."""
    load = Load(commodity)
    material, density, size = {
        "textiles": ("textiles", (0.15, 0.3), (600.0, 400.0)),
        "cigarettes": ("tobacco", (0.22, 0.28), (580.0, 350.0)),
    }[commodity]
    x, end = space.x0 + 10, space.x0 + fill * space.length
    stack_top = space.z1 - rng.uniform(50, 350)
    while x + size[0] <= end:
        z = space.z0
        column_scale = rng.uniform(*density)
        while z + size[1] <= stack_top:
            scale = column_scale * rng.uniform(0.93, 1.07)
            unit = Unit(x, z, size[0] - 4, size[1] - 4, space.depth_cm * 0.95, material, scale)
            _fill_unit(canvas, load, unit, rng=rng)
            z += size[1]
        x += size[0] + rng.uniform(0, 15)
    load.end_x = x
    return load


@dataclass(frozen=True)
class Packing:
    """How a commodity of the bulk trades travels in a container.

    Sizes are in mm: ``package_mm`` = (along the vehicle, height, across the beam) as the
    packages lie. ``fill`` is the range of a package's mean density as a share of the
    material's (carton fill, bag fullness). ``payload_kg`` is what one container takes of it
    before its weight limit; loads stop there even below the load line.
    """

    material: str
    package_mm: tuple[float, float, float]
    fill: tuple[float, float]
    payload_kg: float
    radius: float  # rounding of the outline, as a share of the package's height
    tare_kg: float  # carton or bag
    rows_across: int = 8  # rows across the width placed independently of each other
    shift_mm: float = 20.0  # how far a row's stack stands off its neighbours' along x
    headroom_mm: tuple[float, float] = (80.0, 300.0)  # clear space under the roof
    gap_mm: tuple[float, float] = (5.0, 40.0)  # between columns
    jitter_mm: float = 12.0
    tilt_sd: float = 0.015  # radians
    lean_sd: float = 0.012  # radians, whole columns
    sag: tuple[float, float] = (0.0, 0.0)  # share of the height
    nest: float = 1.0  # layer pitch as a share of the height (< 1: bags settle into each other)
    brick_share: float = 0.0  # loads stowed in a brick pattern (layers offset by half a bag)
    pallet_share: float = 0.0
    pallet_mm: float = 1200.0
    voids: int = 0  # air pockets per package (whole birds in a carton)
    turn: bool = False  # packages may lie with their long side across the width


def _cartons(
    material: str,
    size: tuple[float, float, float],
    fill: tuple[float, float],
    payload_kg: float,
    tare_kg: float,
    **kw: Any,
) -> Packing:
    """Cartons: square outlines with crushed edges, little jitter, a reefer's load line."""
    base: dict[str, Any] = dict(
        radius=0.08,
        jitter_mm=8.0,
        tilt_sd=0.012,
        sag=(-0.02, 0.05),
        nest=0.97,
        headroom_mm=(230.0, 420.0),
    )
    return Packing(material, size, fill, payload_kg, tare_kg=tare_kg, **(base | kw))


def _sacks(
    material: str,
    size: tuple[float, float, float],
    fill: tuple[float, float],
    payload_kg: float,
    tare_kg: float,
    **kw: Any,
) -> Packing:
    """Filled sacks: pillow outlines that sag over the two below and settle into them."""
    base: dict[str, Any] = dict(
        radius=0.3,
        rows_across=3,
        jitter_mm=25.0,
        tilt_sd=0.05,
        lean_sd=0.02,
        sag=(-0.08, 0.2),
        nest=0.86,
        brick_share=0.6,
    )
    return Packing(material, size, fill, payload_kg, tare_kg=tare_kg, **(base | kw))


#: The stowed bulk trades: frozen loads to the reefer's load line, bagged goods to the roof or
#: the weight limit. Frozen boxed beef 25-27 kg in a 0.034 m3 carton; whole birds 13-15 kg in
#: 0.03 m3; citrus 15-17 kg in a 0.034 m3 carton, about 60 cartons to a pallet; green coffee
#: in 60 kg jute bags (about 300 to a 20 ft box); groundnut kernels, sugar and soybean meal in
#: 50 kg woven polypropylene bags.
PACKINGS: dict[str, Packing] = {
    "frozen_beef": _cartons(
        "frozen_meat",
        (560.0, 160.0, 380.0),
        (0.66, 0.76),
        26500.0,
        0.8,
        gap_mm=(10.0, 50.0),
        pallet_share=0.3,
        turn=True,
    ),
    "frozen_poultry": _cartons(
        "frozen_meat",
        (550.0, 150.0, 360.0),
        (0.48, 0.58),
        26000.0,
        0.6,
        gap_mm=(10.0, 50.0),
        pallet_share=0.3,
        voids=3,
        turn=True,
    ),
    "citrus": _cartons(
        "fruit",
        (400.0, 280.0, 300.0),
        (0.5, 0.6),
        25000.0,
        1.0,
        gap_mm=(0.0, 6.0),
        pallet_share=1.0,
        headroom_mm=(230.0, 450.0),
    ),
    "coffee": _sacks(
        "coffee_beans", (620.0, 230.0, 760.0), (0.92, 1.0), 21500.0, 0.9, radius=0.22, nest=0.8
    ),
    "groundnuts": _sacks("groundnut_kernels", (580.0, 240.0, 750.0), (0.9, 1.0), 25000.0, 0.15),
    "sugar": _sacks(
        "sugar", (560.0, 180.0, 750.0), (0.94, 1.0), 26500.0, 0.15, radius=0.22, nest=0.8
    ),
    "soybean_meal": _sacks("soybean_meal", (600.0, 240.0, 760.0), (0.9, 1.0), 25000.0, 0.15),
}


def _pillow_area(length: float, height: float, radius: float) -> float:
    """Side area (mm²) of a full-depth box that holds what :meth:`Canvas.block` draws: the
    core, the four edge strips (quarter-cylinder profile, mean pi/4) and the corners (a
    half-ellipsoid of revolution over a disc of the radius, 2/3 of pi r²)."""
    r = min(radius, 0.5 * min(length, height))
    core = (length - 2 * r) * (height - 2 * r)
    return core + 2 * (length + height - 4 * r) * r * np.pi / 4 + 2 * np.pi * r**2 / 3


#: Share of a rounded package's depth that its recorded core box holds everywhere.
CORE_DEPTH = 0.6


def _core(
    xc: float, zc: float, size: tuple[float, float], radius: float, tilt: float, sag: float
) -> tuple[float, float, float, float]:
    """(x0, z0, length, height) of an upright box inside which a package drawn by
    :meth:`Canvas.block` has at least :data:`CORE_DEPTH` of its depth; zero size if none.

    Inside the rounded margin the chord is ``sqrt(t (2r - t)) / r`` of the depth at ``t``
    from the edge; a box kept 0.44 r inside the straight edges stays 0.8 r from the centres
    of the corner arcs (0.56 r sqrt 2), where the chord is 0.6 of the depth.
    """
    length, height = size
    slant = 0.5 * max(length, height) * abs(np.sin(tilt))
    margin = 0.44 * radius
    half_l = 0.5 * length - margin - slant
    half_h = 0.5 * (height - abs(sag)) - margin - slant
    if half_l <= 0 or half_h <= 0:
        return xc, zc, 0.0, 0.0
    return xc - half_l, zc - 0.5 * sag - half_h, 2 * half_l, 2 * half_h


def _package(
    canvas: Canvas,
    load: Load,
    material: str,
    centre: tuple[float, float],
    size: tuple[float, float],
    depth_cm: float,
    scale: float,
    *,
    radius: float,
    tilt: float = 0.0,
    sag: float = 0.0,
) -> Unit:
    """Draw one package (or a row of them side by side across the width) and record it."""
    (xc, zc), (length, height) = centre, size
    fp = canvas.block(xc, zc, length, height, depth_cm, radius=radius, tilt=tilt, sag=sag)
    canvas.add(material, fp, scale=scale)
    load.mass_kg += canvas.mass_kg(material, fp, scale=scale)
    core = _core(xc, zc, size, min(radius, 0.5 * min(size)), tilt, sag)
    unit = Unit(*core, CORE_DEPTH * depth_cm, material, scale, tilt)
    load.units.append(unit)
    return unit


def _stowed(
    canvas: Canvas, space: CargoSpace, rng: np.random.Generator, fill: float, commodity: str
) -> Load:
    """Cartons or bags stowed in columns along the load space, as :data:`PACKINGS` says."""
    if commodity == "sugar" and rng.random() < 0.35:
        return _big_bags(canvas, space, rng, fill, commodity)  # or 1 t big bags
    p = PACKINGS[commodity]
    load = Load(commodity)
    length, height, across = (d * rng.uniform(0.97, 1.03) for d in p.package_mm)
    if p.turn and rng.random() < 0.5:
        length, across = across, length
    density = canvas.density(p.material)
    fill_mean = rng.uniform(*p.fill)
    per_row = max(int(space.depth_cm * 10 // across), 1)  # packages across the width
    rows = min(p.rows_across, per_row)
    row_cm = per_row * across / rows / 10.0  # chord of one row of packages side by side
    radius = p.radius * height
    package_kg = _pillow_area(length, height, radius) * across * 1e-6 * density * fill_mean
    palletised = rng.random() < p.pallet_share
    base = space.z0 + (144.0 if palletised else 0.0)
    top = space.z1 - rng.uniform(*p.headroom_mm)
    pitch = height * p.nest
    fit = max(int((top - base - height) // pitch) + 1, 1)
    # Columns along the load space, grouped on pallets when palletised.
    end = space.x0 + fill * space.length
    columns: list[float] = []
    pallets: list[float] = []
    x = space.x0 + rng.uniform(5, 40)
    per_pallet = max(int(p.pallet_mm // length), 1)
    while x + (per_pallet * length if palletised else length) <= end:
        if palletised:
            pallets.append(x)
            columns.extend(x + k * length for k in range(per_pallet))
            x += per_pallet * length + rng.uniform(20.0, 150.0)
        else:
            columns.append(x)
            x += length + rng.uniform(*p.gap_mm)
    if not columns:
        load.end_x = x
        return load
    # The weight limit stops a dense load below the load line.
    layers = int(min(fit, p.payload_kg * fill / (len(columns) * per_row * package_kg)))
    layers = max(layers, 1)
    for px in pallets:
        _pallet(canvas, load, px, space.z0, per_pallet * length, space.depth_cm * 0.9)
    brick = rng.random() < p.brick_share
    # Ragged tops: hand-stowed columns end a layer short here and there; pallets are built
    # to one height each.
    short = rng.integers(0, 2, size=len(pallets) or len(columns)) * (layers > 2)
    for row in range(rows):
        # Each row lies at its own depth across the width, where a diverging beam magnifies
        # it: near rows more than far ones, so a load's top fades over the roof band as in
        # real portal exports instead of ending in one line at the centre plane's height.
        y_row = _row_depth_mm(space, row, rows)
        with canvas.at_depths(y_row, thickness_mm=row_cm * 10.0):
            for i, cx in enumerate(columns):
                lean = rng.normal(0.0, p.lean_sd)
                n = layers - int(short[i // per_pallet if palletised else i])
                # Each stack of each row settles its own way (packages squashed or bulging by a
                # few %, the stack set off from its neighbours across the width), so the seams of
                # the rows the beam crosses one after another do not line up.
                squash = rng.uniform(0.97, 1.02)
                shift = rng.normal(0.0, p.shift_mm)
                if base + (n - 1) * pitch * squash + height > top + 0.5 * height:
                    n -= 1
                for k in range(n):
                    xc = cx + shift + 0.5 * length + rng.normal(0.0, p.jitter_mm)
                    size = (length, height)
                    if brick and k % 2:
                        xc += 0.5 * length
                        if xc + 0.5 * length > end:
                            continue
                        if i == 0 and len(columns) > 1:
                            # The course starts at the wall with bags turned across, filling
                            # the space up to the next bag.
                            span = columns[1] - cx + 0.5 * length
                            xc += 0.5 * span - length
                            size = (span, height)
                    zc = (
                        base
                        + k * pitch * squash
                        + 0.5 * height
                        + rng.normal(0.0, 0.2 * p.jitter_mm)
                    )
                    xc += (zc - base) * np.tan(lean)
                    topmost = k == n - 1
                    tilt = 0.5 * lean + rng.normal(0.0, p.tilt_sd * (3.0 if topmost else 1.0))
                    unit = _package(
                        canvas,
                        load,
                        p.material,
                        (xc, zc),
                        size,
                        row_cm * rng.uniform(0.9, 1.0),
                        fill_mean * rng.lognormal(0.0, 0.06),
                        radius=radius,
                        tilt=tilt,
                        sag=height * rng.uniform(*p.sag),
                    )
                    unit.y_mm = y_row
                    for j in range(p.voids):
                        # Air between whole birds: flattened pockets inside the carton, one in
                        # each part of it so that they never overlap.
                        canvas.add(
                            p.material,
                            canvas.ellipsoid(
                                unit.x0 + (j + rng.uniform(0.4, 0.6)) / p.voids * unit.length,
                                unit.z0 + rng.uniform(0.3, 0.7) * unit.height,
                                rng.uniform(0.2, 0.4) / p.voids * unit.length,
                                rng.uniform(0.15, 0.3) * height,
                                0.125 * unit.depth_cm,
                            ),
                            scale=-unit.scale,
                        )
                    if p.voids:
                        unit.depth_cm *= 0.75  # what the pockets leave of its goods everywhere
                    load.packages += per_row // rows + (row < per_row % rows)
    load.mass_kg += load.packages * p.tare_kg
    load.end_x = max(columns) + length * (1.5 if brick else 1.0)
    return load


def _bales(
    canvas: Canvas, space: CargoSpace, rng: np.random.Generator, fill: float, commodity: str
) -> Load:
    """Cotton in pressed bales (universal density bale, 1.40 x 0.53 x 0.84 m, about 225 kg:
    0.37-0.44 g/cm³ in the rounded shape): a tier standing on end, four across, and on top
    the tiers on edge or lying flat that fill the roof space best. Bales bulge between their
    steel ties; columns stand a hand apart."""
    load = Load(commodity)
    long_mm, wide_mm, thick_mm = (d * rng.uniform(0.97, 1.03) for d in (1400.0, 530.0, 840.0))
    per_row = max(int(space.depth_cm * 10 // wide_mm), 1)
    x, end = space.x0 + rng.uniform(5, 30), space.x0 + fill * space.length
    top = space.z1 - rng.uniform(40, 250)
    press = rng.uniform(0.82, 0.98)  # this gin's bales (they swell once out of the press)
    while x + thick_mm <= end:
        lean = rng.normal(0.0, 0.012)
        # (height, bales across, width each takes across the beam). Cotton fills a box
        # before it reaches the payload limit, so the tiers on top take as much of the roof
        # space as they can: bales on edge (0.84 m high) or lying flat (0.53 m), one or two
        # tiers, each one lengthwise and one crosswise across the width (the crosswise one
        # reaching into the next column, the bales' bulges filling the rest).
        tiers = [(long_mm, per_row, wide_mm)]
        room = (top - space.z0 - long_mm) / 0.95  # bales squeeze a little
        options = [(), (wide_mm,), (thick_mm,), (wide_mm, wide_mm), (thick_mm, wide_mm)]
        for height in max((o for o in options if sum(o) <= room), key=sum):
            tiers.append((height, 2, min(0.5 * (long_mm + thick_mm), space.depth_cm * 4.8)))
        z = space.z0
        for height, across, width in tiers:
            for half in range(across):
                # Each bale across the width is set down on its own, at its own depth in the
                # diverging beam and a few cm off its neighbours along the box, so the gaps
                # between columns rarely line up all the way across.
                depth_cm = width / 10 * rng.uniform(0.93, 1.0)
                y_half = _row_depth_mm(space, half, across)
                xc = x + 0.5 * thick_mm + rng.normal(0.0, 25.0) + (z - space.z0) * np.tan(lean)
                zc = z + 0.5 * height + rng.normal(0.0, 8.0)
                with canvas.at_depths(y_half, thickness_mm=depth_cm * 10.0):
                    bale = _package(
                        canvas,
                        load,
                        "cotton",
                        (xc, zc),
                        (thick_mm, height),
                        depth_cm,
                        press * rng.lognormal(0.0, 0.04),
                        radius=rng.uniform(0.14, 0.2) * thick_mm,
                        tilt=0.5 * lean + rng.normal(0.0, 0.01),
                        sag=rng.uniform(-0.03, 0.02) * height,
                    )
                bale.y_mm = y_half
            # Steel ties around each bale, seen where they cross the beam over the top.
            for tx in np.linspace(x + 80, x + thick_mm - 100, 6 if height > thick_mm else 3):
                canvas.add("steel", canvas.box(float(tx), z + height - 12, 20, 2, space.depth_cm))
            load.packages += across
            z += height - rng.uniform(30, 70)  # the rounded edges of tiers press together
        x += thick_mm + rng.uniform(15, 60)
    load.mass_kg += load.packages * 1.5  # ties and wrapping
    load.end_x = x
    return load


def _mixed(
    canvas: Canvas, space: CargoSpace, rng: np.random.Generator, fill: float, commodity: str
) -> Load:
    """Groupage: one to three kinds of goods one after another along the load space."""
    # As many kinds as fit: each needs room for a couple of pallets or crates.
    n_kinds = int(np.clip(fill * space.length // 2600, 1, 3))
    choices = ["paper_goods", "textiles", "furniture", "wine", "machinery"]
    kinds = [str(k) for k in rng.choice(choices, n_kinds, replace=False)]
    total = Load("mixed")
    start = space.x0
    for i, kind in enumerate(kinds):
        end = space.x0 + (i + 1) * fill / len(kinds) * space.length
        sub = CargoSpace(start, end, space.z0, space.z1, space.depth_cm)
        part = GENERATORS[_KIND_OF[kind]](canvas, sub, rng, 1.0, kind)
        if part.packages:
            total.packages += part.packages
            total.mass_kg += part.mass_kg
            total.units.extend(part.units)
            total.parts.append(part)
        start = max(part.end_x, sub.x1) + 50
    total.end_x = start
    total.commodity = "+".join(p.commodity for p in total.parts)
    return total


Generator = Callable[[Canvas, CargoSpace, np.random.Generator, float, str], Load]
GENERATORS: dict[str, Generator] = {
    "palletised": _palletised,
    "bulk_bags": _bulk_bags,
    "machinery": _machinery,
    "tyres": _tyres,
    "liquids": _liquids,
    "soft_goods": _soft_goods,
    "stowed": _stowed,
    "bales": _bales,
    "mixed": _mixed,
}
#: Commodity -> the generator that loads it.
_KIND_OF = {
    "paper_goods": "palletised",
    "furniture": "palletised",
    "ceramic_tiles": "palletised",
    "rice": "bulk_bags",
    "plastic_granules": "bulk_bags",
    "machinery": "machinery",
    "tyres": "tyres",
    "wine": "liquids",
    "bottled_water": "liquids",
    "textiles": "soft_goods",
    "cotton": "bales",
    "cigarettes": "soft_goods",
    **dict.fromkeys(PACKINGS, "stowed"),
}
#: Cargo types a scene spec may ask for: each commodity, "mixed" groupage, or "empty".
CARGO_TYPES = (*_KIND_OF, "mixed", "empty")


def load_cargo(
    canvas: Canvas, space: CargoSpace, cargo_type: str, *, fill: float, rng: np.random.Generator
) -> Load | None:
    """Fill ``space`` with ``cargo_type`` up to ``fill`` of its length; ``None`` if empty."""
    if cargo_type == "empty" or fill <= 0:
        return None
    if cargo_type == "mixed":
        load = _mixed(canvas, space, rng, fill, "mixed")
    else:
        load = GENERATORS[_KIND_OF[cargo_type]](canvas, space, rng, fill, cargo_type)
    return load if load.packages else None


def texture_goods(
    canvas: Canvas,
    before: np.ndarray,
    goods: np.ndarray,
    rng: np.random.Generator,
    *,
    rel_std: float = 0.03,
    grain_mm: float = 8.0,
) -> None:
    """Give a load the texture of real goods, in place.

    Goods are not uniform at the scale of a few millimetres: beans, crystals, nuts, fruit,
    meat, fibre and the voids between them. A ray through a metre or two of them crosses a
    different mix than its neighbour, so the areal density fluctuates by a few per cent from
    pixel to pixel, correlated over about a grain (``grain_mm``): the texture real exports
    show inside dense loads. ``goods`` is what the load added to ``canvas.basis`` (``before``
    is the basis without it); the goods still there (a concealment may have hollowed some
    out since) are multiplied by ``1 + rel_std * field``, a zero-mean, unit-variance Gaussian
    field, so the mass is kept on average.
    """
    if rel_std <= 0 or not np.any(goods[0] > 0):
        return
    field = grain_field(goods.shape[1:], grain_mm / canvas.pitch_mm, rng)
    with np.errstate(divide="ignore", invalid="ignore"):
        still = np.where(goods[0] > 0, (canvas.basis[0] - before[0]) / goods[0], 0.0)
    share = np.clip(np.nan_to_num(still), 0.0, 1.0).astype(np.float32)
    canvas.basis += goods * (np.float32(rel_std) * field * share)[None]


def grain_field(shape: tuple[int, ...], grain_px: float, rng: np.random.Generator) -> np.ndarray:
    """A zero-mean, unit-variance Gaussian field (row, col), float32, correlated over
    ``grain_px`` pixels (at least 0.3): the relative fluctuation of goods' areal density."""
    import cv2

    sigma = max(grain_px, 0.3)
    noise = rng.standard_normal(shape).astype(np.float32)
    # A Gaussian-smoothed white field's variance falls as 1 / (4 pi sigma^2).
    return np.asarray(
        cv2.GaussianBlur(noise, (0, 0), sigma, borderType=cv2.BORDER_REFLECT), np.float32
    ) * np.float32(2.0 * np.sqrt(np.pi) * sigma)
