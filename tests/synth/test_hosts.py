"""Real hosts: analysis of a site's clean scans and threat image projection into them."""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import io
import json

import cv2
import numpy as np
import pytest
from PIL import Image

from scanlab.errors import SpecError
from scanlab.io import Representation, Scan, ScanMetadata, read_scan
from scanlab.synth import (
    THREAT_LIBRARY,
    VENDOR_PIPELINES,
    AnswerKey,
    DatasetSpec,
    HostSpec,
    SceneSpec,
    analyse_host,
    build_dataset,
    cut_threat,
    display_to_attenuation,
    estimate_blur,
    estimate_display_curve,
    find_cargo_region,
    generate_scene,
    load_host,
    load_manifest,
    make_host_item,
    projection_quality,
    read_declarations,
    render_display,
    render_export,
    write_simulated_hosts,
)
from scanlab.synth._canvas import Canvas
from scanlab.synth._hosts import (
    _as_compressed,
    blur_before_sharpening,
    estimate_sharpening,
    item_view,
)
from scanlab.synth._scene import _decomposition, _density
from scanlab.synth._vehicles import draw_vehicle, vehicle_extent_mm


def bare_export(scan: Scan, path, *, blur_px: float = 0.0, seed: int = 0):
    """A scan saved as a grey JPEG without metadata, as a vendor exports it."""
    att = scan.to_attenuation()
    if blur_px:
        att = att.replace(data=np.stack([cv2.GaussianBlur(a, (0, 0), blur_px) for a in att.data]))
    grey = render_display(att, rng=np.random.default_rng(seed)).data[0]
    Image.fromarray(np.stack([grey] * 3, axis=-1)).save(path, quality=95)
    return path


@functools.cache
def scene(vehicle="container_40ft", cargo="paper_goods", seed=3, pitch=10.0):
    return generate_scene(SceneSpec(vehicle, cargo, 0.7, []), seed, pitch_mm=pitch)


# --- the display curve -----------------------------------------------------------------------


def poisson_ramp(seed=1):
    """Attenuation 0.1..6 in 60 steps with quantum noise of 400 photons in air."""
    rng = np.random.default_rng(seed)
    truth = np.repeat(np.linspace(0.1, 6, 60), 16)[None, :].repeat(160, axis=0)
    transmission = rng.poisson(400 * np.exp(-truth)) / 400
    att = -np.log(np.maximum(transmission, 1e-4)).astype(np.float32)
    return truth, Scan(att[None], Representation.ATTENUATION, ScanMetadata(energies_mev=(6.0,)))


@pytest.mark.parametrize(("contrast", "power"), [(0.3, 0.8), (0.6, 0.5)])
def test_display_curve_is_estimated_from_how_noise_grows(contrast, power):
    truth, scan = poisson_ramp()
    shown = render_display(scan, contrast=contrast, power=power, rng=np.random.default_rng(0))
    shown.metadata.attributes.pop("display")  # a bare export: the curve is not known
    curve = estimate_display_curve(shown)
    assert curve.method == "estimated"
    reference = display_to_attenuation(
        shown, contrast=contrast, power=power, black_attenuation=10.0
    )
    usable = truth[0] < 5
    err_estimated = np.median(np.abs(curve.to_attenuation(shown) - reference)[:, usable])
    err_assumed = np.median(np.abs(display_to_attenuation(shown) - reference)[:, usable])
    assert err_estimated < 0.4 * err_assumed


@pytest.mark.parametrize("pipeline", ["linear", "gamma-lifted", "log"])
def test_the_curve_family_is_chosen_from_the_noise_of_each_vendor_curve(pipeline):
    # Known answer: a noisy ramp shown through each vendor pipeline's tone curve, the
    # record removed. Transmission-linear and gamma-lifted exports are told from log-like
    # ones by how their grey noise falls (sqrt(T) times a constant or a power-law slope).
    truth, scan = poisson_ramp()
    true_curve = VENDOR_PIPELINES[pipeline].curve
    shown = render_display(scan, curve=true_curve, rng=np.random.default_rng(0))
    shown.metadata.attributes.pop("display")
    got = estimate_display_curve(shown)
    assert got.method == "estimated"
    reference = display_to_attenuation(shown, curve=true_curve)
    usable = truth[0] < 4
    err = np.median(np.abs(got.to_attenuation(shown) - reference)[:, usable])
    err_assumed = np.median(np.abs(display_to_attenuation(shown) - reference)[:, usable])
    assert err < 0.1
    assert err < 0.2 * err_assumed
    if pipeline == "gamma-lifted":
        assert got.curve.kind == "power"
        assert got.curve.gamma == pytest.approx(true_curve.gamma, abs=0.1)
    elif pipeline == "log":
        assert got.curve.kind == "log"
        assert got.family_margin > 0
    else:  # a log curve of power 1 is T ** contrast: the same near-linear curve
        assert got.curve.kind == "power" or got.curve.power == pytest.approx(1.0)
        slope = got.curve.gamma if got.curve.kind == "power" else got.curve.contrast
        assert slope == pytest.approx(true_curve.gamma, abs=0.1)


def test_how_the_curve_was_obtained_is_in_the_provenance():
    _, scan = poisson_ramp()
    shown = render_display(
        scan, curve=VENDOR_PIPELINES["gamma-lifted"].curve, rng=np.random.default_rng(0)
    )
    shown.metadata.attributes.pop("display")
    record = estimate_display_curve(shown).provenance()
    assert record["method"] == "estimated" and record["kind"] == "power"
    assert record["residual"] >= 0 and record["family_margin"] > 0


def test_a_curve_is_assumed_and_said_so_when_noise_is_below_one_grey_level():
    flat = Scan(
        np.full((1, 64, 64), 1.0, np.float32),
        Representation.ATTENUATION,
        ScanMetadata(energies_mev=(6.0,)),
    )
    shown = render_display(flat)
    shown.metadata.attributes.pop("display")
    assert estimate_display_curve(shown).method == "assumed"


# --- blur and noise --------------------------------------------------------------------------


def blocks(seed=0):
    rng = np.random.default_rng(seed)
    img = np.zeros((300, 300), np.float32)
    for _ in range(10):
        r0, c0 = rng.integers(0, 250, 2)
        img[r0 : r0 + 40, c0 : c0 + 40] += rng.uniform(0.5, 2)
    return img, rng


@pytest.mark.parametrize("sigma", [0.8, 1.5, 2.5])
def test_image_blur_is_measured_from_the_scans_own_edges(sigma):
    img, rng = blocks()
    blurred = cv2.GaussianBlur(img, (0, 0), sigma)
    noisy = blurred + 0.01 * rng.standard_normal(img.shape).astype(np.float32)
    (row, col), _ = estimate_blur(noisy)
    # Pixel sampling adds a little (variance 1/12 px^2) to the blur of a drawn step.
    expected = np.hypot(sigma, 0.29)
    assert row == pytest.approx(expected, abs=0.15)
    assert col == pytest.approx(expected, abs=0.15)


def test_noise_blur_is_measured_from_the_correlation_of_neighbouring_pixels():
    img, rng = blocks(1)
    white = 0.02 * rng.standard_normal(img.shape).astype(np.float32)
    _, (row_w, col_w) = estimate_blur(img + white)
    _, (row_c, col_c) = estimate_blur(img + cv2.GaussianBlur(white, (0, 0), 1.0))
    assert max(row_w, col_w) < 0.4  # white noise: (almost) uncorrelated
    assert row_c == pytest.approx(1.0, abs=0.15)
    assert col_c == pytest.approx(1.0, abs=0.15)


def sharpened_blocks(blur: float, amount: float, sigma: float, seed: int = 1) -> np.ndarray:
    """Grey rectangles blurred and then sharpened by scipy's filters (the reference unsharp
    mask ``g + amount (g - gaussian(g, sigma))``), with grain and rounding."""
    from scipy.ndimage import gaussian_filter

    rng = np.random.default_rng(seed)
    img = np.full((300, 600), 200.0)
    for _ in range(60):
        r, c = rng.integers(10, 260), rng.integers(10, 540)
        img[r : r + rng.integers(15, 40), c : c + rng.integers(15, 60)] = rng.uniform(40, 180)
    img = gaussian_filter(img, blur)
    if amount:
        img = img + amount * (img - gaussian_filter(img, sigma))
    img += 0.8 * rng.standard_normal(img.shape) + rng.uniform(-0.5, 0.5, img.shape)
    return np.clip(np.rint(img), 0, 255).astype(np.float32)


def rim_and_gradient(blur: float, amount: float, sigma: float) -> tuple[float, float]:
    """The light rim beyond a unit step and the (central-difference) gradient over it at the
    edge, after blur and sharpening; the edge lies on pixel 100's centre."""
    from scipy.ndimage import gaussian_filter1d

    step = np.zeros(200)
    step[100], step[101:] = 0.5, 1
    edge = gaussian_filter1d(step, blur)
    edge = edge + amount * (edge - gaussian_filter1d(edge, sigma))
    return float(edge.max() - 1), float(edge[101] - edge[99]) / 2


@pytest.mark.parametrize(
    ("blur", "amount", "sigma"), [(0.8, 0.0, 1.0), (0.6, 0.5, 2.0), (0.8, 1.5, 1.3)]
)
def test_the_exports_sharpening_is_measured_from_the_halos_at_its_own_edges(blur, amount, sigma):
    img = sharpened_blocks(blur, amount, sigma)
    found = estimate_sharpening(img)
    if amount == 0:
        assert found == (0.0, 0.0)
        return
    assert found[0] > 0
    # What a trainee sees of it: the rim beside a step and the step's steepness, made again
    # from the measured sharpening and the blur the edges had before it.
    (_, col), _ = estimate_blur(img)
    before = blur_before_sharpening(col, *found)
    rim, grad = rim_and_gradient(before, *found)
    true_rim, true_grad = rim_and_gradient(blur, amount, sigma)
    assert rim == pytest.approx(true_rim, rel=0.5)
    assert grad == pytest.approx(true_grad, rel=0.3)


def test_the_blur_before_sharpening_is_what_sharpening_made_look_sharper():
    # A step blurred by 1.2 px looks (central-difference gradient over step) as blurred as it
    # is; sharpened by amount 1 over 1 px it looks far sharper. Undoing the sharpening gives
    # back how it looked before (reference: scipy's filters on a drawn step).
    from scipy.special import erfinv

    def looks(grad: float) -> float:
        return float(1 / (np.sqrt(2) * erfinv(2 * grad)))

    before = looks(rim_and_gradient(1.2, 0.0, 1.0)[1])
    after = looks(rim_and_gradient(1.2, 1.0, 1.0)[1])
    assert after < before - 0.2
    assert blur_before_sharpening(after, 1.0, 1.0) == pytest.approx(before, abs=0.05)


# --- the cargo space -------------------------------------------------------------------------


@pytest.mark.parametrize("vehicle", ["container_20ft", "container_40ft", "box_truck"])
def test_cargo_region_matches_the_simulators_load_space(vehicle):
    pitch, seed = 10.0, 3
    sc = scene(vehicle, "paper_goods", seed, pitch)
    # The load space as the simulator drew it (same seed, same first draws).
    length, height = vehicle_extent_mm(vehicle)
    canvas = Canvas(
        round(height / pitch),
        round(length / pitch),
        pitch,
        height,
        functools.partial(_decomposition, "scanlab-6MV-dual"),
        _density,
        len(_decomposition("scanlab-6MV-dual", "water")),
    )
    space = draw_vehicle(canvas, vehicle, np.random.default_rng([seed, 0x5CA9])).cargo
    ceiling, floor = canvas.row_of(space.z1), canvas.row_of(space.z0)
    start, end = canvas.col_of(space.x0), canvas.col_of(space.x1)
    region = find_cargo_region(sc.scan.to_attenuation().high)
    r0, c0, r1, c1 = region.interior
    tolerance = 0.04 * (floor - ceiling)
    # The load space may start up to 100 mm above the floor's top (a box truck's deck).
    deck = 100.0 / pitch
    assert ceiling - tolerance <= r0 and r1 <= floor + deck + tolerance  # not roof, not chassis
    assert start - 5 <= c0 and c1 <= end + 5  # not the cab, not beyond the rear wall
    assert (r1 - r0) > 0.8 * (floor - ceiling)
    assert (c1 - c0) > 0.8 * (end - start)


@pytest.mark.parametrize(
    ("cargo", "pipeline", "seed", "vehicle"),
    [
        ("frozen_beef", "linear", 2, "container_20ft"),
        ("frozen_beef", "log", 1, "container_20ft"),
        ("cotton", "gamma-lifted", 1, "container_20ft"),
        ("sugar", "log", 2, "container_20ft"),
        ("rice", "gamma-lifted", 4, "container_20ft"),
        # Goods ending a few centimetres above the floor along the whole length (rounded
        # bales, sacks): the floor's top and its far lighter underside lie below them.
        ("cotton", "linear", 2, "container_40ft"),
        ("sugar", "log", 2, "container_40ft"),
    ],
)
def test_floor_and_roof_of_dense_loads_in_vendor_exports(cargo, pipeline, seed, vehicle):
    # A full container of dense goods, exported as a vendor does (cropped to the body a few
    # rows above the roof, tilted, smoothed, its own tone curve, JPEG) and read back bare:
    # the goods darken the rows above the floor as much as the floor itself.
    pitch = 10.0
    sc = generate_scene(SceneSpec(vehicle, cargo, 1.0, []), seed, pitch_mm=pitch)
    export = render_export(
        sc.scan,
        pipeline,
        body_px=tuple(sc.key.attributes["body_px"]),
        rng=np.random.default_rng(seed),
    )
    bare = Scan(
        export.scan.data,
        Representation.DISPLAY,
        ScanMetadata(energies_mev=(1.0,), attributes={"display_bit_depth": 8}),
        source="export.jpg",
    )
    region = analyse_host(bare).region
    # The simulator's load space (top of the floor, underside of the roof), moved onto the
    # export by its own geometry, in the middle of the container.
    _, height = vehicle_extent_mm(vehicle)
    space = sc.layout.cargo
    m, col = export.matrix, (space.x0 + space.x1) / 2 / pitch
    floor, ceiling = (
        m[1, 0] * col + m[1, 1] * (height - z) / pitch + m[1, 2] for z in (space.z0, space.z1)
    )
    tolerance = 0.02 * (floor - ceiling)  # 5 cm
    assert abs(region.floor_row - floor) <= tolerance
    r0, c0, r1, c1 = region.interior
    assert ceiling - 2 * tolerance <= r0 and r1 <= floor + tolerance
    assert r1 - r0 > 0.9 * (floor - ceiling)
    # Along the whole length: a lifting lug on the roof does not end the roof line.
    row = (height - space.z0) / pitch
    front, rear = (m[0, 0] * x / pitch + m[0, 1] * row + m[0, 2] for x in (space.x0, space.x1))
    reach = 0.02 * (rear - front)  # end walls within 2 % of the length
    assert front - reach <= c0 and c1 <= rear + reach and c1 - c0 > 0.85 * (rear - front)


def test_a_scan_without_a_flat_roof_is_refused():
    rng = np.random.default_rng(0)
    with pytest.raises(SpecError, match="no container roof"):
        find_cargo_region(rng.uniform(0, 0.01, (100, 200)).astype(np.float32))


def test_pitch_of_a_bare_export_is_measured_from_the_container(tmp_path):
    path = bare_export(scene("container_20ft", "rice", 2, 10.0).scan, tmp_path / "h.jpg")
    host = analyse_host(read_scan(path))
    assert host.pitch_source == "estimated"
    assert host.pitch_mm[0] == pytest.approx(10.0, rel=0.1)
    assert host.pitch_mm[1] == pytest.approx(10.0, rel=0.1)
    stated = analyse_host(read_scan(path), pitch_mm=[9.0, 11.0])
    assert (stated.pitch_source, stated.pitch_mm) == ("stated", (9.0, 11.0))


# --- items -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def jpeg_host(tmp_path_factory):
    path = tmp_path_factory.mktemp("hosts") / "site-1.jpg"
    bare_export(scene().scan, path, blur_px=1.2)
    return path


def test_host_items_place_threats_inside_the_load_and_keep_the_rest_of_the_image(jpeg_host):
    host = analyse_host(read_scan(jpeg_host), sha256="0" * 64)
    assert host.curve is not None and host.curve.method in ("estimated", "assumed")
    spec = HostSpec(paths=[str(jpeg_host)], max_threats=3)
    r0, c0, r1, c1 = host.region.interior
    for seed in range(4):
        item = make_host_item(
            host, spec, item_id=f"x{seed}", n_threats=3, rng=np.random.default_rng(seed)
        )
        assert item.scan.representation is Representation.DISPLAY
        assert item.scan.data.dtype == np.uint8
        changed = item.scan.data[0] != host.scan.data[0]
        union = np.zeros(host.scan.shape, bool)
        for obj in item.key.objects:
            mask = obj.full_mask(host.scan.shape)
            assert not (union & mask).any()  # threats do not overlap
            union |= mask
            b0, bc0, b1, bc1 = obj.bbox
            assert r0 <= b0 and b1 <= r1 and c0 <= bc0 and bc1 <= c1  # in the cargo space
            assert obj.concealment == "tip" and obj.threat_class in {
                THREAT_LIBRARY[n][0] for n in THREAT_LIBRARY
            }
            assert obj.difficulty.size_px == mask.sum()
            # The polygon outlines the mask.
            drawn = np.zeros(host.scan.shape, np.uint8)
            poly = np.array([[c, r] for r, c in obj.polygon], np.int32)
            cv2.fillPoly(drawn, [poly], 1)
            assert (drawn.astype(bool) & mask).sum() > 0.8 * mask.sum()
        # Pixels change only under a threat and its blurred rim; the rest is the host's own.
        reach = 2 * int(np.ceil(3 * max(host.image_blur_px))) + 3
        near = cv2.dilate(union.astype(np.uint8), np.ones((reach, reach), np.uint8)) > 0
        assert changed.any() and not (changed & ~near).any()
        assert item.key.attributes["real_host"] is True
        assert item.key.attributes["host_sha256"] == "0" * 64
        assert item.key.declaration is None


def dct_misfit(grey: np.ndarray, table: np.ndarray, blocks: np.ndarray) -> float:
    """Mean distance from integers of the 8 x 8 DCT coefficients over the JPEG table, in the
    blocks given: near 0 for pixels a JPEG coder wrote with that table, 0.25 for others."""
    out = []
    for br, bc in blocks:
        block = grey[8 * br : 8 * br + 8, 8 * bc : 8 * bc + 8].astype(np.float32) - 128
        q = cv2.dct(block).ravel() / table
        out.append(np.abs(q - np.rint(q)).mean())
    return float(np.mean(out))


def test_items_on_jpeg_hosts_are_compressed_as_the_host_was(tmp_path):
    (path,) = write_simulated_hosts(tmp_path, 1, seed=4, pipeline="log")
    spec = HostSpec(paths=[str(path)], threats={"cocaine_bricks": 1.0})
    host = load_host(path, spec)
    with Image.open(path) as im:
        table = np.array(im.quantization[0], float)  # natural order
    assert host.jpeg_table == tuple(table.astype(int))
    item = make_host_item(host, spec, item_id="j", n_threats=1, rng=np.random.default_rng(0))
    raw = make_host_item(
        dataclasses.replace(host, jpeg_table=None),
        spec,
        item_id="j",
        n_threats=1,
        rng=np.random.default_rng(0),
    )
    before, after = host.scan.data[0], item.scan.data[0]
    rows, cols = before.shape[0] // 8, before.shape[1] // 8
    changed = (after != before)[: 8 * rows, : 8 * cols].reshape(rows, 8, cols, 8).any(axis=(1, 3))
    touched = np.argwhere(changed)
    assert len(touched) > 4
    # Blocks the threat did not touch keep the host's pixels; the touched ones are JPEG
    # blocks of the host's own table (as the host's blocks are), which the uncompressed
    # projection's are not.
    assert np.array_equal(
        after[: 8 * rows, : 8 * cols][~np.repeat(np.repeat(changed, 8, 0), 8, 1)],
        before[: 8 * rows, : 8 * cols][~np.repeat(np.repeat(changed, 8, 0), 8, 1)],
    )
    assert dct_misfit(before, table, touched) < 0.04
    assert dct_misfit(after, table, touched) < 0.04
    assert dct_misfit(raw.scan.data[0], table, touched) > 0.07


def test_saturated_areas_take_only_classes_that_can_hide_there():
    sc = scene("container_20ft", "rice", 5, 10.0)
    att = sc.scan.to_attenuation().high
    r0, c0, r1, c1 = find_cargo_region(att).interior
    # Dense goods over the middle half of the cargo space: black in the export.
    counts = sc.scan.data.copy()
    a, b = c0 + (c1 - c0) // 4, c0 + 3 * (c1 - c0) // 4
    counts[:, r0:r1, a:b] = 3
    host = analyse_host(sc.scan.replace(data=counts), sha256="1" * 64)
    assert host.saturated[r0:r1, a:b].all()
    weapons = HostSpec(paths=["-"], threats={"pistol": 1.0})
    drugs = HostSpec(paths=["-"], threats={"cocaine_bricks": 1.0})
    drugs_in_dense = 0
    for seed in range(8):
        rng = np.random.default_rng(seed)
        for obj in make_host_item(host, weapons, item_id="w", n_threats=1, rng=rng).key.objects:
            assert not (obj.full_mask(att.shape) & host.saturated).any()
        rng = np.random.default_rng(seed)
        for obj in make_host_item(host, drugs, item_id="d", n_threats=1, rng=rng).key.objects:
            drugs_in_dense += bool((obj.full_mask(att.shape) & host.saturated).any())
    assert drugs_in_dense > 0  # narcotics may be hidden in the dense goods


def test_a_threat_the_instructor_cut_is_projected_with_its_class(tmp_path):
    source = generate_scene(
        SceneSpec("container_20ft", "textiles", 0.6, ["drugs_in_cargo"]), 4, pitch_mm=10.0
    )
    obj = source.key.objects[0]
    cut = cut_threat(source.scan, obj.full_mask(source.scan.shape), threat_class="cash")
    saved = cut.save(tmp_path / "cut.npz")
    host = analyse_host(scene().scan, sha256="2" * 64)
    spec = HostSpec(
        paths=["-"], threats=dict.fromkeys(THREAT_LIBRARY, 0.0), cut_threats=[str(saved)]
    )
    from scanlab.synth import Threat

    item = make_host_item(
        host, spec, item_id="c", n_threats=1, rng=np.random.default_rng(0), cut=[Threat.load(saved)]
    )
    (projected,) = item.key.objects
    assert projected.threat_class == "cash"
    assert abs(projected.area_px - obj.area_px) < 0.2 * obj.area_px


def test_projection_quality_flags_edges_sharper_than_the_hosts(tmp_path):
    path = bare_export(scene().scan, tmp_path / "soft.jpg", blur_px=2.5)
    host = analyse_host(read_scan(path), sha256="3" * 64)
    spec = HostSpec(paths=["-"], threats={"cocaine_bricks": 1.0, "cash_bricks": 1.0})
    sharp_host = dataclasses.replace(host, image_blur_px=(0.0, 0.0), noise_blur_px=(0.0, 0.0))
    z_matched, z_sharp = [], []
    for seed in range(8):  # some threats show no edge above the noise: enough to have five
        for h, out in ((host, z_matched), (sharp_host, z_sharp)):
            item = make_host_item(
                h, spec, item_id="q", n_threats=1, rng=np.random.default_rng(seed)
            )
            q = projection_quality(item_view(item.scan), item.key.objects[0])
            if np.isfinite(q.z_sharpness):
                out.append(q.z_sharpness)
    # The host export is blurred (2.5 px): an unblurred threat has sharper edges than its own.
    assert np.median(z_sharp) > np.median(z_matched) + 0.5
    assert abs(np.median(z_matched)) < 0.5


# --- declarations ----------------------------------------------------------------------------


def test_declarations_csv(tmp_path):
    path = tmp_path / "decl.csv"
    path.write_text(
        "scan_id,container_id,goods,hs_code,packages,weight_kg,consistent\n"
        "site-1,MSCU1234565,tyres,4011,200,2000,\n"
        "site-1,MSCU1234565,Spare parts,8708,10,300,\n"
        "site-2,TGHU0000001,,,,,false\n"
    )
    decls = read_declarations(path)
    decl, consistent = decls["site-1"]
    assert consistent and decl.container_id == "MSCU1234565"
    assert [(g.commodity, g.hs_code, g.packages, g.gross_kg) for g in decl.goods] == [
        ("tyres", "4011", 200, 2000.0),
        ("Spare parts", "8708", 10, 300.0),
    ]
    assert decls["site-2"][0].declared_empty and decls["site-2"][1] is False
    path.write_text("scan_id,goods,packages,weight_kg\nsite-1,tyres,many,20\n")
    with pytest.raises(SpecError, match="line 2"):
        read_declarations(path)
    path.write_text("id,goods\n")
    with pytest.raises(SpecError, match="scan_id"):
        read_declarations(path)


@pytest.mark.parametrize(
    ("hosts", "field"),
    [
        ({"paths": "x", "threats": {"bazooka": 1}}, "hosts.threats"),
        ({"paths": "x", "colour": 1}, "unknown"),
        ({"paths": "x", "share": 2}, "hosts.share"),
        ({"paths": "x", "display": {"kind": "sigmoid"}}, "hosts.display"),
        ({"paths": "x", "display": {"hue": 2}}, "hosts.display"),
        ({"paths": "x", "sharpen": {"amount": 1}}, "hosts.sharpen"),
        ({"paths": "x", "sharpen": "strong"}, "hosts.sharpen"),
        ({"share": 1}, "paths"),
    ],
)
def test_bad_hosts_blocks_name_the_field(hosts, field):
    with pytest.raises(SpecError, match=field):
        DatasetSpec.from_dict({"name": "x", "hosts": hosts})


# --- datasets --------------------------------------------------------------------------------


def test_dataset_on_hosts_records_provenance_but_no_path(tmp_path):
    folder = tmp_path / "my-site-scans"
    paths = write_simulated_hosts(folder, 2, seed=5, blur_px=1.0)
    (folder / "decl.csv").write_text(
        f"scan_id,goods,packages,weight_kg\n{paths[0].stem},textiles,100,4000\n"
    )
    spec_file = tmp_path / "spec.yaml"
    spec_file.write_text(
        "name: site\ncount: 4\nclean_share: 0.25\nformat: npz\n"
        "hosts:\n  paths: my-site-scans\n  declarations: my-site-scans/decl.csv\n"
    )
    from scanlab.synth import load_dataset_spec

    spec = load_dataset_spec(spec_file)  # relative paths: beside the spec file
    manifest = build_dataset(spec, tmp_path / "out")
    items = load_manifest(manifest, verify=True)
    digests = {hashlib.sha256(p.read_bytes()).hexdigest(): p for p in paths}
    assert all(it["real_host"] for it in items)
    assert {it["host_sha256"] for it in items} <= set(digests)
    for it in items:
        key = AnswerKey.load(it["key_path"])
        host_path = digests[it["host_sha256"]]
        has_declaration = host_path.stem == paths[0].stem
        assert (key.declaration is not None) == has_declaration
        assert (it["declaration"] is not None) == has_declaration
        assert it["clean"] == (not key.objects)
        # How the curve of these bare JPEGs was obtained (noise below a grey level: assumed).
        assert key.attributes["display_curve"]["method"] == "assumed"
        scan = read_scan(it["scan_path"])
        assert scan.representation is Representation.DISPLAY
        assert scan.metadata.attributes["display"]["power"] > 0
    for file in (tmp_path / "out").rglob("*"):
        if file.is_file():
            data = file.read_bytes()
            assert b"my-site-scans" not in data and str(folder).encode() not in data, file
    # Rebuilding keeps every item (the build resumes rather than redoing real-host items).
    before = json.loads(manifest.read_text())
    assert json.loads(build_dataset(spec, tmp_path / "out").read_text()) == before


def test_a_threat_projected_at_its_own_spot_looks_as_drawn_natively():
    # The independent reference for the projection: a threat drawn into a scene and exported
    # by a vendor's software (linear curve, blur, noise reduction, sharpening, dither, JPEG),
    # against the same threat (the scene less its clean twin, noise-free) projected as exams
    # project into the clean twin's export, analysed as a host, at the same spot, with the
    # export's sharpening stated (0.3 over 2 px: its halos reach into a small dark block and
    # clip at black). Inside, the same grey and, compressed as exams compress it, the same
    # grain; at the outline, the same step and sharpness.
    from scanlab.synth import SceneSpec, Threat, generate_scene, render_export
    from scanlab.synth._hosts import analyse_host, boundary_edges, project_on_host

    spec = SceneSpec("container_20ft", "paper_goods", 0.7, ["cash"])
    scene, clean = (
        generate_scene(s, 5, pitch_mm=12.0)
        for s in (spec, dataclasses.replace(spec, concealments=[]))
    )
    body = tuple(scene.key.attributes["body_px"])
    native, twin = (
        render_export(s.scan, "linear", body_px=body, rng=np.random.default_rng(1))
        for s in (scene, clean)
    )
    curve = VENDOR_PIPELINES["linear"].curve.as_dict()
    host = analyse_host(twin.scan, display=curve, sharpen={"amount": 0.3, "sigma_px": 2.0})
    obj = scene.key.objects[0]
    r0, c0, r1, c1 = obj.bbox
    extra = scene.ideal_attenuation[:, r0:r1, c0:c1] - clean.ideal_attenuation[:, r0:r1, c0:c1]
    threat = Threat(np.maximum(extra, 0), obj.mask, "cash", "banknote_paper", 1.0, 12.0, "twin")
    rows, cols = np.nonzero(obj.mask)
    centre = [c0 + (cols.min() + cols.max()) / 2, r0 + (rows.min() + rows.max()) / 2, 1.0]
    col, row = native.matrix @ centre
    angle = -np.degrees(np.arctan2(native.matrix[1, 0], native.matrix[0, 0]))
    item, key = project_on_host(
        host,
        host.scan,
        threat,
        row=round(row),
        col=round(col),
        rotation_deg=float(angle),
        scale=1.0,
        rng=np.random.default_rng(2),
        object_id="twin-1",
    )
    drawn = native.warp(obj.full_mask(scene.scan.shape), nearest=True)
    projected = key.full_mask(item.shape)
    assert (drawn & projected).sum() > 0.9 * drawn.sum()
    core = cv2.erode((drawn & projected).astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
    a = native.scan.data[0].astype(np.float32)
    b = item.data[0].astype(np.float32)
    assert b[core].mean() == pytest.approx(a[core].mean(), abs=1.5)
    (on_a, _), (on_b, _) = boundary_edges(a, drawn), boundary_edges(b, projected)
    assert np.median(on_b[:, 2]) == pytest.approx(np.median(on_a[:, 2]), rel=0.1)  # step
    assert np.median(on_b[:, 0]) == pytest.approx(np.median(on_a[:, 0]), rel=0.15)  # sharpness
    # The grain inside (grey 0-15): the 8 x 8 blocks the threat touched JPEG-compressed with
    # the export's own table, as make_host_item does, vary as the native block's pixels do
    # (both carry the JPEG's ringing from the outline; uncompressed, the projected pixels vary
    # by 0.7 of the native ones).
    with Image.open(io.BytesIO(twin.encoded or b"")) as im:
        table = list(im.quantization[0])
    c = _as_compressed(host.scan.data[0], item.data[0], table).astype(np.float32)
    assert c[core].std() == pytest.approx(a[core].std(), rel=0.2)
    assert b[core].std() < 0.8 * a[core].std()


def test_boundary_edges_keep_host_edges_inside_a_region_when_given_one():
    # A threat block in the middle of a load; two host blocks of the same step, one inside
    # the region (the cargo space), one outside it (below, where the chassis would be).
    from scanlab.synth._hosts import boundary_edges

    rng = np.random.default_rng(3)
    img = np.full((200, 300), 200.0, np.float32) + rng.normal(0, 1.0, (200, 300)).astype(np.float32)
    threat = np.zeros(img.shape, bool)
    threat[60:100, 120:170] = True
    img[threat] -= 60
    img[40:90, 20:80] -= 60  # the load's own package, inside the cargo space
    img[150:190, 200:280] -= 60  # a chassis part, outside it
    region = np.zeros(img.shape, bool)
    region[20:130, 10:290] = True
    on, off_all = boundary_edges(img, threat)
    on_inside, off_inside = boundary_edges(img, threat, host_region=region)
    _, off_outside = boundary_edges(img, threat, host_region=~region)
    assert len(on) > 20 and np.array_equal(on_inside, on)  # the threat's edges as before
    # The host's edges split between the region and the rest, none lost or counted twice:
    # the package's outline inside, the chassis part's outside.
    assert len(off_inside) > 20 and len(off_outside) > 20
    assert len(off_inside) + len(off_outside) == len(off_all)
    for off in (off_inside, off_outside):
        assert np.median(off[:, 2]) == pytest.approx(60, rel=0.1)  # the same step
