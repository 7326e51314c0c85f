"""The loads of the real trades: package shapes, weights, how dark they scan, concealments in
them and what the declaration says."""

from __future__ import annotations

import numpy as np
import pytest

from scanlab.physics import basis_lookup, get_material, get_scanner
from scanlab.synth import CONCEALMENT_TYPES, THREAT_CLASSES, SceneSpec, generate_scene
from scanlab.synth._canvas import Canvas
from scanlab.synth._cargo import _big_bags, load_cargo, texture_goods
from scanlab.synth._concealments import IN_LOAD
from scanlab.synth._vehicles import CargoSpace

PITCH = 20.0
#: The commodities of the real export set and their HS headings (WCO nomenclature).
TRADES = {
    "frozen_beef": "0202",
    "frozen_poultry": "0207",
    "citrus": "0805",
    "coffee": "0901",
    "groundnuts": "1202",
    "sugar": "1701",
    "soybean_meal": "2304",
    "tyres": "4011",
    "cotton": "5201",
}


def _canvas(pitch_mm: float = 1.0, size: int = 400) -> Canvas:
    # One basis material that is the material itself: the canvas holds chord x density.
    return Canvas(size, size, pitch_mm, size * pitch_mm, lambda m: (1.0,), lambda m: 1.0, 1)


def test_round_block_is_a_spheroid_of_the_same_size():
    # radius = half the side: the package is a disc whose chord falls off like an ellipsoid's
    # of the same semi-axes (an independent primitive) and holds 2/3 pi r^2 depth.
    canvas = _canvas()
    block = canvas.block(200.0, 200.0, 160.0, 160.0, 30.0, radius=80.0)
    spheroid = canvas.ellipsoid(200.0, 200.0, 80.0, 80.0, 15.0)
    assert block.rows == spheroid.rows and block.cols == spheroid.cols
    # (Margins this wide are sampled once per pixel: the rim pixels differ by a few %.)
    np.testing.assert_allclose(block.chord_cm, spheroid.chord_cm, atol=0.04 * 30.0)
    volume_cm3 = block.chord_cm.sum() * 0.01  # 1 mm pixels: 0.01 cm² each
    assert volume_cm3 == pytest.approx(2 / 3 * np.pi * 8.0**2 * 30.0, rel=0.01)


def test_square_block_is_a_box_and_turns_with_its_tilt():
    canvas = _canvas()
    block = canvas.block(200.0, 200.0, 120.0, 60.0, 10.0)
    box = canvas.box(140.0, 170.0, 120.0, 60.0, 10.0)
    np.testing.assert_allclose(block.chord_cm, box.chord_cm, atol=1e-5)
    upright = canvas.block(200.0, 200.0, 60.0, 120.0, 10.0, radius=20.0)
    turned = canvas.block(200.0, 200.0, 120.0, 60.0, 10.0, radius=20.0, tilt=np.pi / 2)
    np.testing.assert_allclose(upright.chord_cm, turned.chord_cm, atol=0.05)


def test_sagging_block_drops_its_middle_and_keeps_its_ends():
    canvas = _canvas()
    flat = canvas.block(200.0, 200.0, 300.0, 60.0, 10.0, radius=10.0)
    sagged = canvas.block(200.0, 200.0, 300.0, 60.0, 10.0, radius=10.0, sag=25.0)

    def lowest_row(fp, col):  # rows grow downwards: the bottom edge of the package
        return fp.rows.start + np.nonzero(fp.chord_cm[:, col - fp.cols.start] > 5)[0].max()

    assert lowest_row(sagged, 200) - lowest_row(flat, 200) == pytest.approx(25, abs=1)
    assert abs(lowest_row(sagged, 60) - lowest_row(flat, 60)) <= 3


@pytest.mark.parametrize(
    ("material", "element", "fraction"),
    [
        ("sugar", "C", 12 * 12.011 / 342.30),  # sucrose C12H22O11
        ("frozen_meat", "N", 0.2 * 0.17),  # 20 % protein at 17 % nitrogen
        ("polypropylene", "H", 6 * 1.008 / 42.08),
    ],
)
def test_food_materials_have_their_composition(material, element, fraction):
    got = get_material(material)
    assert got.composition[element] == pytest.approx(fraction, rel=0.05)
    assert 5.0 < got.z_eff < 8.5  # organic


@pytest.mark.parametrize("height_mm", [2390.0, 2690.0])  # a standard and a high-cube box
def test_cotton_is_stowed_up_to_the_roof(height_mm):
    # Cotton fills a box before it reaches the payload limit: on the tier of bales standing on
    # end (1.40 m) the tiers on top (on edge, 0.84 m, or flat, 0.53 m) take what the roof
    # leaves: the load reaches to within 0.4 m of the roof in most boxes of either height (a
    # flat tier alone, as before, left 0.50-0.58 m in a standard box and 0.80-0.88 m in a
    # high cube, 8 seeds).
    space = CargoSpace(1000.0, 13000.0, 1000.0, 1000.0 + height_mm, 235.2)
    density = lambda m: get_material(m).density_g_cm3  # noqa: E731
    gaps = []
    for seed in range(8):
        canvas = Canvas(480, 1500, 10.0, 4800.0, lambda m: (1.0,), density, 1)
        load_cargo(canvas, space, "cotton", fill=1.0, rng=np.random.default_rng(seed))
        profile = np.median(canvas.basis[0][:, 150:1150], axis=1)
        top_row = np.nonzero(profile > 0.5 * profile.max())[0].min()
        gaps.append(space.z1 - (4800.0 - 10.0 * top_row))
    assert np.median(gaps) < 400.0 and max(gaps) < 600.0, gaps


@pytest.mark.parametrize("commodity", [c for c in TRADES if c != "tyres"])
def test_every_package_holds_its_recorded_depth_of_goods(commodity):
    # Concealments hollow a package's recorded box down to its recorded depth: the goods must
    # be there, or the scene would hold negative matter.
    space = CargoSpace(1000.0, 13000.0, 1000.0, 3390.0, 235.2)
    density = lambda m: get_material(m).density_g_cm3  # noqa: E731
    canvas = Canvas(480, 1500, 10.0, 4800.0, lambda m: (1.0,), density, 1)
    load = load_cargo(canvas, space, commodity, fill=1.0, rng=np.random.default_rng(8))
    assert load is not None and len(load.units) >= load.packages / 8 > 2
    hosts = [u for u in load.units if u.length > 40 and u.height > 40]
    assert len(hosts) > 0.8 * len(load.units)
    for unit in hosts:
        c0, c1 = int(np.ceil(unit.x0 / 10)), int((unit.x0 + unit.length) / 10)
        r0, r1 = int(np.ceil((4800 - unit.z0 - unit.height) / 10)), int((4800 - unit.z0) / 10)
        held = canvas.basis[0, r0:r1, c0:c1]
        need = unit.depth_cm * unit.scale * density(unit.material)
        assert held.min() >= 0.97 * need


@pytest.fixture(scope="module")
def empty_scenes():
    return {
        v: generate_scene(SceneSpec(v, "empty", 0.0), 3, pitch_mm=PITCH)
        for v in ("container_20ft", "container_40ft")
    }


#: (vehicle, commodity) -> true goods weight range (t) of a full load of the real trade:
#: reefers of frozen beef ~26 t, of poultry and citrus 19-26 t; 320 bags of coffee to 19.2 t in
#: a 20 ft box; bagged sugar and meal 20-27 t; cotton 16-25 t of bales; ~1,000 car tyres 8-12 t.
WEIGHTS_T = {
    ("container_40ft", "frozen_beef"): (21, 28),
    ("container_40ft", "frozen_poultry"): (18, 27),
    ("container_40ft", "citrus"): (17, 26),
    ("container_20ft", "coffee"): (13, 20),
    ("container_20ft", "groundnuts"): (10, 20),
    ("container_40ft", "sugar"): (17, 27),
    ("container_40ft", "soybean_meal"): (18, 27),
    ("container_40ft", "cotton"): (12, 25),  # bales on end, then on edge or flat on top
    ("container_40ft", "tyres"): (5.5, 12),
}


@pytest.mark.parametrize(("vehicle", "commodity"), list(WEIGHTS_T))
def test_full_loads_weigh_and_scan_as_their_trade(vehicle, commodity, empty_scenes):
    scene = generate_scene(SceneSpec(vehicle, commodity, 1.0), 3, pitch_mm=PITCH)
    (entry,) = scene.key.true_load
    low, high = WEIGHTS_T[vehicle, commodity]
    assert low * 1000 <= entry["mass_kg"] <= high * 1000
    # The goods alone (same seed: the same vehicle): where they lie, what they weigh per cm²
    # of side view, scanned at 6 MeV, must be as dark as that much water-like matter.
    goods = scene.ideal_attenuation[0] - empty_scenes[vehicle].ideal_attenuation[0]
    loaded = goods > 0.05
    areal = entry["mass_kg"] * 1000 / (loaded.sum() * (PITCH / 10) ** 2)
    lookup = basis_lookup(get_scanner(scene.spec.scanner))
    water = np.asarray(lookup.decompose("water"), np.float32)[:, None, None]
    expected = -np.log(lookup.transmission(water * np.float32(areal))[0, 0, 0])
    assert np.median(goods[loaded]) == pytest.approx(expected, rel=0.3)
    if commodity == "tyres":
        # Rubber rings with air between: light, most of the load lets through over 5 %.
        assert areal < 45 and np.mean(goods[loaded] < 3.0) > 0.8
    else:
        # Dense loads are 80-180 g/cm² thick (cotton bales 60-80): near-black (under 2 %
        # transmitted; cotton under 5 %) over most of their side, as real exports of meat,
        # meal and cotton are.
        assert areal > (60 if commodity == "cotton" else 80)
        black = -np.log(0.05 if commodity == "cotton" else 0.02)
        assert np.mean(scene.ideal_attenuation[0][loaded] > black) > 0.6


def _column_profile(commodity: str, seed: int) -> tuple[np.ndarray, float]:
    scene = generate_scene(SceneSpec("container_40ft", commodity, 1.0), seed, pitch_mm=10.0)
    space = scene.layout.cargo
    z_to_row = lambda z: int((4600.0 - z) / 10.0)  # noqa: E731 - scene height is 4.6 m
    band = slice(z_to_row(space.z0 + 1000), z_to_row(space.z0 + 300))
    cols = slice(int(space.x0 / 10) + 20, int(space.x1 / 10) - 20)
    return scene.ideal_attenuation[0][band, cols].mean(axis=0), space.length


@pytest.mark.parametrize("commodity", ["cotton", "frozen_beef", "citrus"])
def test_stacks_show_soft_bright_gaps_between_columns(commodity):
    profile, _ = _column_profile(commodity, 5)
    plateau = np.percentile(profile, 80)
    # Bright gaps: dips of at least 15 % below the stacks, every metre or two.
    dips = (
        (profile[1:-1] < 0.85 * plateau)
        & (profile[1:-1] <= profile[:-2])
        & (profile[1:-1] <= profile[2:])
    )
    assert dips.sum() >= 5
    # Soft: from gap to stack the profile climbs over several 10 mm columns, not one step.
    steps = np.abs(np.diff(profile)) / plateau
    assert np.percentile(steps, 99) < 0.5


def test_bags_are_pillows_not_boxes():
    scene = generate_scene(SceneSpec("container_20ft", "soybean_meal", 1.0), 4, pitch_mm=10.0)
    space = scene.layout.cargo
    # Inside the stack, rows through the middle of a bag layer and through the seams between
    # layers differ smoothly: many distinct levels, not two.
    rows = slice(int((4600 - space.z0 - 1200) / 10), int((4600 - space.z0 - 200) / 10))
    cols = slice(int(space.x0 / 10) + 30, int(space.x1 / 10) - 30)
    att = scene.ideal_attenuation[0][rows, cols]
    levels = np.unique(np.round(att / att.max(), 2))
    assert levels.size > 40
    assert att.min() < 0.8 * np.median(att)  # the seams let more through


@pytest.mark.parametrize("commodity", list(TRADES))
@pytest.mark.parametrize("kind", CONCEALMENT_TYPES)
def test_every_concealment_hides_in_every_trade(commodity, kind):
    spec = SceneSpec("container_40ft", commodity, 0.7, [kind])
    scene = generate_scene(spec, 21, pitch_mm=40.0)
    (obj,) = scene.key.objects
    assert obj.threat_class in THREAT_CLASSES
    r0, c0, r1, c1 = obj.bbox
    assert 0 <= r0 < r1 <= scene.scan.shape[0] and 0 <= c0 < c1 <= scene.scan.shape[1]
    assert obj.mask.any() and obj.mass_kg > 0.1
    att = scene.ideal_attenuation[0]
    assert np.all(np.isfinite(att)) and att.min() > -1e-4
    if kind in IN_LOAD:
        # The load is drawn before the concealment from the same stream: the clean scene of
        # the same seed differs only inside the answer key's box.
        clean = generate_scene(SceneSpec("container_40ft", commodity, 0.7), 21, pitch_mm=40.0)
        changed = np.abs(att - clean.ideal_attenuation[0]) > 1e-4
        inside = np.zeros_like(changed)
        inside[r0:r1, c0:c1] = True
        assert changed.any() and not (changed & ~inside).any()
        if kind in ("drugs_in_cargo", "cash") and commodity != "tyres":
            # Hidden among the goods: where the bricks are, the clean load is dense.
            assert obj.concealment == "in_cargo"
            assert np.median(clean.ideal_attenuation[0][r0:r1, c0:c1][obj.mask]) > 1.0
            if commodity == "frozen_beef":
                assert "frozen_meat" in obj.description


@pytest.mark.parametrize(("commodity", "hs"), list(TRADES.items()))
def test_declarations_name_the_goods_by_hs_code(commodity, hs):
    scene = generate_scene(SceneSpec("container_20ft", commodity, 0.9), 6, pitch_mm=40.0)
    (line,) = scene.key.declaration.goods
    assert line.hs_code == hs and line.commodity == commodity
    (entry,) = scene.key.true_load
    assert line.packages == entry["packages"] > 0
    assert line.gross_kg == pytest.approx(entry["mass_kg"], rel=0.06)
    assert scene.key.declaration_consistent


@pytest.mark.parametrize("height_mm", [2393.0, 2698.0])
def test_big_bags_stop_at_the_payload_limit(height_mm):
    # A 40 ft sugar load of 1 t big bags weighed 27.8 t: more than a 40 ft box may carry.
    from scanlab.physics import get_material
    from scanlab.synth._cargo import PACKINGS, _big_bags

    limit = PACKINGS["sugar"].payload_kg
    for seed in range(6):
        canvas = Canvas(
            150, 650, PITCH, 3000.0, lambda m: (1.0,), lambda m: get_material(m).density_g_cm3, 1
        )
        space = CargoSpace(100.0, 12132.0, 100.0, 100.0 + height_mm, 235.2)
        load = _big_bags(canvas, space, np.random.default_rng(seed), 1.0, "sugar")
        assert 0.6 * limit < load.mass_kg <= limit


def test_goods_get_a_grain_texture_that_keeps_their_mass():
    # 2.3 m of goods at 0.5 g/cm³ over a 1 m x 1 m block: 115 g/cm² everywhere in it.
    canvas = Canvas(300, 300, 5.0, 1500.0, lambda m: (1.0,), lambda m: 0.5, 1)
    before = canvas.basis.copy()
    canvas.add("goods", canvas.box(250.0, 250.0, 1000.0, 1000.0, 230.0))
    goods = canvas.basis - before
    # A concealment has since hollowed out the left half of the block down to a fifth.
    canvas.basis[:, :, :150] = np.where(goods[:, :, :150] > 0, 0.2 * 115.0, 0.0)
    texture_goods(canvas, before, goods, np.random.default_rng(0), rel_std=0.03, grain_mm=8.0)
    whole = canvas.basis[0, 60:240, 160:240] / 115.0
    hollow = canvas.basis[0, 60:240, 60:140] / (0.2 * 115.0)
    # A few per cent from pixel to pixel, about the mean, and as much where less is left.
    assert whole.mean() == pytest.approx(1.0, abs=0.003)
    assert whole.std() == pytest.approx(0.03, rel=0.15)
    assert hollow.mean() == pytest.approx(1.0, abs=0.003)
    assert hollow.std() == pytest.approx(0.03, rel=0.15)
    # Correlated over about a grain (8 mm: a pixel and a half), not pixel to pixel.
    neighbour = np.corrcoef(whole[:, :-1].ravel(), whole[:, 1:].ravel())[0, 1]
    assert 0.6 < neighbour < 0.95
    # Outside the goods nothing is added.
    assert np.all(canvas.basis[0, :40] == 0) and np.all(canvas.basis[0, :, 260:] == 0)


@pytest.mark.parametrize(
    "commodity",
    ["frozen_poultry", "citrus", "coffee", "soybean_meal", "cotton", "tyres", "sugar_big_bags"],
)
def test_rows_across_the_width_are_imaged_at_their_depths(commodity):
    # A portal's beam diverges from a source 1.9 m high, 3.7 m from the vehicle's middle. The
    # rows of packages across the width (stacks of tyres, halves of the bales) lie at their
    # own depths: the near ones are magnified more, so a full load's top fades over about
    # (z_top - z_s) W / L, as in real portal exports, where parallel rays end it in a line.
    space = CargoSpace(1000.0, 7000.0, 1250.0, 3640.0, 235.2)
    density = lambda m: get_material(m).density_g_cm3  # noqa: E731

    def draw(source: bool):
        canvas = Canvas(480, 800, 10.0, 4800.0, lambda m: (1.0,), density, 1)
        if source:
            canvas.source_z_mm, canvas.source_distance_mm = 1900.0, 3700.0
        rng = np.random.default_rng(5)
        if commodity == "sugar_big_bags":
            load = _big_bags(canvas, space, rng, 1.0, "sugar")
        else:
            load = load_cargo(canvas, space, commodity, fill=1.0, rng=rng)
        return canvas, load

    def top_fade_mm(canvas: Canvas) -> float:
        # Above the load's core, the rows at 10-90 % of its full areal density.
        profile = np.median(canvas.basis[0][:, 150:650], axis=1)
        full = np.median(profile[profile > 0.5 * profile.max()])
        core_top = np.nonzero(profile >= 0.9 * full)[0].min()
        fading = (profile > 0.1 * full) & (profile < 0.9 * full)
        return float(fading[:core_top].sum() * 10.0)

    (parallel, flat), (diverging, load) = draw(False), draw(True)
    depths = sorted({u.y_mm for u in load.units})
    assert len(depths) >= 2 and depths[0] < 0 < depths[-1]
    assert depths[0] == pytest.approx(-depths[-1]) and depths[-1] < 10.0 * space.depth_cm / 2
    assert {u.y_mm for u in flat.units} == set(depths)  # where goods lie is the scene's own
    assert load.mass_kg == pytest.approx(flat.mass_kg)
    z_top = max(u.z0 + u.height for u in load.units)
    spread = (z_top - 1900.0) * space.depth_cm * 10.0 / 3700.0
    assert top_fade_mm(diverging) > 0.5 * spread
    if commodity != "tyres":  # tilted rings fade at the top even in parallel rays
        assert top_fade_mm(parallel) < 0.2 * spread


@pytest.mark.parametrize(
    ("commodity", "kind"),
    [
        ("frozen_beef", "drugs_in_cargo"),
        ("sugar", "cash"),
        ("cotton", "pistol"),
        ("tyres", "drugs_in_tyre"),
    ],
)
def test_what_is_hidden_in_a_package_lies_at_its_depth_in_a_portal_scan(commodity, kind):
    # Bricks displace the goods of a package in its own row across the width: in a diverging
    # beam they are imaged where the package is, so no negative matter appears, and the
    # scene changes only inside the answer key's box.
    spec = SceneSpec("container_40ft", commodity, 0.7, [kind], scanner="scanlab-6MV-portal")
    scene = generate_scene(spec, 4, pitch_mm=20.0)
    clean = generate_scene(
        SceneSpec("container_40ft", commodity, 0.7, scanner="scanlab-6MV-portal"), 4, pitch_mm=20.0
    )
    (obj,) = scene.key.objects
    att, before = scene.ideal_attenuation[0], clean.ideal_attenuation[0]
    assert att.min() > -1e-4
    r0, c0, r1, c1 = obj.bbox
    changed = np.abs(att - before) > 1e-4
    inside = np.zeros_like(changed)
    inside[r0:r1, c0:c1] = True
    assert changed.any() and not (changed & ~inside).any()
    assert obj.concealment in ("in_cargo", "tyre")
