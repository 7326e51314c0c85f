from __future__ import annotations

import numpy as np
import pytest

from scanlab.errors import SpecError
from scanlab.io import Representation
from scanlab.synth import (
    CARGO_TYPES,
    CONCEALMENT_TYPES,
    DECLARATION_MODES,
    THREAT_CLASSES,
    VEHICLE_TYPES,
    AnswerKey,
    SceneSpec,
    generate_scene,
)

PITCH = 20.0  # coarse pixels keep these tests fast; geometry is in millimetres anyway


def test_same_seed_same_scan_and_key():
    spec = SceneSpec("container_20ft", "paper_goods", 0.7, ["drugs_in_cargo", "pistol"])
    a = generate_scene(spec, 11, pitch_mm=PITCH)
    b = generate_scene(spec, 11, pitch_mm=PITCH)
    c = generate_scene(spec, 12, pitch_mm=PITCH)
    assert np.array_equal(a.scan.data, b.scan.data)
    assert a.key.to_json() == b.key.to_json()
    assert not np.array_equal(a.scan.data, c.scan.data)


def test_scan_is_dual_energy_raw_uint16_with_metadata():
    scene = generate_scene(SceneSpec("container_40ft", "tyres", 0.5), 1, pitch_mm=PITCH)
    scan = scene.scan
    assert scan.representation is Representation.COUNTS
    assert scan.data.dtype == np.uint16
    assert scan.is_dual_energy
    assert scan.metadata.energies_mev == (6.0, 4.0)
    assert scan.metadata.pitch_mm == (PITCH, PITCH)
    assert scan.metadata.vehicle_type == "container_40ft"
    # Air above the vehicle is open beam: transmission ~1 in both channels.
    air = scan.to_transmission().data[:, :5, :]
    assert np.allclose(air.mean(axis=(1, 2)), 1.0, atol=0.01)


#: Outside length and height of each vehicle's body (ISO 668 for containers: 20 ft 6,058 mm,
#: 40 ft 12,192 mm, 2,591 mm high, 2,896 mm for a high cube), and the box truck's range.
REAL_SIZE_MM = {
    "container_20ft": (6058, 2591),
    "container_40ft": (12192, 2591),
    "container_40ft_hc": (12192, 2896),
    "reefer_20ft": (6058, 2591),
    "reefer_40ft": (12192, 2896),
    "curtain_side": (13600, 3000),
    "box_truck": ((6000, 7200), 2630),
}


@pytest.mark.parametrize("vehicle", VEHICLE_TYPES)
def test_every_vehicle_is_drawn_at_its_real_size(vehicle):
    scene = generate_scene(SceneSpec(vehicle, "empty", 0.0), 2, pitch_mm=PITCH)
    att = scene.scan.to_attenuation().high
    # Columns with structure 2.95-3.6 m above the road: the load space, above any cab.
    band = slice(int((4600 - 3600) / PITCH), int((4600 - 2950) / PITCH))
    occupied = np.nonzero(att[band].max(axis=0) > 0.05)[0]
    length_mm = (occupied.max() - occupied.min() + 1) * PITCH
    # The roof: the top row with structure over the body, above the floor's underside.
    cols = slice(occupied.min() + 5, occupied.max() - 5)
    roof_mm = 4600 - np.nonzero(att[:, cols].mean(axis=1) > 0.05)[0].min() * PITCH
    height_mm = roof_mm - scene.layout.body_mm[2]
    length, height = REAL_SIZE_MM[vehicle]
    if isinstance(length, tuple):
        assert length[0] <= length_mm <= length[1] + 2 * PITCH
    else:
        # Seen at the vehicle's yaw a box L long and 2.44 m wide spans L cos + W sin along
        # the beam's normal; locking bars stand out a few centimetres at the rear.
        yaw = np.radians(abs(scene.layout.yaw_deg))
        seen = length * np.cos(yaw) + 2438 * np.sin(yaw)
        assert length * np.cos(yaw) - PITCH <= length_mm <= seen + 2 * PITCH + 20
    assert height_mm == pytest.approx(height, abs=2 * PITCH)
    # Something as dense as the floor (2.3 m of plywood or aluminium T-bars) is seen end-on.
    assert att.max() > 2.0


@pytest.mark.parametrize("cargo", [c for c in CARGO_TYPES if c != "empty"])
def test_every_cargo_type_adds_mass_and_attenuation(cargo):
    empty = generate_scene(SceneSpec("container_40ft", "empty", 0.0), 5, pitch_mm=PITCH)
    full = generate_scene(SceneSpec("container_40ft", cargo, 0.8), 5, pitch_mm=PITCH)
    load = full.key.true_load
    assert load and all(entry["mass_kg"] > 100 for entry in load)
    gained = full.ideal_attenuation[0].sum() - empty.ideal_attenuation[0].sum()
    assert gained > 0


@pytest.mark.parametrize("kind", CONCEALMENT_TYPES)
def test_every_concealment_is_in_the_key_and_in_the_image(kind):
    cargo = "tyres" if kind == "drugs_in_tyre" else "paper_goods"
    scene = generate_scene(SceneSpec("container_40ft", cargo, 0.6, [kind]), 7, pitch_mm=PITCH)
    assert len(scene.key.objects) == 1
    obj = scene.key.objects[0]
    assert obj.threat_class in THREAT_CLASSES
    assert obj.mass_kg > 0.3
    r0, c0, r1, c1 = obj.bbox
    assert 0 <= r0 < r1 <= scene.scan.shape[0]
    assert 0 <= c0 < c1 <= scene.scan.shape[1]
    assert obj.mask.any()
    assert len(obj.polygon) >= 3
    # The object attenuates: the scene's ideal attenuation inside the mask exceeds what the
    # difficulty measurement recorded as the background without the object.
    inside = scene.ideal_attenuation[0, r0:r1, c0:c1][obj.mask].mean()
    assert inside > obj.difficulty.superposition
    assert obj.difficulty.size_px == obj.mask.sum()
    assert obj.difficulty.level in ("easy", "medium", "hard")


def test_expected_classes_and_methods():
    cases = {
        "drugs_in_tyre": ("narcotics", "tyre"),
        "drugs_in_spare_wheel": ("narcotics", "spare_wheel"),
        "false_wall": (("narcotics", "cigarettes"), "false_wall"),
        "false_floor": (("narcotics", "cash"), "false_floor"),
        "cigarettes_behind_cargo": ("cigarettes", "behind_cargo"),
        "cash": ("cash", "in_cargo"),
        "rifle": ("weapon", "in_cargo"),
        "stowaway": ("stowaway", "in_cargo"),
        "vehicle": ("vehicle", "in_cargo"),
    }
    for kind, (classes, method) in cases.items():
        cargo = "tyres" if kind == "drugs_in_tyre" else "textiles"
        obj = generate_scene(
            SceneSpec("container_40ft", cargo, 0.5, [kind]), 3, pitch_mm=PITCH
        ).key.objects[0]
        assert obj.threat_class in (classes if isinstance(classes, tuple) else (classes,)), kind
        assert obj.concealment == method, kind


def test_weapons_are_steel_and_show_as_metal_in_dual_energy():
    spec = SceneSpec("container_20ft", "textiles", 0.5, ["rifle"])
    scene = generate_scene(spec, 4, pitch_mm=10.0)
    # The same seed without the rifle (drawn last) and without any load: the same vehicle
    # and load, so differences of noise-free attenuation are the rifle's and the load's own.
    no_rifle = generate_scene(SceneSpec("container_20ft", "textiles", 0.5), 4, pitch_mm=10.0)
    empty = generate_scene(SceneSpec("container_20ft", "empty", 0.0), 4, pitch_mm=10.0)
    obj = scene.key.objects[0]
    r0, c0, r1, c1 = obj.bbox
    rifle = (scene.ideal_attenuation - no_rifle.ideal_attenuation)[:, r0:r1, c0:c1]
    load = (no_rifle.ideal_attenuation - empty.ideal_attenuation)[:, r0:r1, c0:c1]
    steel = obj.mask & (rifle[0] > 0.15)  # the steel parts (barrel, receiver, magazine)
    textiles = ~obj.mask & (load[0] > 0.15)
    assert steel.sum() > 100 and textiles.sum() > 100
    # At 6/4 MeV pair production grows with Z, so metal attenuates relatively more of the
    # high-energy beam: its low/high attenuation ratio lies below that of organic goods.
    steel_ratio = rifle[1][steel].sum() / rifle[0][steel].sum()
    organic_ratio = load[1][textiles].sum() / load[0][textiles].sum()
    assert steel_ratio < organic_ratio - 0.002


@pytest.mark.parametrize("mode", DECLARATION_MODES)
def test_declarations_true_or_deliberately_wrong(mode):
    scene = generate_scene(
        SceneSpec("container_40ft", "furniture", 0.7, [], mode), 9, pitch_mm=PITCH
    )
    key = scene.key
    assert key.declaration is not None
    if mode == "true":
        assert key.declaration_consistent
        assert not key.inconsistencies
        declared = key.declaration.gross_kg
        true_kg = sum(e["mass_kg"] for e in key.true_load)
        assert declared == pytest.approx(true_kg, rel=0.06)
    else:
        assert not key.declaration_consistent
        assert key.inconsistencies
    if mode == "false_empty":
        assert key.declaration.declared_empty
        assert "declared empty" in key.inconsistencies[0]


def test_answer_key_json_round_trip(tmp_path):
    scene = generate_scene(
        SceneSpec("container_20ft", "tyres", 0.8, ["drugs_in_tyre", "cash"]), 8, pitch_mm=PITCH
    )
    path = scene.key.save(tmp_path / "key.json")
    back = AnswerKey.load(path)
    assert back.to_dict() == scene.key.to_dict()
    for a, b in zip(back.objects, scene.key.objects, strict=True):
        assert np.array_equal(a.mask, b.mask)
    assert np.array_equal(back.label_image(), scene.key.label_image())


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"vehicle": "spaceship"}, "'vehicle'"),
        ({"cargo": "gold"}, "'cargo'"),
        ({"fill": 1.5}, "'fill'"),
        ({"concealments": ["bomb"]}, "'concealments'"),
        ({"declaration": "maybe"}, "'declaration'"),
    ],
)
def test_bad_scene_specs_name_the_field(fields, message):
    with pytest.raises(SpecError, match=message):
        SceneSpec(**fields)
    with pytest.raises(SpecError, match="unknown field"):
        SceneSpec.from_dict({"colour": "red"})


@pytest.mark.parametrize("vehicle", VEHICLE_TYPES)
def test_body_box_is_where_the_body_is_drawn(vehicle):
    scene = generate_scene(SceneSpec(vehicle, "empty", 0.0), 4, pitch_mm=PITCH)
    att = scene.ideal_attenuation[0]
    x0, x1, z_floor, z_roof = scene.layout.body_mm
    r_roof, c0, r_floor, c1 = scene.key.attributes["body_px"]
    assert (c0, c1) == pytest.approx((x0 / PITCH, x1 / PITCH), abs=0.1)
    expected_rows = ((4600 - z_roof) / PITCH, (4600 - z_floor) / PITCH)
    assert (r_roof, r_floor) == pytest.approx(expected_rows, abs=0.1)
    # Half-way up the body there is wall inside the box and open air just beyond either end.
    row = round((r_roof + r_floor) / 2)
    inside = att[row, round(c0) + 5 : round(c1) - 5]
    assert inside.min() > 0.005
    assert att[row, round(c1) + 3 : round(c1) + 8].max() < 0.002
    # Just above the roof is air; just below it, the roof seen along the width.
    cols = slice(round(c0) + 10, round(c1) - 10)
    assert att[int(r_roof) - 2, cols].max() < 0.002
    assert np.median(att[int(r_roof) : int(r_roof) + 4, cols].max(axis=0)) > 0.05


def test_a_portal_sees_the_two_side_walls_top_rails_through_its_diverging_beam():
    # The portal's source stands 1.9 m high: the near wall's top rail is magnified above
    # the roof, the far wall's shrunk below it, with the roof sheet crossed obliquely
    # between them; the floor's cross-members spread the same way below the source.
    scene = generate_scene(
        SceneSpec("container_20ft", "empty", 0.0, scanner="scanlab-6MV-portal"), 4
    )
    beam = scene.scan.metadata.attributes["beam"]
    zs, dist, top = beam["source_height_mm"], beam["source_distance_mm"], beam["top_mm"]
    assert (zs, 3400.0 <= dist <= 4000.0) == (1900.0, True)
    x0, x1, z_floor, z_roof = scene.layout.body_mm
    cols = slice(round(x0 / 5.0) + 40, round(x1 / 5.0) - 40)
    profile = np.median(scene.ideal_attenuation[0][:, cols], axis=1)  # per row

    def row(z_mm, y_mm):
        return (top - (zs + (z_mm - zs) * dist / (dist + y_mm))) / 5.0

    # The top rails (60 mm square tubes at 1.2 m either side of the centre) are the darkest
    # rows above the source: their top and bottom walls, seen along the vehicle, within
    # the tube's half-height (30 mm, magnified) of where the near and the far rail's
    # centres lie.
    near, far = row(z_roof - 30, -1200.0), row(z_roof - 30, 1200.0)
    assert far - near > 100  # 0.5 m and more apart at 5 mm
    upper = profile[: int(row(zs, 0.0))]
    peaks = np.argsort(upper)[::-1]
    near_half, far_half = (30.0 * dist / (dist + y) / 5.0 + 1 for y in (-1200.0, 1200.0))
    darkest = peaks[:4]
    assert sum(abs(p - near) <= near_half for p in darkest) >= 2  # the near tube's two walls
    assert any(abs(p - far) <= far_half for p in darkest)
    # Between them the roof sheet, crossed obliquely, darkens every row; above the near
    # rail there is air.
    assert profile[int(near) + 15 : int(far) - 15].min() > 0.02
    assert profile[: int(near) - 20].max() < 0.002
    # The key's body box is the near side's image, where exports crop.
    r_roof, _, r_floor, _ = scene.key.attributes["body_px"]
    assert r_roof == pytest.approx(row(z_roof, -1219.0), abs=0.1)
    assert r_floor == pytest.approx(row(z_floor, -1219.0), abs=0.1)
    # As high as on the row profiles of real portal exports of near-empty boxes: the roof's
    # band (between the rails found above) 0.37-0.38 of the box's image, the floor's band
    # (between the far and the near bottom rail) 0.11-0.13.
    box = r_floor - r_roof
    assert 0.33 <= (far - near) / box <= 0.42
    assert 0.09 <= (row(z_floor, -1219.0) - row(z_floor, 1219.0)) / box <= 0.16


@pytest.mark.parametrize(
    ("kind", "cargo", "fill"), [("cash", "empty", 0.0), ("drugs_in_cargo", "paper_goods", 0.7)]
)
def test_concealed_drugs_and_cash_have_the_grain_a_projected_threat_has(kind, cargo, fill):
    # A threat drawn into the scene is as grainy as the library's threats that exams project
    # (3 % of the areal density over 8 mm; tests/synth/test_tip.py): without it the native
    # threats are the smoothest thing in the cargo and no honest reference for projection.
    # The threat alone is the scene less its clean twin (same seed, nothing hidden), noise-free;
    # a block of uniform depth holds no other variation (the cash in the empty container's
    # floor and wall stays under 1.3 %, the displaced paper goods' grain is what drugs hidden
    # in them add beside their own). Hand values: spread 2.2-3.3 %, as the library's bricks;
    # neighbours 8 mm apart correlate as exp(-1/4) = 0.78.
    import cv2

    with_threat = generate_scene(SceneSpec("container_20ft", cargo, fill, [kind]), 3, pitch_mm=8.0)
    clean = generate_scene(SceneSpec("container_20ft", cargo, fill, []), 3, pitch_mm=8.0)
    threat = with_threat.ideal_attenuation[0] - clean.ideal_attenuation[0]
    mask = with_threat.key.objects[0].full_mask(with_threat.scan.shape).astype(np.uint8)
    core = cv2.erode(mask, np.ones((5, 5), np.uint8)) > 0
    assert not threat[~cv2.dilate(mask, np.ones((5, 5), np.uint8)).astype(bool)].any()
    a = threat[core]
    assert 0.022 < a.std() / a.mean() < 0.04
    pairs = core[:, :-1] & core[:, 1:]
    r = np.corrcoef(threat[:, :-1][pairs], threat[:, 1:][pairs])[0, 1]
    assert r == pytest.approx(0.78, abs=0.07)


def test_a_concealments_grain_is_in_its_key_and_keeps_its_mass():
    # texture_concealed changes the object and the record of what it added alike (the key's
    # difficulty is measured against the scene less that record), about its mass; steel is
    # machined, uniform.
    import functools

    from scanlab.synth._canvas import Canvas
    from scanlab.synth._concealments import Concealed, _brick_block, _pistol, texture_concealed
    from scanlab.synth._scene import _decomposition, _density

    basis = functools.partial(_decomposition, "scanlab-6MV-dual")
    canvas = Canvas(200, 200, 5.0, 1000.0, basis, _density, len(basis("water")))
    empty = canvas.basis.copy()
    cash = Concealed("cash", "cash", "loose", "banknote_paper", "cash")
    _brick_block(cash, canvas, 200, 300, 600, 300, 35.0, "banknote_paper")
    pistol = Concealed("pistol", "weapon", "loose", "steel", "a pistol")
    _pistol(pistol, canvas, 500, 800, 0.3, 1.0)
    plain = [p.copy() for _fp, p in pistol.parts]
    plain_cash = cash.parts[0][1].copy()
    drawn = sum(float(p.sum()) for _fp, p in cash.parts)
    rng = np.random.default_rng(4)
    texture_concealed(canvas, cash, rng)
    texture_concealed(canvas, pistol, rng)
    recorded = np.zeros_like(canvas.basis)
    for fp, part in cash.parts + pistol.parts:
        recorded[:, fp.rows, fp.cols] += part
    np.testing.assert_allclose(canvas.basis - empty, recorded, atol=1e-4)
    assert not np.allclose(cash.parts[0][1], plain_cash)
    assert sum(float(p.sum()) for _fp, p in cash.parts) == pytest.approx(drawn, rel=0.01)
    assert all(np.array_equal(p, q) for (_fp, p), q in zip(pistol.parts, plain, strict=True))


def test_a_scene_drawn_finer_reads_transmission_over_each_pixels_aperture():
    spec = SceneSpec("container_20ft", "cotton", 0.6, ["drugs_in_cargo"])
    one = generate_scene(spec, 2, pitch_mm=7.5, subpixels=1)
    two = generate_scene(spec, 2, pitch_mm=7.5, subpixels=2)
    assert one.scan.shape == two.scan.shape
    assert two.scan.metadata.attributes["subpixels"] == 2
    assert "subpixels" not in one.scan.metadata.attributes
    assert np.allclose(one.key.attributes["body_px"], two.key.attributes["body_px"], atol=0.1)
    # The same layout: the hidden drugs' mask and difficulty agree.
    (a,), (b,) = one.key.objects, two.key.objects
    assert a.bbox == b.bbox
    full_a, full_b = np.zeros(one.scan.shape, bool), np.zeros(one.scan.shape, bool)
    full_a[a.bbox[0] : a.bbox[2], a.bbox[1] : a.bbox[3]] = a.mask
    full_b[b.bbox[0] : b.bbox[2], b.bbox[1] : b.bbox[3]] = b.mask
    assert (full_a & full_b).sum() / (full_a | full_b).sum() > 0.9
    assert b.difficulty.contrast == pytest.approx(a.difficulty.contrast, rel=0.15)
    # A pixel that a dense part covers in part passes the photons of the rest: by Jensen's
    # inequality the mean transmission over the aperture is at least the transmission of
    # the mean areal density, so the edges of posts, rails and stacks come out lighter.
    r0, c0, r1, c1 = (int(v) for v in one.key.attributes["body_px"])
    t1, t2 = (np.exp(-s.ideal_attenuation[0][r0:r1, c0:c1]) for s in (one, two))
    lighter, darker = np.mean(t2 - t1 > 0.05), np.mean(t1 - t2 > 0.05)
    assert t2.mean() > t1.mean()
    assert lighter > 0.01 and lighter > 4 * darker
    with pytest.raises(SpecError, match="subpixels"):
        generate_scene(spec, 2, pitch_mm=20.0, subpixels=0)
