"""Vehicles drawn from their real parts: sizes, tares, areal densities, concealments."""

from __future__ import annotations

import numpy as np
import pytest

from scanlab.physics import get_material
from scanlab.synth import CONCEALMENT_TYPES, SceneSpec, generate_scene
from scanlab.synth._canvas import Canvas
from scanlab.synth._vehicles import draw_vehicle, texture_vehicle, vehicle_extent_mm

NEW_VEHICLES = ("container_40ft_hc", "reefer_20ft", "reefer_40ft")
CONTAINERS = ("container_20ft", "container_40ft", *NEW_VEHICLES)

#: Tare ranges of the types in operators' published fleet data (kg): 20 ft dry 2,150-2,300,
#: 40 ft dry 3,650-3,800, 40 ft high-cube dry 3,800-4,000, 20 ft reefer 2,750-3,100,
#: 40 ft high-cube reefer 4,480-4,800 (a few older boxes more).
TARE_KG = {
    "container_20ft": (2150, 2300),
    "container_40ft": (3650, 3800),
    "container_40ft_hc": (3800, 4000),
    "reefer_20ft": (2750, 3100),
    "reefer_40ft": (4480, 4900),
}
#: Inside length, width and height (mm) the operators publish for each type.
INSIDE_MM = {
    "container_20ft": (5898, 2352, 2393),
    "container_40ft": (12032, 2352, 2393),
    "container_40ft_hc": (12032, 2352, 2698),
    "reefer_20ft": (5444, 2294, 2276),
    "reefer_40ft": (11583, 2294, 2554),
}
MATERIALS = (
    "steel",
    "stainless_steel",
    "aluminium",
    "copper",
    "cast_iron",
    "plywood",
    "polyurethane_foam",
    "rubber",
    "tyre",
    "polyethylene",
    "diesel",
    "wood",
    "glass",
)


def per_material_canvas(vehicle, seed, pitch_mm=10.0):
    """Draw a vehicle on a canvas whose 'basis' is one channel per material, so each
    channel holds that material's areal density (g/cm²): what the drawing puts where."""
    length, height = vehicle_extent_mm(vehicle)

    def one_hot(material):
        return tuple(float(m == material) for m in MATERIALS)

    canvas = Canvas(
        round(height / pitch_mm),
        round(length / pitch_mm),
        pitch_mm,
        height,
        one_hot,
        lambda m: get_material(m).density_g_cm3,
        len(MATERIALS),
    )
    layout = draw_vehicle(canvas, vehicle, np.random.default_rng(seed))
    return canvas, layout


def areal(canvas, material, x_mm, z_mm):
    return float(canvas.basis[MATERIALS.index(material), int(canvas.row_of(z_mm)), int(x_mm / 10)])


@pytest.mark.parametrize("vehicle", CONTAINERS)
def test_container_tare_is_the_mass_of_its_parts_and_matches_real_boxes(vehicle):
    low, high = TARE_KG[vehicle]
    tares = [
        generate_scene(SceneSpec(vehicle, "empty", 0.0), seed, pitch_mm=40.0).layout.tare_kg
        for seed in range(4)
    ]
    assert all(low * 0.97 <= t <= high * 1.03 for t in tares), tares
    # The mass is that of the drawn volumes: it does not depend on the pixel size.
    fine = generate_scene(SceneSpec(vehicle, "empty", 0.0), 0, pitch_mm=10.0).layout.tare_kg
    assert fine == pytest.approx(tares[0], rel=0.01)


@pytest.mark.parametrize("vehicle", CONTAINERS)
def test_load_space_has_the_published_inside_size(vehicle):
    space = generate_scene(SceneSpec(vehicle, "empty", 0.0), 1, pitch_mm=40.0).layout.cargo
    length, width, height = INSIDE_MM[vehicle]
    assert space.length == pytest.approx(length, abs=1)
    assert space.depth_cm * 10 == pytest.approx(width, abs=1)
    assert space.height == pytest.approx(height, abs=1)


def test_dry_box_walls_and_floor_have_their_real_areal_density():
    canvas, layout = per_material_canvas("container_40ft", 3)
    space = layout.cargo
    z_mid = (space.z0 + space.z1) / 2
    walls = [
        areal(canvas, "steel", x, z_mid) for x in np.arange(space.x0 + 300, space.x1 - 300, 10)
    ]
    # Two 1.6 mm Corten side walls: 2 x 0.16 cm x 7.85 g/cm³ = 2.51 g/cm² over the flat
    # faces; over the flanks (69 mm run, 36 mm rise) 13 % more.
    # At the vehicle's yaw the two walls' flank stripes part; on average over whole
    # corrugations the flanks (2 x 69 of every 278 mm) add 13 % x 138/278 = 6.4 %.
    walls = np.array(walls)
    assert np.min(walls) == pytest.approx(2.51, rel=0.02)
    assert np.mean(walls) == pytest.approx(2.51 * (1 + 0.128 * 138 / 278), rel=0.01)
    assert np.mean(walls > 2.55) > 0.3  # the stripes: faint, but over a third of the wall
    # The 28 mm hardwood plywood floor seen across the inside width: 235.2 cm x 0.75 g/cm³.
    floor = areal(canvas, "plywood", (space.x0 + space.x1) / 2, space.z0 - 14)
    assert floor == pytest.approx(235.2 * 0.75, rel=0.01)


def test_reefer_is_insulated_with_foam_and_has_an_aluminium_t_floor():
    canvas, layout = per_material_canvas("reefer_40ft", 5)
    space = layout.cargo
    x_mid = (space.x0 + space.x1) / 2
    # Side walls: 2 x ~70 mm of polyurethane foam (42 kg/m³) = 0.59 g/cm².
    foam_wall = areal(canvas, "polyurethane_foam", x_mid, (space.z0 + space.z1) / 2)
    assert foam_wall == pytest.approx(2 * 7.0 * 0.042, rel=0.05)
    # Roof and floor: foam seen across the inside width, 229.4 cm x 0.042 = 9.6 g/cm².
    assert areal(canvas, "polyurethane_foam", x_mid, space.z1 + 50) == pytest.approx(9.6, rel=0.05)
    assert areal(canvas, "polyurethane_foam", x_mid, space.z0 - 120) == pytest.approx(9.6, rel=0.05)
    # T-floor webs (2.5 mm every 45 mm): 229.4 cm x 2.5/45 x 2.699 g/cm³ = 34.4 g/cm².
    assert areal(canvas, "aluminium", x_mid, space.z0 - 30) == pytest.approx(34.4, rel=0.05)
    # No foam and no T-floor in a dry box.
    dry, _ = per_material_canvas("container_40ft_hc", 5)
    index = MATERIALS.index("polyurethane_foam")
    assert not dry.basis[index].any()


def test_reefer_front_end_holds_the_refrigeration_machinery():
    reefer, layout = per_material_canvas("reefer_20ft", 2)
    dry, dry_layout = per_material_canvas("container_20ft", 2)

    def front_end(canvas, lay, material):
        x0, _x1, zu, zt = lay.body_mm
        c0, c1 = int(x0 / 10), int(lay.cargo.x0 / 10)
        r0, r1 = int(canvas.row_of(zt)), int(canvas.row_of(zu))
        window = canvas.basis[MATERIALS.index(material), r0:r1, c0:c1]
        return float(window.sum(dtype=np.float64)) * 1.0 / 1000.0  # g/cm² x 1 cm² pixels

    # Copper of the coils, compressor windings and power cable: tens of kilograms.
    assert 30.0 < front_end(reefer, layout, "copper") < 150.0
    assert front_end(dry, dry_layout, "copper") == 0.0
    # The front end is ~450 mm deep and, with the unit, far denser than a dry box's.
    assert layout.cargo.x0 - layout.body_mm[0] == pytest.approx(484, abs=5)
    steel = sum(front_end(reefer, layout, m) for m in ("steel", "stainless_steel", "aluminium"))
    dry_steel = sum(front_end(dry, dry_layout, m) for m in ("steel", "aluminium"))
    assert steel > 2 * dry_steel


@pytest.mark.parametrize("vehicle", ["container_40ft", "reefer_40ft"])
def test_floor_cross_members_are_irregular_like_welded_ones(vehicle):
    canvas, layout = per_material_canvas(vehicle, 7)
    x0, x1, zu, _ = layout.body_mm
    # The cross-members' webs: columns of steel seen across the width, 60 mm below the floor
    # plates, behind the gooseneck tunnel.
    z = zu + 60
    start = int((x0 + 3300) / 10)
    row = canvas.basis[MATERIALS.index("steel"), int(canvas.row_of(z)), start : int(x1 / 10) - 20]
    webs = np.nonzero(row > 100.0)[0]
    centres = webs[np.r_[True, np.diff(webs) > 6]] * 10.0  # a tube's two walls are one member
    gaps = np.diff(centres)
    # Real floors: 240-450 mm apart on average, unevenly (doubled ones 90-130 mm apart).
    assert 240 <= np.median(gaps) <= 450
    assert np.std(gaps) > 25.0
    assert len(centres) > (x1 - x0 - 3300) / 500


@pytest.mark.parametrize("vehicle", NEW_VEHICLES)
@pytest.mark.parametrize("kind", CONCEALMENT_TYPES)
def test_every_concealment_works_in_the_new_vehicles(vehicle, kind):
    cargo = "tyres" if kind == "drugs_in_tyre" else "paper_goods"
    fill = 0.3 if kind == "vehicle" else 0.6
    scene = generate_scene(SceneSpec(vehicle, cargo, fill, [kind]), 3, pitch_mm=40.0)
    assert len(scene.key.objects) == 1
    obj = scene.key.objects[0]
    assert obj.mask.any() and obj.mass_kg > 0.3
    r0, c0, r1, c1 = obj.bbox
    inside = scene.ideal_attenuation[0, r0:r1, c0:c1][obj.mask].mean()
    assert inside > obj.difficulty.superposition
    # Space-changing and in-load concealments stay in the body or its chassis.
    x0, x1, _, z_roof = scene.layout.body_mm
    assert c0 * 40.0 >= x0 - 700 and c1 * 40.0 <= x1 + 40
    assert (4600 - r0 * 40.0) <= z_roof + 40


@pytest.mark.parametrize("vehicle", CONTAINERS)
def test_stowaways_fit_in_every_container(vehicle):
    for seed in range(6):
        for cargo, fill in (("empty", 0.0), ("paper_goods", 0.5), ("paper_goods", 0.95)):
            spec = SceneSpec(vehicle, cargo, fill, ["stowaway"])
            scene = generate_scene(spec, seed, pitch_mm=40.0)
            obj = scene.key.objects[0]
            space = scene.layout.cargo
            _, c0, r1, c1 = obj.bbox
            # The person is in the load space (a lying one may reach past its ends: the
            # concealment's placement, not the space) and on or above its floor.
            assert space.x0 <= (c0 + c1) / 2 * 40.0 <= space.x1
            assert 4600 - r1 * 40.0 >= space.z0 - 2 * 40.0  # the bottom row is partly filled


@pytest.mark.parametrize("vehicle", CONTAINERS)
def test_hollow_parts_never_leave_negative_material(vehicle):
    # Tubes, boxes and castings are drawn as a solid minus their hollow; at the vehicle's
    # yaw both smear alike, so no pixel may hold less than no material.
    for seed in range(3):
        canvas, _ = per_material_canvas(vehicle, seed, pitch_mm=20.0)
        assert canvas.basis.min() > -1e-3 * canvas.basis.max()


def test_twin_tyres_are_slabs_whose_tread_a_diverging_beam_spreads_into_an_arch():
    from scanlab.synth._vehicles import WHEELS, _wheel

    # Source 2,400 mm high, 3,600 mm from the centre plane; twin tyres (4 across the axle)
    # 1,020 mm tall, each side a slab 2 x 315 + 40 = 670 mm thick about +-950 mm.
    canvas = Canvas(700, 200, 5.0, 3000.0, lambda m: (1.0,), lambda m: 1.0, 1)
    canvas.source_z_mm, canvas.source_distance_mm = 2400.0, 3600.0
    _wheel(canvas, 500.0, tyres=4)
    column = canvas.basis[0, :, 100]  # through the hub (x = 500 mm)

    def image_mm(y_mm: float) -> float:  # where the top of the tread (z = 1,020) appears
        return 2400.0 + (1020.0 - 2400.0) * 3600.0 / (3600.0 + y_mm)

    # The far wheel's tread top is crossed along the 670 mm and spreads from its near
    # face's image to its far face's (1,221-1,383 mm), not a 30 mm ring at one height.
    far_near, far_far = image_mm(WHEELS[1] - 335.0), image_mm(WHEELS[1] + 335.0)
    lit_mm = 3000.0 - 5.0 * np.flatnonzero(column > 1e-6)
    assert lit_mm.max() == pytest.approx(far_far, abs=10.0)
    band = column[int((3000.0 - far_far) / 5.0) + 1 : int((3000.0 - far_near) / 5.0)]
    assert band.size >= 25 and np.all(band > 0)
    # The axle tube spans the track about the centre plane: its mass is the tube's.
    assert canvas.planes_mm is None


def test_the_vehicles_matter_is_uneven_by_a_few_per_cent_over_a_grain():
    # Sheet steel within its rolling tolerance, dents, rust, paint, the floor's wood grain:
    # the areal density of the vehicle's own parts varies by about 3 % over about 8 mm.
    canvas, _ = per_material_canvas("container_20ft", seed=3, pitch_mm=5.0)
    even = canvas.basis.copy()
    texture_vehicle(canvas, even, np.random.default_rng(4), rel_std=0.03, grain_mm=8.0)
    steel = even[MATERIALS.index("steel")]
    walls = steel > 1.0  # rails, posts, the floor's cross-members seen along their length
    ratio = canvas.basis[MATERIALS.index("steel")][walls] / steel[walls] - 1
    assert ratio.std() == pytest.approx(0.03, rel=0.2)
    # The mass is kept on average, air stays air and nothing goes negative.
    total_before, total_after = even.sum(), canvas.basis.sum()
    assert total_after == pytest.approx(total_before, rel=0.005)
    assert not canvas.basis[:, even.sum(axis=0) == 0].any()
    assert canvas.basis.min() >= 0
    # One field for every material, correlated over the grain: 8 mm at 5 mm pixels keeps
    # neighbours alike (a Gaussian field of sigma 1.6 px: correlation exp(-1 / 10.2) = 0.91).
    field = canvas.basis / np.where(even > 0, even, 1) - 1
    both = (even[MATERIALS.index("steel")] > 0) & (even[MATERIALS.index("plywood")] > 0)
    assert np.allclose(
        field[MATERIALS.index("steel")][both], field[MATERIALS.index("plywood")][both], atol=1e-5
    )
    f = np.where(walls, ratio.mean(), 0.0)
    f[walls] = ratio
    pairs = walls[:, :-1] & walls[:, 1:]
    neighbours = np.corrcoef(f[:, :-1][pairs], f[:, 1:][pairs])[0, 1]
    assert neighbours > 0.8


def test_the_paperwork_does_not_change_with_the_physics():
    # The detector noise takes as many draws as the scene needs, so the declaration and the
    # acquisition time come from a stream of their own: the same scene through another
    # scanner keeps its papers.
    spec = SceneSpec("container_20ft", "coffee", 0.6)
    a = generate_scene(spec, seed=11, pitch_mm=20.0)
    b = generate_scene(
        SceneSpec("container_20ft", "coffee", 0.6, scanner="scanlab-9MV-dual"),
        seed=11,
        pitch_mm=20.0,
    )
    assert not np.array_equal(a.scan.data, b.scan.data)
    assert a.key.declaration == b.key.declaration
    assert a.scan.metadata.acquired == b.scan.metadata.acquired
