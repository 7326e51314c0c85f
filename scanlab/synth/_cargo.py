"""Cargo loads: palletised cartons, bulk bags, machinery, tyres, bottles and drums, textiles,
master cases of cigarettes and mixed loads, with fill ratio and density variation."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from scanlab.synth._canvas import Canvas
from scanlab.synth._vehicles import CargoSpace

__all__ = ["CARGO_TYPES", "Load", "Unit", "load_cargo"]


@dataclass
class Unit:
    """One package or block of a load, which a concealment may hollow out or stand behind.

    ``material`` fills the box (x0, z0, length, height) to ``depth_cm`` at ``scale`` times the
    material's density (packing fraction).
    """

    x0: float
    z0: float
    length: float
    height: float
    depth_cm: float
    material: str
    scale: float
    tilt: float = 0.0


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


def _bulk_bags(
    canvas: Canvas, space: CargoSpace, rng: np.random.Generator, fill: float, commodity: str
) -> Load:
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
    """Car tyres in tilted stacks, three or four stacks across the width, as real tyre loads
    are packed: overlapping elliptical rings in the image."""
    load = Load(commodity)
    radius = rng.uniform(290, 340)
    width = rng.uniform(185, 255)
    rim = radius * 0.62
    across = max(int(space.depth_cm * 10 // (2 * radius)), 1)
    mass_each = 8.5 * (radius / 320) ** 2
    x, end = space.x0 + radius, space.x0 + fill * space.length
    top = space.z1 - rng.uniform(100, 500)
    while x + radius <= end:
        for _ in range(across):
            xc = x + rng.uniform(-0.15, 0.15) * radius
            tilt = rng.uniform(0.2, 0.6) * rng.choice([-1, 1])
            step = width * np.cos(tilt) * rng.uniform(0.9, 1.0)
            z = space.z0 + radius * abs(np.sin(tilt)) + width / 2
            while z + radius * abs(np.sin(tilt)) + width / 2 <= top:
                canvas.add("tyre", canvas.tyre_ring(xc, z, radius, rim, width, tilt, 1.6))
                load.units.append(
                    Unit(xc - radius, z - step / 2, 2 * radius, step, width / 10, "tyre", 1.0, tilt)
                )
                load.packages += 1
                load.mass_kg += mass_each
                z += step
                xc += rng.uniform(-8, 8) + np.sin(tilt) * 12
        x += 2 * radius * rng.uniform(0.95, 1.05)
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
    """Textiles in cartons, cotton in pressed bales, cigarettes in master cases."""
    load = Load(commodity)
    material, density, size = {
        "textiles": ("textiles", (0.15, 0.3), (600.0, 400.0)),
        "cotton": ("cotton", (0.35, 0.5), (1400.0, 700.0)),
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
            _fill_unit(
                canvas, load, unit, shell=None if commodity == "cotton" else "cardboard", rng=rng
            )
            if commodity == "cotton":
                # Pressed bales are held by steel ties around them, seen across the width.
                for tx in np.linspace(x + 100, x + size[0] - 120, 6):
                    canvas.add("steel", canvas.box(float(tx), z, 20, size[1] - 4, 0.1))
                    canvas.add("steel", canvas.box(float(tx), z, 20, 1, space.depth_cm))
            z += size[1]
        x += size[0] + rng.uniform(0, 15)
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
    "cotton": "soft_goods",
    "cigarettes": "soft_goods",
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
