"""Vehicles seen side-on: ISO dry and reefer containers on a container chassis behind a
tractor, curtain-side trailers and box trucks, built from their steel, aluminium, foam, rubber,
wood and glass parts.

Container dimensions follow ISO 668 / ISO 1496-1 and -2 (20 ft: 6,058 mm long, 40 ft: 12,192
mm, 2,591 mm high or 2,896 mm for a high cube, 2,438 mm wide outside; inside 2,352 mm wide for
a dry box, 2,294 mm for a reefer's insulated box), chassis and tractors typical European and
South American road equipment. The beam crosses the vehicle's width, so a part that runs across
the vehicle (floor, cross-members, bolsters, roof, end walls, axles) is seen along its whole
length and appears dark, while side walls are crossed through their thickness and stay light:
the look of real scans. Every part is drawn with its real section and material, so the mass of
what is drawn is the vehicle's mass (a container's tare is measured from its drawing).
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from dataclasses import dataclass

import numpy as np

from scanlab.synth._canvas import Canvas, Footprint

__all__ = [
    "CONTAINER_BOXES",
    "VEHICLE_TYPES",
    "CargoSpace",
    "ContainerBox",
    "VehicleLayout",
    "draw_vehicle",
    "texture_vehicle",
    "vehicle_extent_mm",
]

INNER_WIDTH_CM = 235.2  # a dry box
DECK_MM = 1230.0  # top of a container chassis above the road (container floor underside)


@dataclass(frozen=True)
class ContainerBox:
    """An ISO container type: outside length and height, inside size (mm), insulated or not.

    ``tare_kg`` is the typical tare of the type in operators' fleets, for reference; the
    tare of a drawn container is the mass of its drawn parts.
    """

    length: float
    height: float
    inner_length: float
    inner_width: float
    inner_height: float
    reefer: bool
    tare_kg: float


#: The containers the simulator draws (ISO 668 outside, operators' published inside sizes).
CONTAINER_BOXES = {
    "container_20ft": ContainerBox(6058.0, 2591.0, 5898.0, 2352.0, 2393.0, False, 2200.0),
    "container_40ft": ContainerBox(12192.0, 2591.0, 12032.0, 2352.0, 2393.0, False, 3750.0),
    "container_40ft_hc": ContainerBox(12192.0, 2896.0, 12032.0, 2352.0, 2698.0, False, 3900.0),
    "reefer_20ft": ContainerBox(6058.0, 2591.0, 5444.0, 2294.0, 2276.0, True, 3000.0),
    "reefer_40ft": ContainerBox(12192.0, 2896.0, 11583.0, 2294.0, 2554.0, True, 4600.0),
}
VEHICLE_TYPES = (*CONTAINER_BOXES, "curtain_side", "box_truck")


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
    ``tare_kg`` is the load unit's empty mass: the container (its drawn parts), the
    semi-trailer or the rigid truck. ``yaw_deg`` is the angle at which the vehicle crossed
    the beam plane (drivers do not pass portals exactly square).
    """

    vehicle_type: str
    cargo: CargoSpace
    front_wall_x: float
    floor_z: float
    spare_wheel_xz: tuple[float, float] | None
    wheel_centres_x: tuple[float, ...]
    tare_kg: float
    body_mm: tuple[float, float, float, float]
    yaw_deg: float = 0.0


def vehicle_extent_mm(vehicle_type: str) -> tuple[float, float]:
    """(length, height) of the scene window for a vehicle, tractor rear included."""
    if vehicle_type in CONTAINER_BOXES:
        return (
            (9400.0, 4600.0) if CONTAINER_BOXES[vehicle_type].length < 7000 else (15300.0, 4600.0)
        )
    return {"curtain_side": (16000.0, 4600.0), "box_truck": (10500.0, 4600.0)}[vehicle_type]


def texture_vehicle(
    canvas: Canvas,
    vehicle: np.ndarray,
    rng: np.random.Generator,
    *,
    rel_std: float = 0.03,
    grain_mm: float = 8.0,
) -> None:
    """Give the vehicle's own matter the unevenness of real steel, wood and rubber, in place.

    A container and its chassis are not the even plates of a drawing: sheet steel within
    its rolling tolerance (a tenth of a millimetre or two in 2 mm), dents, rust, paint and
    dirt, the grain of the plywood floor, welds. A ray along a wall, a rail or the floor
    crosses a slightly different amount of them than its neighbour, so, as in goods
    (:func:`~scanlab.synth._cargo.texture_goods`), the areal density fluctuates by a few per
    cent, correlated over about ``grain_mm``. Real exports show it as a mottled grain in the
    floor's band, the chassis and the roof band that survives their JPEG, where even plates
    come out as flat patches. ``vehicle`` is what :func:`draw_vehicle` put into
    ``canvas.basis``; it is multiplied by ``1 + rel_std * field`` (a zero-mean, unit-variance
    Gaussian field), so the mass is kept on average. Nothing drawn later removes vehicle
    matter, so the basis stays non-negative.
    """
    from scanlab.synth._cargo import grain_field

    if rel_std <= 0 or not np.any(vehicle[0] > 0):
        return
    field = grain_field(vehicle.shape[1:], grain_mm / canvas.pitch_mm, rng)
    canvas.basis += vehicle * (np.float32(rel_std) * field)[None]


def draw_vehicle(canvas: Canvas, vehicle_type: str, rng: np.random.Generator) -> VehicleLayout:
    """Draw a vehicle into ``canvas``; its front faces x = 0 (the scan's left edge).

    The vehicle crosses the beam plane at a small yaw (0.05-0.6 degrees, as a lane keeps
    it: the thin dark lines of real floor cross-members allow no more): ``canvas.skew`` is
    set for it and for everything drawn into it afterwards (its load, what is hidden).
    """
    if vehicle_type not in VEHICLE_TYPES:
        raise ValueError(vehicle_type)
    yaw = float(rng.uniform(0.05, 0.6)) * float(rng.choice([-1.0, 1.0]))
    canvas.skew = math.tan(math.radians(yaw))
    if vehicle_type in CONTAINER_BOXES:
        layout = _container_on_chassis(canvas, vehicle_type, rng)
    elif vehicle_type == "curtain_side":
        layout = _curtain_side(canvas, rng)
    else:
        layout = _box_truck(canvas, rng)
    return dataclasses.replace(layout, yaw_deg=round(yaw, 3))


# --- drawing with mass ---------------------------------------------------------------------


class _Parts:
    """Draws parts into a canvas and adds up their mass (density x drawn volume, kg).

    A part's ``depth_cm`` is its chord along the beam (its size across the vehicle, or the
    sum over the parts that lie side by side across it), so the drawn volume is the part's.
    """

    def __init__(self, canvas: Canvas) -> None:
        self.canvas = canvas
        self.kg = 0.0

    def add(self, material: str, fp: Footprint | None, *, scale: float = 1.0) -> None:
        self.canvas.add(material, fp, scale=scale)
        self.kg += self.canvas.mass_kg(material, fp, scale=scale)

    def box(
        self,
        material: str,
        x0: float,
        z0: float,
        length: float,
        height: float,
        depth_cm: float,
        *,
        scale: float = 1.0,
    ) -> None:
        self.add(material, self.canvas.box(x0, z0, length, height, depth_cm), scale=scale)

    def shell(
        self,
        material: str,
        x0: float,
        z0: float,
        length: float,
        height: float,
        depth_cm: float,
        wall_mm: float,
    ) -> None:
        """A closed box of ``wall_mm`` sheet (a tube, a bolster, a toolbox) seen side-on."""
        self.box(material, x0, z0, length, height, depth_cm)
        w = wall_mm
        self.box(
            material, x0 + w, z0 + w, length - 2 * w, height - 2 * w, depth_cm - w / 5, scale=-1.0
        )

    def tube_x(
        self, material: str, x0: float, length: float, zc: float, radius: float, wall_mm: float
    ) -> None:
        """A closed tube or tank lying along the vehicle: dark top and bottom edges."""
        c = self.canvas
        self.add(material, c.cylinder_x(x0, length, zc, radius))
        inner = c.cylinder_x(x0 + wall_mm, length - 2 * wall_mm, zc, radius - wall_mm)
        self.add(material, inner, scale=-1.0)

    def tube_y(
        self, material: str, xc: float, zc: float, radius: float, length_cm: float, wall_mm: float
    ) -> None:
        """A closed tube or tank lying across the vehicle, seen end-on: a dark ring."""
        c = self.canvas
        self.add(material, c.disc(xc, zc, radius, length_cm, inner_radius=radius - wall_mm))
        self.add(material, c.disc(xc, zc, radius - wall_mm, 2 * wall_mm / 10))

    def tube_z(
        self, material: str, xc: float, z0: float, height: float, radius: float, wall_mm: float
    ) -> None:
        """A closed upright tube or can."""
        c = self.canvas
        self.add(material, c.cylinder_z(xc, z0, height, radius))
        inner = c.cylinder_z(xc, z0 + wall_mm, height - 2 * wall_mm, radius - wall_mm)
        self.add(material, inner, scale=-1.0)

    def rod(
        self,
        material: str,
        p0: tuple[float, float],
        p1: tuple[float, float],
        radius: float,
        *,
        wall_mm: float | None = None,
        scale: float = 1.0,
    ) -> None:
        """A round bar (or a tube with ``wall_mm``) from p0 to p1 in the side view."""
        c = self.canvas
        self.add(material, c.capsule(p0, p1, radius), scale=scale)
        if wall_mm is not None:
            self.add(material, c.capsule(p0, p1, radius - wall_mm), scale=-scale)

    def strip(
        self, material: str, path: list[tuple[float, float]], thick: float, depth_cm: float
    ) -> None:
        """A plate of ``thick`` mm (vertically) following a polyline: a flange, a roof sheet.

        Short rises are drawn as their bounding box with the plate's volume spread over it
        (a polygon thinner than a sub-pixel would be drawn a sub-pixel thick).
        """
        c = self.canvas
        for (xa, za), (xb, zb) in itertools.pairwise(path):
            rise = abs(zb - za)
            if rise < 30.0:
                run = xb - xa
                spread = depth_cm * math.hypot(run, rise) * thick / (run * (rise + thick))
                fp = c.box(xa, min(za, zb) - thick / 2, run, rise + thick, spread, span_cm=depth_cm)
                self.add(material, fp)
            else:
                pts = np.array(
                    [
                        [xa, za - thick / 2],
                        [xb, zb - thick / 2],
                        [xb, zb + thick / 2],
                        [xa, za + thick / 2],
                    ]
                )
                self.add(material, c.polygon(pts, depth_cm))


# --- running gear ------------------------------------------------------------------------


def _wheel(canvas: Canvas, xc: float, tyres: int, *, radius: float = 510.0) -> None:
    """Tyres seen along the axle: sidewalls, a dark tread band, steel rims, hub and axle.

    ``tyres`` across the axle, half on each side (:data:`WHEELS`), each 315 mm wide: the
    wheels are slabs that wide (twins with a gap), so a diverging beam crosses each tread
    obliquely and its top spreads into the dark arch of real scans."""
    zc = radius
    rim_r = 0.57 * radius
    width_cm = 31.5
    per_side = max(tyres // 2, 1)
    with canvas.at_depths(*WHEELS, thickness_mm=(10.0 * width_cm + 40.0) * per_side - 40.0):
        # Sidewalls: two 15 mm rubber walls per tyre; tread and steel belts: the full width.
        canvas.add("rubber", canvas.disc(xc, zc, radius - 30, 3.0 * tyres, inner_radius=rim_r))
        canvas.add("tyre", canvas.disc(xc, zc, radius, width_cm * tyres, inner_radius=radius - 30))
        canvas.add(
            "tyre", canvas.disc(xc, zc, rim_r + 25, 4.0 * tyres, inner_radius=rim_r)
        )  # beads
        canvas.add(
            "steel", canvas.disc(xc, zc, rim_r, 22.0 * tyres, inner_radius=rim_r - 8)
        )  # rim barrel
        canvas.add("steel", canvas.disc(xc, zc, rim_r - 8, 1.4 * tyres))  # wheel discs
        canvas.add(
            "cast_iron", canvas.disc(xc, zc, 0.42 * radius, 26.0, inner_radius=0.36 * radius)
        )  # brake drums
        canvas.add("steel", canvas.disc(xc, zc, 0.13 * radius, 10.0))  # hubs
    with canvas.at_depths():  # the axle tube spans the track
        canvas.add("steel", canvas.disc(xc, zc, 64.0, 230.0, inner_radius=52.0))


def _i_beam_rail(
    canvas: Canvas, x0: float, x1: float, z_top: float, height: float, rails: int = 2
) -> None:
    """Longitudinal I-beams: webs crossed through their thickness, flanges across their width."""
    canvas.add("steel", canvas.box(x0, z_top - height, x1 - x0, height, 0.6 * rails))
    canvas.add("steel", canvas.box(x0, z_top - 14, x1 - x0, 14, 15.0 * rails))
    canvas.add("steel", canvas.box(x0, z_top - height, x1 - x0, 14, 15.0 * rails))


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
    # Mudguard over the drive axle, and the coiled air and electric lines ("suzies").
    arc = [(axle_x + 600 * math.cos(a), 510 + 600 * math.sin(a)) for a in np.linspace(0.2, 2.9, 9)]
    for (xa, za), (xb, zb) in itertools.pairwise(arc):
        canvas.add("polyethylene", canvas.capsule((xa, za), (xb, zb), 3.0), scale=2 * 60 / 0.6)
    for k in range(int(rng.integers(6, 12))):
        canvas.add(
            "polyethylene",
            canvas.disc(x_rear - 150 + 14 * k, 1500 - 25 * k, 90, 3.0, inner_radius=82),
        )
    canvas.add("steel", canvas.box(0, 1300, 40, 1500, 50.0))  # back wall of the cab
    return axle_x


# --- containers ----------------------------------------------------------------------------


#: Depths (mm from the centre plane, + away from the source) of the two side walls of an
#: ISO box (2,438 mm outside) and of what they carry, for a diverging beam
#: (:meth:`Canvas.at_depths`).
SIDES = (-1200.0, 1200.0)
#: Depths of a chassis' two main rails, and of the wheels on either side.
RAILS = (-500.0, 500.0)
WHEELS = (-950.0, 950.0)


def _crossmember_xs(rng: np.random.Generator, x0: float, x1: float, pitch: float) -> list[float]:
    """Cross-member positions: a nominal pitch, as welded (not uniform), some in pairs."""
    xs: list[float] = []
    x = x0 + rng.uniform(60.0, 0.6 * pitch)
    while x < x1 - 60:
        xs.append(x)
        if rng.random() < 0.08 and x + 120 < x1 - 60:  # doubled under a floor-board joint
            xs.append(x + rng.uniform(90.0, 130.0))
            x += 0.5 * pitch
        x += pitch * rng.uniform(0.8, 1.2)
    return xs


def _crossmember(
    p: _Parts, x: float, z_top: float, chord_cm: float, rng: np.random.Generator
) -> None:
    """A pressed C-section (122 x 45 x 4.5, the usual) or a heavier 150 x 6 I-section,
    running across the floor: its web and flanges are seen along their whole length."""
    if rng.random() < 0.15:
        height, flange, t = rng.uniform(140.0, 160.0), 60.0, 6.0
    else:
        height, flange, t = 122.0, 45.0, rng.uniform(4.0, 4.6)
    p.box("steel", x, z_top - height, t, height, chord_cm)
    p.box("steel", x - flange / 2, z_top - t, flange, t, chord_cm)
    p.box("steel", x - flange / 2, z_top - height, flange, t, chord_cm)


def _lashing_ring(p: _Parts, x: float, z: float, rng: np.random.Generator) -> None:
    """A D-ring of 12 mm bar on both side walls (same x): a small dark loop."""
    r = rng.uniform(28.0, 38.0)
    with p.canvas.at_depths(*(0.95 * y for y in SIDES)):
        p.add("steel", p.canvas.disc(x, z, r, 2 * 1.0, inner_radius=r - 12))
        p.box("steel", x - 25, z + r - 10, 50, 16, 2 * 1.2)  # the welded bracket


def _frame(
    p: _Parts,
    rng: np.random.Generator,
    box: ContainerBox,
    xf: float,
    zu: float,
    *,
    rail_height: float,
) -> None:
    """What every ISO container has: bottom and top side rails, corner posts, corner
    castings (with the chassis' twistlocks under them) and the front and rear sills and
    headers."""
    length, zt = box.length, zu + box.height
    xr = xf + length
    width_out = 243.8
    with p.canvas.at_depths(*SIDES):
        # Bottom side rails: pressed C-sections, 4.5-6 mm, flanges 50 mm.
        t = rng.uniform(4.0, 4.5) / 10
        p.box("steel", xf, zu, length, rail_height, 2 * t)
        p.box("steel", xf, zu, length, 10 * t, 2 * 5.0)
        p.box("steel", xf, zu + rail_height - 10 * t, length, 10 * t, 2 * 3.0)
        # The inner ledge (a 4 mm angle, 40 mm wide) on which the floor's edges rest.
        p.box("steel", xf + 113, zu + rail_height - 36, length - 263, 4, 2 * 4.0)
        # Top side rails: 60 x 60 x 3 square tubes.
        p.shell("steel", xf, zt - 60, length, 60, 2 * 6.0, 3.0)
    # Corner posts: pressed 6 mm front posts, heavier 8 mm rear posts with the door hinges.
    # (The posts on the two sides part by the width times the vehicle's skew.)
    for x, post_len, wall in ((xf, 113.0, 6.0), (xr - 150, 150.0, 8.0)):
        for side in SIDES:
            with p.canvas.at_depths(side):
                p.shell("steel", x + side * p.canvas.skew, zu, post_len, box.height, 12.0, wall)
    # Front and rear sills and headers: box sections across the width.
    for x, w in ((xf, 113.0), (xr - 150, 150.0)):
        p.shell("steel", x, zu, w, rail_height, width_out - 2 * 17.8, 4.0)
        p.shell("steel", x, zt - 110, w, 110, width_out - 2 * 17.8, 3.5)
    # Corner castings (178 x 118 x 162 mm, cast steel, hollow) at the eight corners, and the
    # chassis' twistlocks locked into the bottom four.
    for x in (xf - 2.0, xr - 176.0):
        for z in (zu, zt - 118):
            with p.canvas.at_depths(*SIDES):
                p.box("steel", x, z, 178, 118, 2 * 16.2)
                p.box("steel", x + 20, z + 18, 138, 82, 2 * 13.0, scale=-1.0)
                p.add("steel", p.canvas.ellipsoid(x + 89, z + 59, 40, 28, 2 * 1.8), scale=-1.0)


def _corrugated_side_walls(
    p: _Parts,
    x0: float,
    x1: float,
    z0: float,
    z1: float,
    *,
    material: str,
    sheet_mm: float,
    pitch: float,
    depth: float,
    flank: float,
) -> None:
    """Two side walls of trapezoidal corrugated sheet, crossed perpendicular to their plane.

    Flat faces are crossed through the sheet thickness, the inclined flanks (horizontal
    extent ``flank``, corrugation ``depth``) obliquely, ``sqrt(1 + (depth/flank)^2)`` times
    thicker: an ISO dry box's 278 mm corrugation (36 mm deep, 69 mm flanks) adds 13 % over
    the flanks, the fine faint stripes of real scans.
    """
    walls_cm = 2 * sheet_mm / 10.0
    with p.canvas.at_depths(*SIDES):
        p.box(material, x0, z0, x1 - x0, z1 - z0, walls_cm)
    extra = sheet_mm / 10.0 * (math.hypot(1.0, depth / flank) - 1.0)
    flat = (pitch - 2 * flank) / 2
    # At the vehicle's yaw the two walls' stripes part by the width times the skew.
    for side in SIDES:
        x = x0 + flat / 2 + side * p.canvas.skew
        with p.canvas.at_depths(side):
            while x + flank < x1:
                p.box(material, x, z0, flank, z1 - z0, extra)
                if x + 2 * flank + flat < x1:
                    p.box(material, x + flank + flat, z0, flank, z1 - z0, extra)
                x += pitch


def _corrugated_end(
    p: _Parts, x: float, z0: float, height: float, chord_cm: float, sheet_mm: float
) -> None:
    """An end wall or door leaf of vertically corrugated sheet spanning the width: seen
    along its plane, the outer and inner faces (40 % of the width each) as two dark lines
    45 mm apart and the flanks spread thinly between them."""
    t = sheet_mm
    p.box("steel", x, z0, t, height, 0.4 * chord_cm)
    p.box("steel", x + 45 - t, z0, t, height, 0.4 * chord_cm)
    p.box("steel", x + t, z0, 45 - 2 * t, height, 0.2 * chord_cm * 1.2 * t / (45 - 2 * t))


def _doors(p: _Parts, x_inner: float, xr: float, z0: float, height: float, chord_cm: float) -> None:
    """Rear doors of a dry box: two corrugated leaves, their frames, hinges and four
    locking bars with cams and handles."""
    _corrugated_end(p, x_inner, z0, height, chord_cm, 2.0)
    p.box("steel", x_inner, z0, 60, height, 2 * 2 * 0.4)  # leaf frames (outer edges)
    p.box("steel", x_inner, z0, 60, 6, chord_cm)  # bottom and top frame members
    p.box("steel", x_inner, z0 + height - 6, 60, 6, chord_cm)
    for k in range(4):  # 27 mm locking bars, one behind another along the beam
        p.add("steel", p.canvas.cylinder_z(xr + 14 + 2 * k, z0 - 60, height + 120, 13.5))
    for z in np.linspace(z0 + 200, z0 + height - 200, 4):  # hinges
        p.box("steel", xr - 10, float(z), 40, 90, 2 * 8.0)
    p.box("steel", xr, z0 + 0.45 * height, 40, 200, 4 * 1.2)  # handles and their keepers


def _logistics_track(p: _Parts, x0: float, x1: float, z: float, rng: np.random.Generator) -> None:
    """A lashing rail (E-track) along both side walls at mid-height: 125 mm aluminium strip
    with bent edges, slotted every 51 mm, with rings and hooks hanging from it."""
    with p.canvas.at_depths(*(0.97 * y for y in SIDES)):
        p.box("aluminium", x0, z, x1 - x0, 125, 2 * 0.3)
        p.box("aluminium", x0, z, x1 - x0, 4, 2 * 2.0)
        p.box("aluminium", x0, z + 121, x1 - x0, 4, 2 * 2.0)
        for x in np.arange(x0 + 20.0, x1 - 30.0, 50.8):
            p.box("aluminium", float(x), z + 32, 14, 60, 2 * 0.3, scale=-1.0)
    x = x0 + rng.uniform(300, 1500)
    while x < x1 - 200:
        _lashing_ring(p, x, z - 30, rng)
        x += rng.uniform(900, 2500)


def _dry_box(
    p: _Parts, rng: np.random.Generator, box: ContainerBox, xf: float, zu: float
) -> CargoSpace:
    """An ISO dry box: corrugated steel walls and roof, hardwood floor on cross-members."""
    length, zt = box.length, zu + box.height
    xr = xf + length
    chord = box.inner_width / 10
    rail_height = 160.0
    zf = zu + rail_height  # floor top
    zc = zf + box.inner_height  # ceiling
    x_in0 = xf + (length - box.inner_length) * 0.375  # inner face of the front wall
    x_in1 = x_in0 + box.inner_length  # inner face of the doors
    _frame(p, rng, box, xf, zu, rail_height=rail_height)
    # Side walls: 1.6 mm Corten (2.0 mm on some 40 ft), 278 mm pitch, 36 mm deep.
    _corrugated_side_walls(
        p, xf + 113, xr - 150, zf, zt - 60, material="steel", sheet_mm=1.6, pitch=278.0,
        depth=36.0, flank=69.0,
    )  # fmt: skip
    # Roof: 2 mm sheet with 20 mm deep transverse corrugation (the ribs run across the
    # width), seen as a wavy line a few pixels tall.
    wave = [(xf, zt - 12.0)]
    x = xf + 113
    while x < xr - 150:
        wave += [(x, zt - 12.0), (x + 40, zt - 2.0), (x + 140, zt - 2.0), (x + 180, zt - 12.0)]
        x += 225.0
    wave.append((xr, zt - 12.0))
    p.strip("steel", wave, 2.0, chord)
    # Floor: 28 mm hardwood plywood (apitong/keruing, ~750 kg/m³) on cross-members.
    p.box("plywood", x_in0, zf - 28, box.inner_length, 28, chord, scale=1.25)
    tunnel = 3150.0 if length > 7000 else 0.0
    pitch = rng.uniform(300.0, 350.0) if length > 7000 else rng.uniform(290.0, 330.0)
    for x in _crossmember_xs(rng, xf + 113, xr - 150, pitch):
        if x < xf + tunnel:
            # Over the gooseneck tunnel a cross-member spans only the sides below the
            # tunnel's roof plate, and a shallow bow crosses above it.
            p.box("steel", x, zf - 150, 4.5, 122, chord - 102.9)
            p.box("steel", x - 22, zf - 32, 45, 4.5, chord)
            p.box("steel", x - 22, zf - 150, 45, 4.5, chord - 102.9)
        elif length < 7000 and any(abs(x - (xf + length / 2 + s)) < 260 for s in (-1025, 1025)):
            continue  # the forklift pockets stand here
        else:
            _crossmember(p, x, zf - 28, chord, rng)
    if tunnel:
        p.box("steel", xf + 113, zu + 120, tunnel - 113, 6, 102.9)  # tunnel roof plate
        p.box("steel", xf + 113, zu, tunnel - 113, 120, 2 * 0.6)  # tunnel side members
        p.box("steel", xf + 113, zu, tunnel - 113, 6, 2 * 5.0)
    else:
        # Forklift pockets: 355 x 115 mm openings across the floor, 2,050 mm apart, under
        # a 5 mm top plate between two side channels, with straps at the bottom by the rails.
        for s in (-1025.0, 1025.0):
            xc = xf + length / 2 + s
            p.box("steel", xc - 177.5, zu + 110, 355, 5, 231.8)
            for x in (xc - 177.5, xc + 172.5):
                p.box("steel", x, zu, 5, 115, 231.8)
            p.box("steel", xc - 177.5, zu, 355, 5, 2 * 20.0)
    # Front end wall (2 mm, corrugated) and rear doors.
    _corrugated_end(p, x_in0 - 47, zf, zt - 110 - zf, chord, 2.0)
    _doors(p, x_in1 + 2, xr, zf, zt - 110 - zf, chord)
    # Lashing rings on the bottom and top side rails, every metre or so.
    for z in (zf + 30, zc - 50):
        x = xf + rng.uniform(300, 700)
        while x < xr - 400:
            _lashing_ring(p, x, z, rng)
            x += rng.uniform(850, 1250)
    if rng.random() < 0.4:
        _logistics_track(p, x_in0 + 50, x_in1 - 50, zf + rng.uniform(1300, 1800), rng)
    return CargoSpace(x_in0, x_in1, zf, zc, chord)


def _reefer_box(
    p: _Parts, rng: np.random.Generator, box: ContainerBox, xf: float, zu: float
) -> CargoSpace:
    """An integral reefer: a polyurethane-foamed box with stainless or aluminium skins,
    an aluminium T-section floor, insulated doors and a refrigeration unit at the front."""
    length, zt = box.length, zu + box.height
    xr = xf + length
    width = box.inner_width / 10
    rail_height = 160.0
    zf = zu + 205.0  # top of the T-floor
    zc = zf + box.inner_height
    x_in1 = xr - 130.0  # inner face of the insulated doors
    x_in0 = x_in1 - box.inner_length  # face of the bulkhead in front of the unit
    _frame(p, rng, box, xf, zu, rail_height=rail_height)
    wall_mm = (243.8 - width) * 10 / 2  # each side wall, skins included (~72 mm)
    # Side walls: outer skin (stainless 0.8 mm with fine corrugation, or 1.5 mm aluminium),
    # foam, inner lining of 0.8 mm stainless whose sheets overlap every 1.2 m or so.
    stainless = rng.random() < 0.6
    outer, t_out = ("stainless_steel", 0.8) if stainless else ("aluminium", 1.5)
    _corrugated_side_walls(
        p, x_in0, x_in1, zu + rail_height, zt - 60, material=outer, sheet_mm=t_out,
        pitch=rng.uniform(70.0, 110.0), depth=12.0, flank=12.0,
    )  # fmt: skip
    with p.canvas.at_depths(*(0.97 * y for y in SIDES)):
        p.box("polyurethane_foam", x_in0, zf, box.inner_length, zc - zf, 2 * (wall_mm - 2) / 10)
        p.box("stainless_steel", x_in0, zf, box.inner_length, zc - zf, 2 * 0.08)
        x = x_in0 + rng.uniform(300, 1200)
        while x < x_in1 - 100:
            p.box("stainless_steel", x, zf, 40, zc - zf, 2 * 0.08)  # overlapping lining sheets
            p.box("stainless_steel", x + 18, zf, 4, zc - zf, 2 * 0.6)  # the joint's cover strip
            x += rng.uniform(1000, 1300)
    # Roof: aluminium outer skin and inner lining across the width, foam between.
    p.box("aluminium", xf + 113, zt - 3, length - 263, 1.5, 243.8 - 12)
    p.box("polyurethane_foam", x_in0, zc + 1, box.inner_length, zt - 5 - zc, width)
    p.box("aluminium", x_in0, zc, box.inner_length, 1.0, width)
    # Floor: aluminium T-bars along the length (62 mm: 3 mm top flanges covering 70 % of
    # the width, the gaps for the air; 2.5 mm webs every 45 mm; about 17 kg/m²), on foam
    # and plywood, a galvanised bottom sheet and cross-members.
    p.box("aluminium", x_in0, zf - 3, box.inner_length, 3, 0.7 * width)
    p.box("aluminium", x_in0, zf - 62, box.inner_length, 59, width * 2.5 / 45.0)
    p.box("aluminium", x_in0, zf - 62, box.inner_length, 3, 0.3 * width)
    p.box("plywood", x_in0, zf - 80, box.inner_length, 18, width)
    p.box("polyurethane_foam", xf + 113, zu + 8, length - 263, zf - 80 - zu - 8, width)
    p.box("steel", xf + 113, zu + 6, length - 263, 1.2, width)  # galvanised bottom sheet
    # Cross-members: rectangular tubes (100 x 40 x 2.5) or C-sections, every 0.35-0.45 m.
    rhs = rng.random() < 0.5
    for x in _crossmember_xs(rng, xf + 113, xr - 150, rng.uniform(350.0, 450.0)):
        if rhs:
            p.shell("steel", x - 20, zu + 8, 40, 100, width, 2.5)
        else:
            p.box("steel", x, zu + 8, 4.0, 100, width)
            p.box("steel", x - 20, zu + 104, 40, 4.0, width)
            p.box("steel", x - 20, zu + 8, 40, 4.0, width)
    # Insulated rear doors: two leaves of foam between stainless skins, gaskets, four bars.
    height = zt - 110 - zf
    p.box("stainless_steel", x_in1, zf, 1.2, height, width)
    p.box("polyurethane_foam", x_in1 + 1, zf, 98, height, width)
    p.box("stainless_steel", x_in1 + 99, zf, 1.2, height, width)
    p.box("rubber", x_in1 + 100, zf, 20, height, 3 * 1.5)  # gaskets
    for k in range(4):
        p.add("steel", p.canvas.cylinder_z(xr + 14 + 2 * k, zf - 60, height + 120, 13.5))
    for z in np.linspace(zf + 200, zf + height - 200, 4):
        p.box("steel", xr - 10, float(z), 40, 90, 2 * 8.0)
    for z in (zf + 30, zc - 40):  # lashing rings / hanging hooks along the walls
        x = x_in0 + rng.uniform(200, 600)
        while x < x_in1 - 300:
            _lashing_ring(p, x, z, rng)
            x += rng.uniform(900, 1400)
    if rng.random() < 0.3:
        _logistics_track(p, x_in0 + 50, x_in1 - 50, zf + rng.uniform(1400, 1900), rng)
    _refrigeration_unit(p, rng, xf, x_in0, zu, zt, width)
    return CargoSpace(x_in0, x_in1, zf, zc, width)


def _refrigeration_unit(
    p: _Parts,
    rng: np.random.Generator,
    xf: float,
    x_bulkhead: float,
    zu: float,
    zt: float,
    width: float,
) -> None:
    """The refrigeration machinery set into the front end (about 450 mm deep, 450 kg):
    compressor, condenser coil and fan low down, evaporator coil and fans above, control
    box, power cable, receiver, all in an aluminium frame behind a foamed bulkhead."""
    depth = x_bulkhead - xf
    x_front = xf + 20
    h = zt - zu
    # Frame: aluminium front panels across the width, steel side frame and cross bars.
    p.box("aluminium", x_front, zu + 160, 2.0, h - 280, 243.8 - 2 * 12)
    p.box("steel", xf + 113, zu + 160, depth - 113, h - 280, 2 * 0.3)
    for z in (zu + 160, zu + 0.45 * h, zt - 120):
        p.shell("steel", xf + 113, z - 50, depth - 140, 50, width, 2.5)
    # Bulkhead: foam between an aluminium and a stainless skin, with evaporator access
    # panels.
    p.box("aluminium", x_bulkhead - 104, zu + 160, 2.0, h - 280, width)
    p.box("polyurethane_foam", x_bulkhead - 102, zu + 160, 100, h - 280, width)
    p.box("stainless_steel", x_bulkhead - 2, zu + 160, 1.0, h - 280, width)
    room = x_bulkhead - 104 - x_front - 10  # what the machinery has along the vehicle
    # Compressor: a welded steel shell (~120 kg with its motor) low in the unit.
    cx = x_front + 10 + 0.5 * room + rng.uniform(-30, 30)
    cz = zu + 230
    p.tube_z("steel", cx, cz, 430, 140, 8.0)
    p.add("steel", p.canvas.cylinder_z(cx, cz + 60, 250, 80))  # crankshaft, pistons, rotor
    p.add("copper", p.canvas.cylinder_z(cx, cz + 230, 120, 110), scale=0.45)  # windings
    p.box("steel", cx - 180, cz - 20, 360, 20, 40.0)  # mounting plate
    # Condenser coil (copper tubes in aluminium fins, 1.5 m across) and its fan.
    coil_z = zu + 720
    p.box("aluminium", x_front + 10, coil_z, 110, 650, 150.0, scale=0.08)
    p.box("copper", x_front + 10, coil_z, 110, 650, 150.0, scale=0.022)
    fan_x = x_front + 10 + 0.6 * room
    p.add("steel", p.canvas.ellipsoid(fan_x, coil_z + 325, 70, 90, 9.0))
    p.add("copper", p.canvas.ellipsoid(fan_x, coil_z + 325, 55, 70, 6.0), scale=0.5)
    p.box("aluminium", fan_x - 30, coil_z + 40, 60, 570, 2.0)  # blades seen edge-on
    # Evaporator coil and two fans (side by side across the width: their motors overlap).
    evap_z = zt - 1000
    p.box("aluminium", x_front + 0.45 * room, evap_z, 0.5 * room, 520, 180.0, scale=0.07)
    p.box("copper", x_front + 0.45 * room, evap_z, 0.5 * room, 520, 180.0, scale=0.02)
    for dz in (650.0, 800.0) if rng.random() < 0.5 else (700.0,):
        ex, ez = x_front + 0.3 * room, evap_z + dz - 250
        p.add("steel", p.canvas.ellipsoid(ex, ez, 75, 85, 2 * 4.0))
        p.add("copper", p.canvas.ellipsoid(ex, ez, 55, 65, 2 * 3.0), scale=0.5)
        p.box("aluminium", ex - 25, ez - 250, 50, 500, 2 * 1.5)
    # Control box (steel, electronics) and the coiled power cable.
    box_z = zu + 0.45 * h + rng.uniform(0, 200)
    p.shell("steel", x_front + 20, box_z, 0.5 * room, 420, 55.0, 1.5)
    p.box("copper", x_front + 40, box_z + 40, 0.4 * room, 300, 1.5)
    p.box("polyethylene", x_front + 40, box_z + 40, 0.4 * room, 300, 12.0)
    cable_z = zu + 230
    p.box("copper", x_front + 10, cable_z, 0.3 * room, 280, 25.0, scale=0.06)
    p.box("rubber", x_front + 10, cable_z, 0.3 * room, 280, 25.0, scale=0.3)
    # Receiver and water-cooled condenser: steel cylinders lying across.
    p.tube_y("steel", x_front + 0.8 * room, zu + 560, 75, 60.0, 5.0)
    p.tube_y("steel", x_front + 0.25 * room, zu + 560, 90, 50.0, 5.0)


# --- chassis -----------------------------------------------------------------------------


def _container_chassis(
    p: _Parts,
    rng: np.random.Generator,
    xf: float,
    length: float,
    zu: float,
    *,
    genset: bool,
) -> tuple[tuple[float, ...], tuple[float, float]]:
    """A container chassis under a container from ``xf``: main rails (a gooseneck running
    into the tunnel of a 40 ft), bolsters with twistlocks, cross-members, landing legs,
    axles with suspension, mudguards and flaps, air tanks, pipes, toolbox, spare wheel
    carrier, underrun bar and, for a reefer, perhaps a clip-on generator set.

    Returns the axle centres and the spare wheel's centre.
    """
    x0, x1 = xf - 200.0, xf + length + rng.uniform(0.0, 150.0)
    long = length > 7000
    web = rng.uniform(0.6, 0.8)  # cm, each rail
    flange_w, flange_t = rng.uniform(12.5, 15.0), rng.uniform(12.0, 16.0)
    depth = rng.uniform(420.0, 520.0)
    top = zu - 15.0  # the rails sit just under the container; bolsters carry it
    if long:
        neck = 3150.0 - rng.uniform(50, 250)
        slope = rng.uniform(600.0, 1100.0)
        d_neck = rng.uniform(150.0, 210.0)
        tops = [(x0, zu + 110.0), (x0 + neck, zu + 110.0), (x0 + neck + 130, top), (x1, top)]
        bottom = [
            (x0, zu + 110.0 - d_neck),
            (x0 + neck, zu + 110.0 - d_neck),
            (x0 + neck + slope, top - depth),
            (x1 - 1200, top - depth),
            (x1, top - 0.6 * depth),
        ]
    else:
        d_neck = rng.uniform(200.0, 280.0)
        tops = [(x0, top), (x1, top)]
        bottom = [
            (x0, top - d_neck),
            (x0 + 900, top - d_neck),
            (x0 + 1700, top - depth),
            (x1 - 1000, top - depth),
            (x1, top - 0.6 * depth),
        ]

    def z_top(x: float) -> float:
        return float(np.interp(x, [q[0] for q in tops], [q[1] for q in tops]))

    def z_bottom(x: float) -> float:
        return float(np.interp(x, [q[0] for q in bottom], [q[1] for q in bottom]))

    c = p.canvas
    xs = sorted({q[0] for q in tops} | {q[0] for q in bottom})
    web_poly = [(x, z_top(x)) for x in xs] + [(x, z_bottom(x)) for x in reversed(xs)]
    with c.at_depths(*RAILS):  # the two main rails, about a metre apart
        p.add("steel", c.polygon(np.array(web_poly), 2 * web))
        p.strip("steel", [(x, z_top(x) - flange_t / 2) for x in xs], flange_t, 2 * flange_w)
        p.strip("steel", [(x, z_bottom(x) + flange_t / 2) for x in xs], flange_t, 2 * flange_w)
    # Web stiffeners (8 mm plates welded on both sides of each web) and holes cut in the
    # webs for the pipes and lightness, unevenly along the rails.
    x = x0 + rng.uniform(300, 700)
    while x < x1 - 300:
        zt_x, zb_x = z_top(x), z_bottom(x)
        if rng.random() < 0.6:
            p.box("steel", x, zb_x + flange_t, 8, zt_x - zb_x - 2 * flange_t, 2 * 2 * 6.0)
        else:
            r = min(rng.uniform(40.0, 75.0), 0.3 * (zt_x - zb_x))
            p.add("steel", c.disc(x, 0.5 * (zt_x + zb_x), r, web), scale=-1.0)  # one rail
        x += rng.uniform(400.0, 1100.0)
    # Upper coupler plate and kingpin at the front.
    p.box("steel", x0, z_bottom(x0) - 8, 1400, 8, 200.0)
    p.add("steel", c.cylinder_z(x0 + 700, z_bottom(x0) - 80, 80, 45))
    # Bolsters (box sections across the full width) with twistlocks, at both ends.
    for x in (xf, xf + length - 180):
        zb = z_top(x + 90)
        p.shell("steel", x, zb - 180, 180, 180 + (zu - zb), 243.8, 6.0)
        p.box("cast_iron", x + 30, zu - 15, 120, 70, 2 * 10.0)
    # Perimeter rails (on flat-bed container trailers): C-channels along both sides whose
    # 75 mm flanges, seen across, are dark lines under the container.
    perimeter = rng.random() < 0.25
    if perimeter:
        ph = rng.uniform(180.0, 280.0)
        p.box("steel", xf, top - ph, length, ph, 2 * 0.5)
        p.box("steel", xf, top - 8, length, 8, 2 * 7.5)
        p.box("steel", xf, top - ph, length, 8, 2 * 7.5)
    # Cross-members through the rails: channels (some doubled, some outriggers to the full
    # width) or tubes, unevenly spaced; seen along their length, dark bars.
    tubes = rng.random() < 0.3
    x = xf + rng.uniform(300, 700)
    while x < x1 - 500:
        zt_x, zb_x = z_top(x), z_bottom(x)
        h = (zt_x - zb_x) * rng.uniform(0.5, 0.9)
        # Between the two main rails (about a metre apart) on a skeletal chassis; a few
        # outriggers, and every member of a perimeter frame, reach the full width.
        across = 243.0 if perimeter or rng.random() < 0.2 else 100.0
        if tubes and rng.random() < 0.8:
            r = min(h / 2, rng.uniform(45.0, 85.0))
            p.tube_y("steel", x, zt_x - rng.uniform(0.3, 0.6) * (zt_x - zb_x), r, across, 5.0)
        else:
            section = rng.choice(["channel", "channel", "i_beam", "box"])
            t = rng.uniform(5.0, 8.0)
            if section == "box":  # a 100 mm square tube: two dark lines, grey between
                p.shell("steel", x - 50, zt_x - h, 100, h, across, t)
            else:
                flange = 55.0 if section == "channel" else rng.uniform(75.0, 100.0)
                p.box("steel", x, zt_x - h, t, h, across)
                p.box("steel", x - flange / 2, zt_x - h, flange, t, across)
                p.box("steel", x - flange / 2, zt_x - t, flange, t, across)
                # Gussets welded into the corners with the main rails.
                p.add("steel", c.polygon(np.array(
                    [[x, zt_x - t], [x + 80, zt_x - t], [x, zt_x - 80]]
                ), 4 * 0.8))  # fmt: skip
        x += rng.uniform(450.0, 1000.0)
    # Axles: a tridem under a 40 ft, a tandem under a 20 ft, 1,310 mm apart.
    axles = 3 if long else 2
    rear = x1 - rng.uniform(850.0, 1050.0)
    centres = tuple(rear - 1310.0 * i for i in range(axles))
    air = rng.random() < 0.6
    for xc in centres:
        _wheel(c, xc, tyres=2 if long else 4)
        zb = z_bottom(xc)
        p.box("steel", xc - 560, zb - 250, 120, 250, 2 * 1.2)  # hanger brackets
        if air:
            # Trailing arm from the hanger under the axle to the air bag behind it.
            p.add("steel", c.polygon(np.array(
                [[xc - 520, zb - 230], [xc + 420, 560], [xc + 420, 470], [xc - 520, zb - 320]]
            ), 2 * 2.4))  # fmt: skip
            p.tube_z("rubber", xc + 330, 600, zb - 620, 140, 8.0)  # air bag
            p.box("steel", xc + 180, zb - 20, 300, 20, 2 * 30.0)  # its top plate
            p.rod("steel", (xc - 300, zb - 250), (xc + 60, 560), 30.0, wall_mm=3.0, scale=2)
        else:
            p.box("steel", xc - 700, 640, 1400, 90, 2 * 8.0)  # leaf springs
            p.box("steel", xc + 560, zb - 250, 120, 250, 2 * 1.2)
        # Brake chamber (a steel can) and its slack adjuster.
        p.tube_x("steel", xc - 330, 160, 600, 85, 3.0)
        # Mudguard arc over the wheel, both sides, 4 mm polyethylene as wide as the tyres.
        arc = [(xc + 580 * math.cos(a), 510 + 580 * math.sin(a)) for a in np.linspace(0.3, 2.85, 8)]
        for (xa, za), (xb, zb2) in itertools.pairwise(arc):
            p.rod("polyethylene", (xa, za), (xb, zb2), 2.0, scale=2 * 60 / 0.4)
    # Mud flaps behind the last axle, with their steel hangers.
    flap_x = centres[0] + 650
    p.box("rubber", flap_x, 200, 6, 550, 2 * 60.0)
    p.box("steel", flap_x - 10, 720, 30, 30, 2 * 60.0 * 0.1)
    p.box("steel", flap_x, 720, 10, z_bottom(flap_x) - 720, 2 * 4.0)
    # Rear underrun bar: a 120 x 100 steel tube across the width, on two brackets.
    bar_x, bar_z = x1 - 140, rng.uniform(380.0, 480.0)
    p.shell("steel", bar_x, bar_z, 120, 100, 240.0, 4.0)
    p.box("steel", bar_x + 20, bar_z + 100, 80, z_bottom(bar_x) - bar_z - 100, 2 * 0.8)
    p.box("polyethylene", bar_x - 60, bar_z + 100, 160, 120, 2 * 25.0, scale=0.3)  # lamps
    # Landing legs: two telescopic square tubes, sand shoes, gearbox, cross shaft, braces.
    legs = x0 + (3150.0 + rng.uniform(800, 1300) if long else rng.uniform(1300, 1700))
    leg_top = z_bottom(legs)
    foot = rng.uniform(250.0, 400.0)
    p.shell("steel", legs, 560, 140, leg_top - 560, 2 * 14.0, 5.0)
    p.shell("steel", legs + 12, foot, 116, 600 - foot, 2 * 11.6, 5.0)
    p.box("steel", legs - 60, foot - 30, 260, 30, 2 * 25.0)  # sand shoes
    p.box("steel", legs + 140, leg_top - 260, 120, 200, 2 * 5.0)  # gearbox housing
    p.add("steel", c.disc(legs + 70, leg_top - 150, 18, 120.0))  # cross shaft
    brace_top = (legs + rng.uniform(700, 1000), z_bottom(legs + 800) + 10)
    p.rod("steel", (legs + 70, 800), brace_top, 30.0, wall_mm=3.0, scale=2)
    p.add("steel", c.capsule((legs + 260, leg_top - 160), (legs + 420, leg_top - 420), 10.0))
    # What hangs between the legs and the axles: spare wheel carrier, air tanks, a toolbox
    # and for a reefer perhaps a clip-on genset, in the order the builder chose.
    lo, hi = legs + 350, centres[-1] - 700
    spare_x = lo + 560 if not long else float(np.clip(xf + 0.45 * length, lo + 560, hi - 560))
    spare_z = z_bottom(spare_x) - 230
    _spare_wheel(p, spare_x, spare_z)
    free = [(lo, spare_x - 640), (spare_x + 640, hi)]
    items = ["tanks", "toolbox"] + (["genset"] if genset else [])
    rng.shuffle(items)
    for item in items:
        need = {"tanks": 900.0, "toolbox": 800.0, "genset": 1900.0}[item]
        slot = next((s for s in free if s[1] - s[0] >= need), None)
        if slot is None:
            continue
        x = slot[0] + rng.uniform(0, 0.5 * (slot[1] - slot[0] - need))
        free.remove(slot)
        free.append((x + need + 50, slot[1]))
        zb = z_bottom(x + need / 2)
        if item == "tanks":
            for k in range(int(rng.integers(1, 4))):
                r = rng.uniform(120.0, 155.0)
                if rng.random() < 0.5:
                    p.tube_x("steel", x + 30, rng.uniform(500, 800), zb - r - 40 - k * 40, r, 3.0)
                else:
                    p.tube_y("steel", x + r + 300 * k, zb - r - 30, r, rng.uniform(50, 90), 3.0)
        elif item == "toolbox":
            bw, bh = rng.uniform(550, 750), rng.uniform(380, 480)
            p.shell("steel", x, zb - bh - 20, bw, bh, rng.uniform(40, 55), 1.5)
            for _ in range(int(rng.integers(2, 6))):  # tools, chains, a jack, straps
                tx, tz = x + rng.uniform(40, bw - 120), zb - bh + rng.uniform(0, bh - 160)
                p.box(
                    "steel", tx, tz, rng.uniform(40, 120), rng.uniform(20, 120), rng.uniform(1, 6)
                )
        else:
            _genset(p, rng, x, zb)
    # Air lines, the brake line and the electric cable from the front to the valves by the
    # axles, sagging between their clips.
    valve_x = centres[-1] - 400
    p.shell("aluminium", valve_x - 90, z_bottom(valve_x) - 160, 180, 140, 16.0, 12.0)
    for k in range(int(rng.integers(3, 6))):
        z0 = z_top(x0 + 300) - 40 - 30 * k
        pts = [(x0 + 100, z0)]
        x = x0 + 100
        while x < valve_x:
            step = rng.uniform(500, 900)
            sag = rng.uniform(0, 25)
            x_next = min(x + step, valve_x)
            z_clip = max(z_top(x_next) - 40 - 30 * k, z_bottom(x_next) + 20)
            pts += [((x + x_next) / 2, z_clip - sag), (x_next, z_clip)]
            x = x_next
        material, radius, scale = (
            ("steel", 5.0, 0.35)
            if k == 0
            else ("rubber", 8.0, 0.8)
            if k == 1
            else ("polyethylene", 7.0, 0.45)
        )
        for a, b in itertools.pairwise(pts):
            p.rod(material, a, b, radius, scale=scale)
    return centres, (spare_x, spare_z)


def _genset(p: _Parts, rng: np.random.Generator, x: float, z_hang: float) -> None:
    """A clip-on (underslung) diesel generator set for a reefer on the road: steel
    enclosure, engine block, alternator, radiator and its fuel tank (about 900 kg)."""
    length, height = 1800.0, 760.0
    z0 = z_hang - height - 20
    p.shell("steel", x, z0, length, height, 180.0, 2.0)
    p.box("steel", x, z0, length, 8, 2 * 10.0)  # mounting frame
    p.box("cast_iron", x + 250, z0 + 120, 560, 430, 32.0)  # engine block
    p.tube_x("steel", x + 850, 420, z0 + 330, 190, 8.0)  # alternator
    p.add("copper", p.canvas.cylinder_x(x + 900, 320, z0 + 330, 150), scale=0.35)
    p.box("aluminium", x + 60, z0 + 80, 110, 560, 80.0, scale=0.12)  # radiator
    fuel = rng.uniform(0.2, 0.95)
    p.shell("aluminium", x + 1320, z0 + 60, 440, 560, 120.0, 3.0)
    p.box("diesel", x + 1323, z0 + 63, 434, 554 * fuel, 119.0)


def _spare_wheel(p: _Parts, xc: float, zc: float) -> None:
    """A spare wheel lying flat in its carrier: a flat band seen edge-on."""
    p.box("tyre", xc - 510, zc - 160, 1020, 320, 8.0)
    p.box("tyre", xc - 510, zc - 160, 60, 320, 80.0)
    p.box("tyre", xc + 450, zc - 160, 60, 320, 80.0)
    p.box("steel", xc - 290, zc - 120, 580, 240, 3.0)
    p.box("steel", xc - 600, zc - 200, 1200, 30, 2 * 6.0)  # carrier
    p.box("steel", xc - 600, zc - 200, 30, 400, 2 * 6.0)
    p.box("steel", xc + 570, zc - 200, 30, 400, 2 * 6.0)


def _container_on_chassis(
    canvas: Canvas, vehicle_type: str, rng: np.random.Generator
) -> VehicleLayout:
    box = CONTAINER_BOXES[vehicle_type]
    tractor_gap = rng.uniform(500.0, 900.0)
    tractor_rear = 2600.0
    kingpin_x = _tractor_rear(canvas, tractor_rear, rng)
    x_front = max(kingpin_x - 800.0, tractor_rear - 1200.0) + tractor_gap
    zu = DECK_MM + rng.uniform(-40.0, 40.0)
    chassis = _Parts(canvas)
    genset = box.reefer and box.length > 7000 and rng.random() < 0.5
    centres, spare = _container_chassis(chassis, rng, x_front, box.length, zu, genset=genset)
    body = _Parts(canvas)
    draw = _reefer_box if box.reefer else _dry_box
    cargo = draw(body, rng, box, x_front, zu)
    return VehicleLayout(
        vehicle_type,
        cargo,
        cargo.x0,
        cargo.z0,
        spare,
        centres,
        round(body.kg, 1),
        (x_front, x_front + box.length, zu, zu + box.height),
    )


# --- other vehicles ------------------------------------------------------------------------


def _skeletal_chassis(canvas: Canvas, x0: float, x1: float, axles: int) -> tuple[float, ...]:
    """A flat-bed trailer chassis: gooseneck main rails, cross bars, landing legs, axles."""
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
    _spare_wheel(_Parts(canvas), *spare)
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
