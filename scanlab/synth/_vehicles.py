"""Vehicles seen side-on: ISO containers on a skeletal chassis behind a tractor, curtain-side
trailers and box trucks, built from their steel, rubber, wood and glass parts.

Dimensions follow ISO 668 / ISO 1496-1 for containers (20 ft: 6,058 mm long, 40 ft: 12,192 mm,
2,591 mm high, 2,438 mm wide outside, 2,352 mm inside) and typical European tractors and
trailers. The beam crosses the vehicle's width, so a part that runs across the vehicle (floor,
cross-members, roof, end walls, axles) is seen along its whole length and appears dark, while
side walls are crossed through their thickness and stay light: the look of real scans.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from scanlab.synth._canvas import Canvas

__all__ = ["VEHICLE_TYPES", "CargoSpace", "VehicleLayout", "draw_vehicle", "vehicle_extent_mm"]

VEHICLE_TYPES = ("container_20ft", "container_40ft", "curtain_side", "box_truck")

INNER_WIDTH_CM = 235.2
DECK_MM = 1230.0  # top of a skeletal chassis above the road (container floor underside)


@dataclass(frozen=True)
class CargoSpace:
    """The load space in scene coordinates (mm): x0..x1 along, z0 (floor top)..z1 (ceiling)."""

    x0: float
    x1: float
    z0: float
    z1: float
    depth_cm: float

    @property
    def length(self) -> float:
        return self.x1 - self.x0

    @property
    def height(self) -> float:
        return self.z1 - self.z0


@dataclass(frozen=True)
class VehicleLayout:
    """Where a drawn vehicle's parts are, for the cargo and concealment generators.

    ``body_mm`` is the load body's outer box in scene coordinates (mm): (x front, x rear,
    z of the floor's underside, z of the roof), the box a scanner's software crops to.
    """

    vehicle_type: str
    cargo: CargoSpace
    front_wall_x: float
    floor_z: float
    spare_wheel_xz: tuple[float, float] | None
    wheel_centres_x: tuple[float, ...]
    tare_kg: float
    body_mm: tuple[float, float, float, float]


def vehicle_extent_mm(vehicle_type: str) -> tuple[float, float]:
    """(length, height) of the scene window for a vehicle, tractor rear included."""
    return {
        "container_20ft": (9400.0, 4600.0),
        "container_40ft": (15300.0, 4600.0),
        "curtain_side": (16000.0, 4600.0),
        "box_truck": (10500.0, 4600.0),
    }[vehicle_type]


def draw_vehicle(canvas: Canvas, vehicle_type: str, rng: np.random.Generator) -> VehicleLayout:
    """Draw a vehicle into ``canvas``; its front faces x = 0 (the scan's left edge)."""
    if vehicle_type in ("container_20ft", "container_40ft"):
        return _container_on_chassis(canvas, vehicle_type, rng)
    if vehicle_type == "curtain_side":
        return _curtain_side(canvas, rng)
    if vehicle_type == "box_truck":
        return _box_truck(canvas, rng)
    raise ValueError(vehicle_type)


# --- parts -------------------------------------------------------------------------------


def _wheel(canvas: Canvas, xc: float, tyres: int, *, radius: float = 510.0) -> None:
    """Tyres seen along the axle: sidewalls, a dark tread band, steel rims, hub and axle."""
    zc = radius
    rim_r = 0.57 * radius
    width_cm = 31.5
    # Sidewalls: two 15 mm rubber walls per tyre; tread and steel belts: the full width.
    canvas.add("rubber", canvas.disc(xc, zc, radius - 30, 3.0 * tyres, inner_radius=rim_r))
    canvas.add("tyre", canvas.disc(xc, zc, radius, width_cm * tyres, inner_radius=radius - 30))
    canvas.add("tyre", canvas.disc(xc, zc, rim_r + 25, 4.0 * tyres, inner_radius=rim_r))  # beads
    canvas.add(
        "steel", canvas.disc(xc, zc, rim_r, 22.0 * tyres, inner_radius=rim_r - 8)
    )  # rim barrel
    canvas.add("steel", canvas.disc(xc, zc, rim_r - 8, 1.4 * tyres))  # wheel discs
    canvas.add("cast_iron", canvas.disc(xc, zc, 0.42 * radius, 26.0, inner_radius=0.36 * radius))
    canvas.add("steel", canvas.disc(xc, zc, 0.13 * radius, 10.0))  # hubs
    canvas.add("steel", canvas.disc(xc, zc, 64.0, 230.0, inner_radius=52.0))  # axle tube


def _i_beam_rail(
    canvas: Canvas, x0: float, x1: float, z_top: float, height: float, rails: int = 2
) -> None:
    """Longitudinal I-beams: webs crossed through their thickness, flanges across their width."""
    canvas.add("steel", canvas.box(x0, z_top - height, x1 - x0, height, 0.6 * rails))
    canvas.add("steel", canvas.box(x0, z_top - 14, x1 - x0, 14, 15.0 * rails))
    canvas.add("steel", canvas.box(x0, z_top - height, x1 - x0, 14, 15.0 * rails))


def _corrugated_wall(
    canvas: Canvas, x0: float, x1: float, z0: float, z1: float, sheet_mm: float, pitch: float
) -> None:
    """Two side walls of trapezoidal corrugated sheet, crossed perpendicular to their plane.

    Flat segments are crossed through the sheet thickness; the inclined segments (about 60
    degrees) twice as long: the faint vertical stripes of real container scans.
    """
    walls_cm = 2 * sheet_mm / 10.0
    canvas.add("steel", canvas.box(x0, z0, x1 - x0, z1 - z0, walls_cm))
    x = x0 + pitch / 4
    while x < x1 - 20:
        for offset in (0.0, pitch / 2):
            if x + offset + 20 < x1:
                canvas.add("steel", canvas.box(x + offset, z0, 20.0, z1 - z0, walls_cm))
        x += pitch


def _tractor_rear(canvas: Canvas, x_rear: float, rng: np.random.Generator) -> float:
    """The back of a tractor unit ending at ``x_rear``: what portal scanners show of it (the
    cab itself is usually outside the scanned window or not irradiated).

    Drive axle with twin tyres, chassis rails, fifth-wheel coupling, a fuel tank part full of
    diesel, air tanks and the back of the cab at the image edge. Returns the kingpin x.
    """
    axle_x = x_rear - 900.0
    _wheel(canvas, axle_x, tyres=4)
    _i_beam_rail(canvas, 0.0, x_rear, 1050.0, 280.0)
    canvas.add("steel", canvas.box(axle_x - 450, 1050, 900, 60, 60.0))  # fifth-wheel plate
    canvas.add("cast_iron", canvas.box(axle_x - 250, 1110, 500, 50, 30.0))
    canvas.add("cast_iron", canvas.disc(axle_x, 510, 140, 60.0))  # differential
    # Fuel tank (aluminium, rounded ends) ahead of the axle, part full of diesel.
    tank_x, tank_z, tank_h = 80.0, 480.0, 620.0
    fill = rng.uniform(0.3, 0.95)
    canvas.add("aluminium", canvas.box(tank_x, tank_z, 1150, tank_h, 2 * 0.3))
    canvas.add("aluminium", canvas.box(tank_x, tank_z, 1150, 4, 60.0))
    canvas.add("aluminium", canvas.box(tank_x, tank_z + tank_h - 4, 1150, 4, 60.0))
    canvas.add("diesel", canvas.box(tank_x + 5, tank_z + 4, 1140, (tank_h - 8) * fill, 58.0))
    for ax in (1350.0, 1650.0):  # air tanks lying across the chassis
        canvas.add("steel", canvas.disc(ax, 780, 130, 70.0, inner_radius=126))
    canvas.add("steel", canvas.box(0, 1300, 40, 1500, 50.0))  # back wall of the cab
    return axle_x


def _container(
    canvas: Canvas, x_front: float, length: float, z_floor_under: float, rng: np.random.Generator
) -> CargoSpace:
    """An ISO box container: walls, roof, floor, cross-members, rails, posts and doors."""
    height = 2591.0
    x_rear = x_front + length
    z_top = z_floor_under + height
    bottom_rail = 160.0
    z_floor_top = z_floor_under + bottom_rail
    # Side walls, light, with corrugation stripes (278 mm pitch for 20 ft/40 ft side panels).
    _corrugated_wall(canvas, x_front + 110, x_rear - 110, z_floor_top, z_top - 60, 1.6, 278.0)
    # Roof sheet (2 mm, crossed across the whole width) and top side rails.
    canvas.add("steel", canvas.box(x_front, z_top - 22, length, 2.0, INNER_WIDTH_CM))
    canvas.add("steel", canvas.box(x_front, z_top - 60, length, 60, 2 * 0.6))
    canvas.add("steel", canvas.box(x_front, z_top - 60, length, 3, 2 * 6.0))
    canvas.add("steel", canvas.box(x_front, z_top - 3, length, 3, 2 * 6.0))
    # Floor: 28 mm plywood across the width, on cross-members every ~300 mm.
    canvas.add(
        "plywood", canvas.box(x_front + 110, z_floor_top - 28, length - 220, 28, INNER_WIDTH_CM)
    )
    x = x_front + 200.0
    while x < x_rear - 200:
        canvas.add("steel", canvas.box(x, z_floor_top - 150, 4.5, 122, INNER_WIDTH_CM))
        canvas.add("steel", canvas.box(x - 20, z_floor_top - 32, 45, 4.5, INNER_WIDTH_CM))
        canvas.add("steel", canvas.box(x - 20, z_floor_top - 150, 45, 4.5, INNER_WIDTH_CM))
        x += rng.uniform(290.0, 320.0)
    # Bottom side rails (C-channels along the length).
    canvas.add("steel", canvas.box(x_front, z_floor_under, length, bottom_rail, 2 * 0.45))
    canvas.add("steel", canvas.box(x_front, z_floor_under, length, 4.5, 2 * 4.8))
    canvas.add("steel", canvas.box(x_front, z_floor_under + bottom_rail - 4.5, length, 4.5, 9.6))
    # Corner posts (hollow steel profiles, two at each end) and corner castings.
    for post_x in (x_front, x_rear - 150):
        canvas.add("steel", canvas.box(post_x, z_floor_under, 150, height, 2 * 1.2))
        canvas.add("steel", canvas.box(post_x, z_floor_under, 6, height, 2 * 11.0))
        canvas.add("steel", canvas.box(post_x + 144, z_floor_under, 6, height, 2 * 11.0))
        for z in (z_floor_under, z_top - 118):
            canvas.add(
                "steel",
                canvas.box(post_x - 10 if post_x == x_front else post_x, z, 178, 118, 2 * 4.0),
            )
    # Front end wall: corrugated 2 mm sheet spanning the width, 45 mm deep corrugation.
    fw = x_front + 150
    canvas.add("steel", canvas.box(fw, z_floor_top, 2.0, height - 220, INNER_WIDTH_CM / 2))
    canvas.add("steel", canvas.box(fw + 43, z_floor_top, 2.0, height - 220, INNER_WIDTH_CM / 2))
    canvas.add("steel", canvas.box(fw + 2, z_floor_top, 41, height - 220, 12.0))
    # Rear doors: corrugated leaves, door frame, four locking bars.
    door_x = x_rear - 150
    canvas.add("steel", canvas.box(door_x - 30, z_floor_top, 2.0, height - 220, INNER_WIDTH_CM / 2))
    canvas.add("steel", canvas.box(door_x - 8, z_floor_top, 2.0, height - 220, INNER_WIDTH_CM / 2))
    canvas.add("steel", canvas.box(door_x - 28, z_floor_top, 20, height - 220, 10.0))
    canvas.add("steel", canvas.box(door_x - 150, z_top - 180, 300, 120, 2 * 6.0))  # header
    canvas.add("steel", canvas.box(door_x - 150, z_floor_under, 300, 160, 2 * 8.0))  # sill
    for _ in range(4):
        canvas.add("steel", canvas.cylinder_z(x_rear + 15, z_floor_under + 60, height - 120, 13.5))
    return CargoSpace(fw + 47, door_x - 35, z_floor_top, z_top - 65, INNER_WIDTH_CM)


def _skeletal_chassis(canvas: Canvas, x0: float, x1: float, axles: int) -> tuple[float, ...]:
    """A container chassis: gooseneck main rails, cross bars, landing legs, axles at the rear."""
    length = x1 - x0
    gooseneck = min(3000.0, 0.3 * length)
    _i_beam_rail(canvas, x0, x0 + gooseneck, DECK_MM, 160)
    _i_beam_rail(canvas, x0 + gooseneck + 400, x1, DECK_MM, 420)
    # The step down from gooseneck to main beam, drawn as a sloped web.
    canvas.add(
        "steel",
        canvas.polygon(
            np.array(
                [
                    [x0 + gooseneck, DECK_MM],
                    [x0 + gooseneck + 400, DECK_MM],
                    [x0 + gooseneck + 400, DECK_MM - 420],
                    [x0 + gooseneck, DECK_MM - 160],
                ]
            ),
            1.6,
        ),
    )
    x = x0 + 500.0
    while x < x1 - 300:
        canvas.add("steel", canvas.box(x, DECK_MM - 200, 10, 180, 180.0))
        x += 1500.0
    legs_x = x0 + gooseneck + 900
    canvas.add("steel", canvas.box(legs_x, 250, 90, DECK_MM - 600, 2 * 1.0))
    canvas.add("steel", canvas.box(legs_x, 250, 90, 20, 2 * 20.0))
    centres = tuple(x1 - 900.0 - 1310.0 * i for i in range(axles))
    for xc in centres:
        _wheel(canvas, xc, tyres=2 if axles == 3 else 4)
        canvas.add("steel", canvas.box(xc - 700, 650, 1400, 80, 2 * 8.0))  # leaf springs
    return centres


def _container_on_chassis(
    canvas: Canvas, vehicle_type: str, rng: np.random.Generator
) -> VehicleLayout:
    length = 6058.0 if vehicle_type == "container_20ft" else 12192.0
    tractor_gap = rng.uniform(500.0, 900.0)
    tractor_rear = 2600.0
    kingpin_x = _tractor_rear(canvas, tractor_rear, rng)
    x_front = max(kingpin_x - 800.0, tractor_rear - 1200.0) + tractor_gap
    axles = 1 if length < 7000 else 3
    centres = _skeletal_chassis(canvas, x_front - 200, x_front + length, axles)
    cargo = _container(canvas, x_front, length, DECK_MM, rng)
    # A spare wheel hung under the chassis behind the landing legs.
    spare = (x_front + 0.45 * length, 700.0)
    _spare_wheel(canvas, *spare)
    tare = 2200.0 if length < 7000 else 3750.0
    body = (x_front, x_front + length, DECK_MM, DECK_MM + 2591.0)
    return VehicleLayout(vehicle_type, cargo, x_front + 150, cargo.z0, spare, centres, tare, body)


def _spare_wheel(canvas: Canvas, xc: float, zc: float) -> None:
    """A spare wheel lying flat in its carrier: a flat band seen edge-on."""
    canvas.add("tyre", canvas.box(xc - 510, zc - 160, 1020, 320, 8.0))
    canvas.add("tyre", canvas.box(xc - 510, zc - 160, 60, 320, 80.0))
    canvas.add("tyre", canvas.box(xc + 450, zc - 160, 60, 320, 80.0))
    canvas.add("steel", canvas.box(xc - 290, zc - 120, 580, 240, 3.0))
    canvas.add("steel", canvas.box(xc - 600, zc - 200, 1200, 30, 2 * 6.0))  # carrier


def _curtain_side(canvas: Canvas, rng: np.random.Generator) -> VehicleLayout:
    """A 13.6 m curtain-side semi-trailer: flat bed, aluminium stakes, PVC curtains, roof."""
    tractor_rear = 2600.0
    kingpin_x = _tractor_rear(canvas, tractor_rear, rng)
    x_front = kingpin_x - 600.0
    length = 13600.0
    x_rear = x_front + length
    centres = _skeletal_chassis(canvas, x_front, x_rear, 3)
    bed_top = DECK_MM + 120
    canvas.add("plywood", canvas.box(x_front, DECK_MM, length, 30, 245.0))  # deck planks
    canvas.add("steel", canvas.box(x_front, DECK_MM - 150, length, 150, 2 * 0.8))  # outer rails
    z_top = bed_top + 2700
    canvas.add("polyethylene", canvas.box(x_front, bed_top, length, 2700, 2 * 0.12))  # curtains
    canvas.add("aluminium", canvas.box(x_front, z_top - 50, length, 50, 2 * 0.4))  # roof rails
    canvas.add("polyethylene", canvas.box(x_front, z_top - 4, length, 2.0, 245.0))  # roof sheet
    for x in np.linspace(x_front + 1100, x_rear - 1100, 6):
        canvas.add("aluminium", canvas.box(float(x), bed_top, 80, 2700, 2 * 0.6))  # stakes
    canvas.add("steel", canvas.box(x_front, bed_top, 60, 2700, 2 * 12.0))  # headboard posts
    canvas.add("steel", canvas.box(x_front + 60, bed_top, 3, 2700, 245.0))  # headboard
    canvas.add("steel", canvas.box(x_rear - 60, bed_top, 60, 2700, 2 * 12.0))  # rear frame
    canvas.add("steel", canvas.box(x_rear - 60, bed_top, 3, 2700, 120.0))  # rear doors
    cargo = CargoSpace(x_front + 70, x_rear - 70, bed_top, z_top - 60, 245.0)
    spare = (x_front + 0.4 * length, 700.0)
    _spare_wheel(canvas, *spare)
    body = (x_front, x_rear, DECK_MM - 150.0, z_top)
    return VehicleLayout("curtain_side", cargo, x_front + 63, bed_top, spare, centres, 6500.0, body)


def _box_truck(canvas: Canvas, rng: np.random.Generator) -> VehicleLayout:
    """A 7.5-18 t rigid box truck: cab with engine, chassis, GRP/aluminium box body."""
    # Cab and engine at the front.
    canvas.add("steel", canvas.box(300, 1100, 2000, 1800, 0.4))  # cab skins
    canvas.add("glass", canvas.box(350, 2200, 600, 700, 2.0))
    canvas.add("steel", canvas.box(300, 1100, 40, 1800, 60.0))  # cab front panel
    canvas.add("steel", canvas.box(2260, 1100, 40, 1800, 60.0))  # cab back
    canvas.add("cast_iron", canvas.box(700, 700, 900, 650, 45.0))  # engine block
    canvas.add("aluminium", canvas.box(650, 650, 1000, 700, 10.0))  # gearbox, housings
    canvas.add("polyethylene", canvas.box(1300, 1150, 700, 800, 45.0))  # seats
    _wheel(canvas, 1000.0, tyres=2, radius=480.0)
    x_body = 2500.0
    length = rng.uniform(6000.0, 7200.0)
    x_rear = x_body + length
    _i_beam_rail(canvas, 200, x_rear, 1050, 260)
    axle_x = x_rear - 1800
    _wheel(canvas, axle_x, tyres=4, radius=480.0)
    floor = 1150.0
    height = 2500.0
    canvas.add("plywood", canvas.box(x_body, 1050, length, 100, 240.0))
    canvas.add("aluminium", canvas.box(x_body, floor, length, height, 2 * 0.25))  # side skins
    canvas.add("polyethylene", canvas.box(x_body, floor, length, height, 2 * 1.8))  # GRP panels
    canvas.add("aluminium", canvas.box(x_body, floor + height - 30, length, 30, 240.0))  # roof
    canvas.add("aluminium", canvas.box(x_body, floor, 40, height, 240.0 * 0.15))  # front wall
    canvas.add("aluminium", canvas.box(x_rear - 40, floor, 40, height, 240.0 * 0.2))  # shutter
    for x in np.arange(x_body + 600, x_rear - 300, 600.0):
        canvas.add("aluminium", canvas.box(float(x), floor, 40, height, 2 * 0.4))  # posts
    cargo = CargoSpace(x_body + 45, x_rear - 45, floor + 100, floor + height - 35, 236.0)
    body = (x_body, x_rear, 1050.0, floor + height)
    return VehicleLayout(
        "box_truck", cargo, x_body + 40, cargo.z0, None, (1000.0, axle_x), 5500.0, body
    )
