"""Threat image projection into scans the simulator did not make."""

from __future__ import annotations

import dataclasses

import cv2
import numpy as np
import pytest

from scanlab.errors import SpecError
from scanlab.io import Representation, Scan, ScanMetadata, example_scan, read_scan, write_scan
from scanlab.synth import (
    THREAT_LIBRARY,
    VENDOR_PIPELINES,
    DisplayCurve,
    SceneSpec,
    cut_threat,
    generate_scene,
    project_threat,
    render_display,
    render_threat,
)
from scanlab.synth._tip import Threat


def flat_host(level: float = 2.0, sigma: float = 0.01, shape=(120, 200), seed=0) -> Scan:
    """A uniform calibrated host with known Gaussian noise in attenuation, not simulated."""
    rng = np.random.default_rng(seed)
    att = (level + sigma * rng.standard_normal((2, *shape))).astype(np.float32)
    meta = ScanMetadata(
        scan_id="host-1", energies_mev=(6.0, 4.0), pitch_mm=(5.0, 5.0), attributes={"lane": 3}
    )
    return Scan(att, Representation.ATTENUATION, meta, source="host.npy")


@pytest.mark.parametrize("name", sorted(THREAT_LIBRARY))
def test_library_threats_render(name):
    threat = render_threat(name)
    assert threat.mask.any()
    assert threat.attenuation.shape[0] == 2
    assert threat.attenuation[0][threat.mask].mean() > 0.05
    assert threat.mass_kg > 0.5


def _core(mask: np.ndarray, margin: int = 2) -> np.ndarray:
    size = 2 * margin + 1
    kernel = np.ones((size, size), np.uint8)
    return (
        cv2.erode(mask.astype(np.uint8), kernel, borderType=cv2.BORDER_CONSTANT, borderValue=0) > 0
    )


@pytest.mark.parametrize("name", ["cocaine_bricks", "cannabis_bricks", "cash_bricks"])
def test_pressed_goods_threats_have_the_grain_of_goods(name):
    # Pressed powder and leaf and banknote bricks vary by a few per cent from ray to ray, over
    # about a grain, as the goods around them do. Hand values: an areal-density spread of 3 %
    # (attenuation at 6 MV grows a little slower than areal density, so its spread is
    # 2.2-3.3 %); a grain of 8 mm is a Gaussian field of sigma s = 8 mm / pitch, whose
    # neighbouring pixels correlate as exp(-1 / (4 s^2)): 0.94 at 4 mm, 0.78 at 8 mm.
    for pitch, correlation in ((4.0, 0.94), (8.0, 0.78)):
        threat = render_threat(name, pitch_mm=pitch)
        a = threat.attenuation[0]
        core = _core(threat.mask)
        pairs = core[:, :-1] & core[:, 1:]
        assert 0.022 < a[core].std() / a[core].mean() < 0.033
        r = np.corrcoef(a[:, :-1][pairs], a[:, 1:][pairs])[0, 1]
        assert r == pytest.approx(correlation, abs=0.05)


def test_each_seed_draws_its_own_grain_about_the_same_mass():
    a, b = (render_threat("cocaine_bricks", seed=s) for s in (0, 1))
    core = _core(a.mask)
    assert np.array_equal(a.mask, b.mask) and a.mass_kg == b.mass_kg
    assert a.attenuation[0][core].mean() == pytest.approx(b.attenuation[0][core].mean(), rel=0.003)
    assert abs(np.corrcoef(a.attenuation[0][core], b.attenuation[0][core])[0, 1]) < 0.2


def test_projection_adds_attenuation_inside_the_mask_and_keeps_metadata():
    host = flat_host(sigma=0.0)
    threat = render_threat("cocaine_bricks")
    new, obj = project_threat(host, threat, row=60, col=100, rng=np.random.default_rng(0))
    added = new.data - host.data
    inside = obj.full_mask(host.shape)
    # Additive in attenuation, channel by channel; beyond the mask only the partly covered
    # pixels of its one-pixel rim change.
    rim = cv2.dilate(inside.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
    assert np.all(added[:, ~rim] == 0)
    assert added[0][rim & ~inside].sum() < 0.1 * added[0].sum()
    assert added[0][inside].sum() == pytest.approx(threat.attenuation[0].sum(), rel=0.02)
    assert added[1][inside].mean() > added[0][inside].mean()  # lower energy attenuates more
    assert new.metadata.scan_id == "host-1"
    assert new.metadata.attributes["lane"] == 3
    assert new.metadata.attributes["tip"][0]["threat"] == "cocaine_bricks"
    assert obj.concealment == "tip"
    assert obj.threat_class == "narcotics"


def test_noise_is_matched_to_the_host():
    sigma = 0.02
    host = flat_host(sigma=sigma, shape=(300, 300))
    threat = render_threat("cash_bricks")
    new, obj = project_threat(host, threat, row=150, col=150, rng=np.random.default_rng(1))
    inside = obj.full_mask(host.shape)
    extra = threat.attenuation[0].max()
    # Behind the threat fewer photons arrive: sigma grows by 1/sqrt(T) = exp(A/2).
    residual = new.data[0] - host.data[0]
    r0, c0, r1, c1 = obj.bbox
    core = residual[r0 + 5 : r1 - 5, c0 + 5 : c1 - 5]
    measured = np.std(np.diff(core, axis=1)) / np.sqrt(2)
    expected = sigma * np.sqrt(np.expm1(extra))
    assert measured == pytest.approx(expected, rel=0.25)
    assert inside.sum() == obj.area_px


def test_the_hosts_blur_mixes_the_threats_transmission_not_its_attenuation():
    # A scanner blurs intensities: across the edge of a dense slab (A = 3) the image is the
    # step in transmission blurred (reference: scipy's Gaussian filter of that step), half
    # way up at the edge in transmission, where a blurred attenuation would be at 22 %.
    from scipy.ndimage import gaussian_filter

    host = flat_host(level=1.0, sigma=1e-6, shape=(120, 160))
    slab = Threat(
        np.full((2, 60, 60), 3.0, np.float32),
        np.ones((60, 60), bool),
        "narcotics",
        "cocaine",
        1.0,
        5.0,
        "slab",
    )
    new, obj = project_threat(host, slab, row=60, col=80, blur_px=2.0, rng=np.random.default_rng(0))
    r0, c0, r1, c1 = obj.bbox
    step = np.ones(host.shape, np.float32)
    step[r0:r1, c0:c1] = np.exp(-3.0)
    reference = gaussian_filter(step, 2.0, mode="nearest")[60, c0 - 6 : c0 + 7]
    shown = np.exp(-(new.data[0] - host.data[0]))[60, c0 - 6 : c0 + 7]
    # (The slab's resampling onto the host's grid softens its outline by a fraction of a
    # pixel before the blur: hence the tolerance.)
    np.testing.assert_allclose(shown, reference, atol=0.05)
    assert shown[5:7].mean() == pytest.approx((1 + np.exp(-3.0)) / 2, abs=0.05)


def grey_noise(grey: np.ndarray) -> float:
    return float(np.std(np.diff(grey.astype(np.float32), axis=1)) / np.sqrt(2))


@pytest.mark.parametrize("curve_name", ["linear", "gamma-lifted", "log", "scanlab"])
@pytest.mark.parametrize("photons", [3000, 30000])
def test_a_slab_projected_into_a_display_host_is_as_grainy_as_the_host_behind_as_much(
    curve_name, photons
):
    # Independent reference: the same total attenuation simulated natively (Poisson photons
    # shown through the curve and rounded with dither) beside the spot. The slab's pixels
    # must show the grey-level noise those pixels show: its quantum noise grows as exp(A / 2)
    # and is seen through the curve's slope at the darker level; rounding counts once.
    curve = DisplayCurve() if curve_name == "scanlab" else VENDOR_PIPELINES[curve_name].curve
    rng = np.random.default_rng(0)
    extra = 1.5
    truth = np.full((200, 400), 1.0)
    truth[:, 200:] += extra
    att = -np.log(np.maximum(rng.poisson(photons * np.exp(-truth)) / photons, 1e-5))
    meta = ScanMetadata(energies_mev=(6.0,), pitch_mm=(5.0, 5.0))
    host = render_display(
        Scan(att[None].astype(np.float32), Representation.ATTENUATION, meta), curve=curve, rng=rng
    )
    slab = Threat(
        np.full((2, 120, 120), extra, np.float32),
        np.ones((120, 120), bool),
        "narcotics",
        "cocaine",
        1.0,
        5.0,
        "slab",
    )
    new, _ = project_threat(host, slab, row=100, col=100, rng=rng, display=curve)
    projected, native = new.data[0, 50:150, 50:150], new.data[0, 50:150, 250:350]
    assert projected.mean() == pytest.approx(native.mean(), abs=1.0)
    assert grey_noise(projected) == pytest.approx(grey_noise(native), rel=0.12)


def test_counts_host_round_trips_through_a_file(tmp_path):
    host = example_scan(rows=96, cols=320)
    new, obj = project_threat(
        host,
        render_threat("pistol"),
        row=40,
        col=250,
        rotation_deg=30,
        rng=np.random.default_rng(2),
    )
    assert new.data.dtype == np.uint16
    write_scan(new, tmp_path / "tip.tif")
    back = read_scan(tmp_path / "tip.tif")
    att_new = back.to_attenuation().high
    att_old = host.to_attenuation().high
    mask = obj.full_mask(host.shape)
    assert (att_new - att_old)[mask].mean() > 0.2


def test_display_host_gets_a_visible_threat():
    scene = generate_scene(SceneSpec("container_20ft", "textiles", 0.6), 3, pitch_mm=10.0)
    shown = render_display(scene.scan)
    new, obj = project_threat(
        shown, render_threat("rifle"), row=200, col=400, scale=1.0, rng=np.random.default_rng(3)
    )
    assert new.representation is Representation.DISPLAY
    assert new.data.dtype == np.uint8
    mask = obj.full_mask(shown.shape)
    # Darker (denser) where the rifle went.
    assert new.high[mask].mean() < shown.high[mask].mean() - 10


def test_cut_threat_from_one_scan_into_another():
    scene = generate_scene(
        SceneSpec("container_20ft", "textiles", 0.6, ["pistol"]), 21, pitch_mm=5.0
    )
    key_obj = scene.key.objects[0]
    threat = cut_threat(
        scene.scan,
        key_obj.full_mask(scene.scan.shape),
        threat_class="weapon",
        material="steel",
        name="cut-pistol",
    )
    host = flat_host(level=1.0, sigma=0.0, shape=(100, 100))
    new, obj = project_threat(host, threat, row=50, col=50, rng=np.random.default_rng(0))
    assert obj.threat_class == "weapon"
    # What was cut is what the pistol added, give or take the background estimate.
    cut_total = threat.attenuation[0].sum()
    added = (new.data[0] - host.data[0]).sum()
    assert added == pytest.approx(cut_total, rel=0.05)


def test_scale_and_pitch_resample_the_threat():
    threat = render_threat("cash_bricks")
    host = flat_host(sigma=0.0, shape=(200, 300))
    coarse = dataclasses.replace(host.metadata, pitch_mm=(10.0, 10.0))
    _, small = project_threat(
        host.replace(metadata=coarse), threat, row=100, col=150, rng=np.random.default_rng(0)
    )
    _, same = project_threat(host, threat, row=100, col=150, rng=np.random.default_rng(0))
    assert small.area_px == pytest.approx(same.area_px / 4, rel=0.1)


def test_bad_projection_requests():
    host = flat_host()
    with pytest.raises(SpecError, match="outside"):
        project_threat(
            host, render_threat("pistol"), row=5000, col=10, rng=np.random.default_rng(0)
        )
    with pytest.raises(SpecError, match="unknown threat"):
        render_threat("bomb")


def unsharp(grey: np.ndarray, amount: float, sigma: float) -> np.ndarray:
    """Reference unsharp masking (scipy), as an export's software sharpens its grey levels."""
    from scipy.ndimage import gaussian_filter

    return grey + amount * (grey - gaussian_filter(grey, sigma, mode="reflect"))


@pytest.mark.parametrize(("amount", "sigma"), [(1.0, 0.8), (0.5, 2.0)])
def test_a_threat_in_a_sharpened_export_carries_the_exports_halos(amount, sigma):
    # Independent reference: the slab drawn into the scan natively, shown through the curve
    # and sharpened as the export was (scipy's unsharp mask). The projected slab's outline
    # must show the same light and dark rims; unsharpened, it would show none.
    curve = VENDOR_PIPELINES["log"].curve
    truth = np.full((200, 300), 1.0, np.float32)
    native = truth.copy()
    native[40:160, 150:270] += 1.0

    def export(att: np.ndarray) -> np.ndarray:
        grey = curve.to_grey(np.exp(-att)).astype(np.float64) * 255
        return np.clip(np.rint(unsharp(grey, amount, sigma)), 0, 255).astype(np.uint8)

    meta = ScanMetadata(energies_mev=(6.0,), pitch_mm=(5.0, 5.0), attributes={"display": {}})
    host = Scan(export(truth)[None], Representation.DISPLAY, meta)
    slab = Threat(
        np.full((2, 120, 120), 1.0, np.float32),
        np.ones((120, 120), bool),
        "narcotics",
        "cocaine",
        1.0,
        5.0,
        "slab",
    )
    new, obj = project_threat(
        host,
        slab,
        row=100,
        col=210,
        rng=np.random.default_rng(0),
        display=curve,
        sharpen=(amount, sigma),
    )
    assert obj.bbox == (40, 150, 160, 270)
    reference = export(native).astype(float)
    np.testing.assert_allclose(new.data[0, 100, 140:160], reference[100, 140:160], atol=1.0)
    np.testing.assert_allclose(new.data[0, 30:50, 210], reference[30:50, 210], atol=1.0)
    rim = reference[100, 146:150].max() - reference[100, 140]
    assert rim >= 2  # the reference does show a light rim beside the slab


def test_quantum_noise_is_added_in_transmission_so_nearly_black_spots_stay_dark():
    # Few photons behind a dense spot: Poisson counts give a mean grey that noise in
    # attenuation, exp(-(A + n)), would lift (E exp(-n) > 1) and specks of light. Reference:
    # the same total attenuation simulated natively beside the spot.
    curve = VENDOR_PIPELINES["linear"].curve
    rng = np.random.default_rng(0)
    photons, extra = 300, 2.0
    truth = np.full((200, 400), 2.5)
    truth[:, 200:] += extra
    att = -np.log(np.maximum(rng.poisson(photons * np.exp(-truth)) / photons, 1e-5))
    meta = ScanMetadata(energies_mev=(6.0,), pitch_mm=(5.0, 5.0))
    host = render_display(
        Scan(att[None].astype(np.float32), Representation.ATTENUATION, meta), curve=curve, rng=rng
    )
    slab = Threat(
        np.full((2, 120, 120), extra, np.float32),
        np.ones((120, 120), bool),
        "narcotics",
        "cocaine",
        1.0,
        5.0,
        "slab",
    )
    new, _ = project_threat(host, slab, row=100, col=100, rng=rng, display=curve)
    projected = new.data[0, 50:150, 50:150].astype(float)
    native = new.data[0, 50:150, 250:350].astype(float)
    assert projected.mean() == pytest.approx(native.mean(), abs=0.3)
    assert projected.max() <= native.max() + 1


def test_the_hosts_own_detail_under_a_threat_is_not_sharpened_twice():
    # Goods' fine detail was sharpened with the rest of the export. Under a projected slab it
    # must look as it does under a slab drawn natively before the export's sharpening
    # (reference), not sharpened a second time along with the slab's outline.
    from scipy.ndimage import gaussian_filter

    curve = VENDOR_PIPELINES["log"].curve
    amount, sigma = 1.0, 0.8
    rng = np.random.default_rng(3)
    detail = 0.15 * gaussian_filter(rng.standard_normal((200, 300)), 0.7)
    truth = (1.5 + detail).astype(np.float32)
    native = truth.copy()
    native[40:160, 150:270] += 1.0

    def export(att: np.ndarray) -> np.ndarray:
        grey = curve.to_grey(np.exp(-att)).astype(np.float64) * 255
        return np.clip(np.rint(unsharp(grey, amount, sigma)), 0, 255).astype(np.uint8)

    meta = ScanMetadata(energies_mev=(6.0,), pitch_mm=(5.0, 5.0), attributes={"display": {}})
    host = Scan(export(truth)[None], Representation.DISPLAY, meta)
    slab = Threat(
        np.full((2, 120, 120), 1.0, np.float32),
        np.ones((120, 120), bool),
        "narcotics",
        "cocaine",
        1.0,
        5.0,
        "slab",
    )
    new, _ = project_threat(
        host, slab, row=100, col=210, rng=rng, display=curve, sharpen=(amount, sigma)
    )
    inside = (slice(60, 140), slice(170, 250))
    projected = new.data[0][inside].astype(float)
    reference = export(native)[inside].astype(float)
    # The detail's contrast: the projected pixels regressed on the reference's (the grain
    # the projection adds is independent of it and leaves the slope alone).
    p, r = projected - projected.mean(), reference - reference.mean()
    assert float((p * r).sum() / (r * r).sum()) == pytest.approx(1.0, abs=0.1)


@pytest.mark.parametrize("curve_name", ["linear", "gamma-lifted"])
def test_a_slab_in_a_denoised_export_is_as_grainy_as_the_host_at_that_grey(curve_name):
    # A vendor's noise reduction (OpenCV's bilateral filter, as render_export applies it)
    # smooths flat areas by how their grain compares with its threshold: how grainy each grey
    # looks is the export's own. Reference: the slab's total attenuation drawn natively and
    # exported alike. The host also shows a staircase of levels, where its grain is measured.
    from scanlab.synth._hosts import grain_by_level

    curve = VENDOR_PIPELINES[curve_name].curve
    rng = np.random.default_rng(0)
    photons, extra = 3000, 1.5
    truth = np.full((320, 400), 1.0)
    truth[:, 200:] += extra
    for i, level in enumerate(np.linspace(0.2, 4.0, 20)):
        truth[220:320, 20 * i : 20 * i + 20] = level
    att = -np.log(np.maximum(rng.poisson(photons * np.exp(-truth)) / photons, 1e-5))
    grey = curve.to_grey(np.exp(-att).astype(np.float32)) * np.float32(255)
    grey = cv2.bilateralFilter(grey, 5, 3.0, 1.5) + rng.uniform(-0.5, 0.5, grey.shape)
    pixels = np.clip(np.rint(grey), 0, 255).astype(np.uint8)
    meta = ScanMetadata(energies_mev=(6.0,), pitch_mm=(5.0, 5.0))
    host = Scan(pixels[None], Representation.DISPLAY, meta)
    slab = Threat(
        np.full((2, 120, 120), extra, np.float32),
        np.ones((120, 120), bool),
        "narcotics",
        "cocaine",
        1.0,
        5.0,
        "slab",
    )
    grain = grain_by_level(host)
    assert grain is not None
    new, _ = project_threat(host, slab, row=100, col=100, rng=rng, display=curve, grain=grain)
    projected, native = new.data[0, 50:150, 50:150], new.data[0, 50:150, 250:350]
    assert projected.astype(float).mean() == pytest.approx(native.astype(float).mean(), abs=1.0)
    assert grey_noise(projected) == pytest.approx(grey_noise(native), rel=0.15)


def test_a_threats_grain_is_sharpened_as_the_export_sharpened_the_hosts():
    # Independent reference: the same bricks (as resampled to the host) drawn natively, shown
    # through the curve and sharpened as the export was (scipy's unsharp mask). Their grain
    # inside must come out as contrasty as the reference's, not as it was before sharpening.
    from scanlab.synth._tip import _warp

    curve = VENDOR_PIPELINES["log"].curve
    amount, sigma = 1.0, 2.0
    threat = render_threat("cocaine_bricks", pitch_mm=5.0)
    patch, mask = _warp(threat, host_pitch=(5.0, 5.0), scale=1.0, rotation_deg=0.0)
    row, col = 100, 150
    r0, c0 = row - mask.shape[0] // 2, col - mask.shape[1] // 2
    box = (slice(r0, r0 + mask.shape[0]), slice(c0, c0 + mask.shape[1]))
    truth = np.full((200, 300), 1.0, np.float32)
    native = truth.copy()
    native[box] += patch[0]

    def export(att: np.ndarray, amount: float) -> np.ndarray:
        grey = curve.to_grey(np.exp(-att)).astype(np.float64) * 255
        return np.clip(np.rint(unsharp(grey, amount, sigma)), 0, 255).astype(np.uint8)

    meta = ScanMetadata(energies_mev=(6.0,), pitch_mm=(5.0, 5.0), attributes={"display": {}})
    host = Scan(export(truth, amount)[None], Representation.DISPLAY, meta)
    new, _ = project_threat(
        host,
        threat,
        row=row,
        col=col,
        rng=np.random.default_rng(0),
        display=curve,
        sharpen=(amount, sigma),
    )
    inside = np.zeros(truth.shape, bool)
    inside[box] = _core(mask, margin=6)
    projected = new.data[0][inside].astype(float)

    def slope(reference: np.ndarray) -> float:
        p, r = projected - projected.mean(), reference - reference.mean()
        return float((p * r).sum() / (r * r).sum())

    reference = export(native, amount)[inside].astype(float)
    assert reference.std() > 1.0  # the grain shows, in grey levels
    assert slope(reference) == pytest.approx(1.0, abs=0.1)
    assert slope(export(native, 0.0)[inside].astype(float)) > 1.3  # sharpening shows in it
