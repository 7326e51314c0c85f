from __future__ import annotations

import math

import numpy as np
import pytest

from scanlab import enhance as en
from scanlab.enhance import MATERIAL_CLASSES, load_preset
from scanlab.errors import MissingChannelError, ScanValidationError, SpecError
from scanlab.io import Scan, ScanMetadata
from scanlab.physics import acquire, basis_lookup, get_material, get_scanner, ratio_curve

SCANNER = "scanlab-6MV-dual"
# slabs with a high-energy attenuation near 3, where all four classes can be told apart
SLABS = [("polyethylene", 70.0), ("aluminium", 22.0), ("iron", 9.0), ("lead", 5.0)]
EXPECTED = ["organic", "inorganic", "metal", "high_z"]


@pytest.fixture(scope="module")
def acquisition():
    """A simulated dual-energy scan: air above, then four 24 x 24 slabs in a row."""
    scanner = get_scanner(SCANNER)
    lookup = basis_lookup(scanner)
    maps = np.zeros((3, 40, 4 * 30 + 6), np.float32)
    for k, (name, cm) in enumerate(SLABS):
        material = get_material(name)
        grams = lookup.decompose(material) * material.density_g_cm3 * cm
        maps[:, 12:36, 6 + 30 * k : 30 + 30 * k] = grams[:, None, None]
    return acquire(maps, scanner, rng=np.random.default_rng(5))


def attenuation(acq) -> tuple[np.ndarray, np.ndarray]:
    trans = np.maximum(acq.transmission(), 1e-6)
    att = -np.log(trans)
    return att[0], att[1]


def block(k: int) -> tuple[slice, slice]:
    return slice(16, 32), slice(10 + 30 * k, 26 + 30 * k)


def test_curves_come_from_physics_and_are_cached():
    curves = en.material_curves(SCANNER)
    assert en.material_curves(SCANNER) is curves
    i = round(3.0 / 0.01)
    for k, (name, _) in enumerate(SLABS):
        curve = ratio_curve(
            name,
            np.linspace(0.1, 200, 4000) / get_material(name).density_g_cm3,
            scanner=get_scanner(SCANNER),
        )
        expected = np.interp(3.0, curve.attenuation_high, curve.ratio)
        assert curves.reference_ratio[k, i] == pytest.approx(expected, abs=2e-4)
    # boundaries lie midway between consecutive references, lightest on top
    ref = curves.reference_ratio[:, i]
    np.testing.assert_allclose(curves.boundaries[:, i], (ref[:-1] + ref[1:]) / 2)
    assert np.all(np.diff(curves.boundaries[:, i]) < 0)
    # thin lead is not separable from iron: no high-Z boundary there
    assert curves.boundaries[2, round(1.0 / 0.01)] == -np.inf
    assert not curves.boundaries.flags.writeable


def test_more_smoothing_widens_the_classifiable_range():
    curves = en.material_curves(SCANNER)
    ranges = [curves.classifiable_range(radius=r) for r in (0.5, 1.0, 2.0)]
    assert ranges[0][0] > ranges[1][0] > ranges[2][0]
    assert ranges[0][1] < ranges[1][1] < ranges[2][1]


def test_noiseless_slabs_are_classified_exactly():
    scanner = get_scanner(SCANNER)
    high = np.empty((9, 9 * len(SLABS)), np.float32)
    low = np.empty_like(high)
    for k, (name, cm) in enumerate(SLABS):
        curve = ratio_curve(name, [cm], scanner=scanner)
        high[:, 9 * k : 9 * k + 9] = curve.attenuation_high[0]
        low[:, 9 * k : 9 * k + 9] = curve.attenuation_high[0] * curve.ratio[0]
    classes = en.material_classes(high, low)
    assert classes.dtype == np.uint8
    assert [MATERIAL_CLASSES[c] for c in classes[4, 4::9]] == EXPECTED


def test_simulated_scan_is_classified_block_by_block(acquisition):
    high, low = attenuation(acquisition)
    classes = en.material_classes(high, low, radius=1.5)
    assert np.all(classes[:8] == MATERIAL_CLASSES.index("too_thin"))  # air
    for k, name in enumerate(EXPECTED):
        values, counts = np.unique(classes[block(k)], return_counts=True)
        majority = values[np.argmax(counts)]
        assert MATERIAL_CLASSES[majority] == name
        assert counts.max() > 0.8 * counts.sum()


def test_thin_and_beyond_penetration_pixels_are_unclassified():
    scanner = get_scanner(SCANNER)
    curve = ratio_curve("iron", [0.05, 60.0], scanner=scanner)  # 0.5 mm foil, 60 cm block
    high = np.repeat(curve.attenuation_high.astype(np.float32), 9)[None].repeat(9, axis=0)
    low = high * np.repeat(curve.ratio.astype(np.float32), 9)
    classes = en.material_classes(high, low)
    assert MATERIAL_CLASSES[classes[4, 4]] == "too_thin"
    assert MATERIAL_CLASSES[classes[4, 13]] == "too_thick"


def test_material_colours(acquisition):
    high, low = attenuation(acquisition)
    rgb = en.material_colour(high, low)
    assert rgb.dtype == np.float32 and rgb.shape == (*high.shape, 3)
    np.testing.assert_allclose(np.median(rgb[:8], axis=(0, 1)), [1, 1, 1], atol=0.02)  # air
    orange, green, blue, purple = (np.median(rgb[block(k)], axis=(0, 1)) for k in range(4))
    assert orange[0] > orange[1] > orange[2]
    assert green[1] > max(green[0], green[2])
    assert blue[2] > max(blue[0], blue[1])
    assert purple[0] > purple[1] and purple[2] > purple[1]


def test_stripping_views_keep_only_their_classes_in_colour(acquisition):
    high, low = attenuation(acquisition)

    def saturation(rgb, k):
        pixel = np.median(rgb[block(k)], axis=(0, 1))
        return float(pixel.max() - pixel.min())

    organic = en.organic_only(high, low)
    metal = en.metal_only(high, low)
    assert saturation(organic, 0) > 0.1 and saturation(organic, 2) < 0.02
    assert saturation(metal, 0) < 0.02 and saturation(metal, 2) > 0.1
    assert saturation(metal, 3) > 0.1  # high-Z counts as metal here


def test_ratio_image(acquisition):
    high, low = attenuation(acquisition)
    ratio = en.ratio_image(high, low, radius=1.0)
    assert ratio.dtype == np.float32
    organic, iron = (float(np.median(ratio[block(k)])) for k in (0, 2))
    assert organic > iron > 1.0


def test_material_preset_on_a_dual_energy_scan(acquisition):
    scan = Scan(
        acquisition.transmission(),
        "transmission",
        ScanMetadata(scanner_model=SCANNER, energies_mev=(6.0, 4.0)),
    )
    high, low = attenuation(acquisition)
    np.testing.assert_allclose(
        load_preset("material").apply(scan), en.material_colour(high, low), atol=1e-6
    )
    with pytest.raises(MissingChannelError, match="dual-energy"):
        load_preset("material").apply(Scan(acquisition.transmission()[0], "transmission"))


def test_material_input_checks():
    att = np.ones((8, 8), np.float32)
    with pytest.raises(ScanValidationError, match="attenuation"):
        en.material_classes(att.astype(np.uint16), att.astype(np.uint16))
    with pytest.raises(ScanValidationError, match="differ in shape"):
        en.material_colour(att, att[:4])
    with pytest.raises(ScanValidationError, match="NaN"):
        en.metal_only(att, np.full_like(att, np.nan))


def test_material_preset_paints_each_slab_in_its_console_colour(acquisition):
    """Through the preset, on the scan: orange organic, green inorganic, blue metal, purple
    high-Z (the usual console scheme, by the order of the RGB channels), white air."""
    scan = Scan(
        acquisition.transmission(),
        "transmission",
        ScanMetadata(scanner_model=SCANNER, energies_mev=(6.0, 4.0)),
    )
    rgb = load_preset("material").apply(scan)
    assert rgb.shape == (*scan.shape, 3) and rgb.dtype == np.float32
    np.testing.assert_array_equal(rgb[2, 2], [1.0, 1.0, 1.0])  # air
    hue = {
        "organic": lambda r, g, b: r > g > b,
        "inorganic": lambda r, g, b: g > r and g > b,
        "metal": lambda r, g, b: b > g > r,
        "high_z": lambda r, g, b: r > g and b > g,
    }
    for k, name in enumerate(EXPECTED):
        pixels = rgb[block(k)].reshape(-1, 3)
        share = np.mean([hue[name](*p) for p in pixels])
        assert share > 0.9, (name, share)
        assert pixels.max() < 1.0  # darker than air: the slab absorbs


def test_ratio_image_smooths_with_a_gaussian_cut_at_four_sigma_and_leaves_air_undefined():
    import warnings

    from scipy import ndimage

    # A point of extra low-energy attenuation over a flat high channel: the ratio image is
    # 1 + the Gaussian-smoothed point, as scipy smooths it (reflected edges, cut at 4 sigma).
    high = np.full((21, 21), 2.0, np.float32)
    low = high.copy()
    low[10, 10] += 2.0
    ratio = en.ratio_image(high, low, radius=1.0)
    point = np.zeros((21, 21))
    point[10, 10] = 1.0
    expected = 1.0 + ndimage.gaussian_filter(point, 1.0, truncate=4.0, mode="reflect")
    np.testing.assert_allclose(ratio, expected, rtol=0, atol=2e-6)
    assert ratio[10, 15] == 1.0 and ratio[10, 14] > 1.0  # nothing beyond 4 sigma
    # Air (zero attenuation) has no ratio, and dividing there warns of nothing.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        air = en.ratio_image(np.zeros((3, 3), np.float32), np.zeros((3, 3), np.float32), radius=0.0)
    assert np.isnan(air).all()


def test_classifiable_range_averages_four_pi_radius_squared_pixels():
    curves = en.material_curves("scanlab-6MV-dual")
    # Below r = 0.28 (4 pi r^2 < 1) a pixel is its own average: no smoothing, n_eff = 1.
    for radius in (0.0, 0.2, 0.5, 1.0, 2.0):
        # Smoothing with sigma r averages 4 pi r^2 pixels: the noise falls by its square root.
        n_eff = max(1.0, 4.0 * np.pi * radius**2)
        ok = np.flatnonzero(curves.ratio_noise / np.sqrt(n_eff) < curves.margin)
        expected = (float(curves.attenuation_high[ok[0]]), float(curves.attenuation_high[ok[-1]]))
        assert curves.classifiable_range(radius=radius) == expected


def test_metal_only_names_itself_when_refusing_input():
    with pytest.raises(
        ScanValidationError, match=r"^metal_only: high and low channels differ in shape"
    ):
        en.metal_only(np.ones((4, 4), np.float32), np.ones((4, 5), np.float32))


def test_the_densest_pixel_keeps_a_fifth_of_the_brightness(acquisition):
    # With the window spanning the whole image, the densest pixel is at its top: brightness
    # 0.2 (so its hue still shows). Stripped (neither metal nor high-Z here), it is the faint
    # grey 1 - 0.25 (1 - 0.2) = 0.8 in every channel.
    high, low = attenuation(acquisition)
    rgb = en.metal_only(high, low, percentiles=(0.0, 100.0))
    densest = np.unravel_index(np.argmax(high), high.shape)
    assert MATERIAL_CLASSES[en.material_classes(high, low)[densest]] not in ("metal", "high_z")
    np.testing.assert_allclose(rgb[densest], [0.8, 0.8, 0.8], rtol=0, atol=1e-6)
    # material_classes smooths by one pixel unless told otherwise.
    assert np.array_equal(
        en.material_classes(high, low), en.material_classes(high, low, radius=1.0)
    )
    assert not np.array_equal(
        en.material_classes(high, low), en.material_classes(high, low, radius=2.0)
    )


def test_without_smoothing_the_range_is_where_one_pixels_noise_is_below_the_margin():
    curves = en.material_curves("scanlab-6MV-dual")
    ok = np.flatnonzero(curves.ratio_noise < curves.margin)
    unsmoothed = (float(curves.attenuation_high[ok[0]]), float(curves.attenuation_high[ok[-1]]))
    assert curves.classifiable_range(radius=0.0) == unsmoothed
    assert curves.classifiable_range(radius=0.0) != curves.classifiable_range(radius=0.4)


def hand_curves(boundary: float) -> en.MaterialCurves:
    """Curves made by hand: every class boundary at R = ``boundary`` at every attenuation
    from 0 to 12 (so R above it is organic and R below it high-Z), one-pixel noise below
    the margin from an attenuation of 0.5 to 11 and equal to it elsewhere (the classifiable
    range without smoothing: noise must be below the margin)."""
    grid = np.arange(0.0, 12.0 + 0.005, 0.01)
    noise = np.where((grid >= 0.5 - 1e-9) & (grid <= 11.0 + 1e-9), 0.0, 0.5)
    return en.MaterialCurves(
        scanner="by hand",
        attenuation_high=grid,
        reference_ratio=np.full((4, grid.size), np.nan),
        boundaries=np.full((3, grid.size), boundary),
        ratio_noise=noise,
        margin=np.full(grid.size, 0.5),
    )


def test_given_curves_decide_the_classes_in_every_view():
    # Iron, 9 cm: the scanner's own curves call it metal. Curves with every boundary at
    # R = 0 call any positive R organic; with every boundary at R = 10, high-Z.
    c = ratio_curve("iron", [9.0], scanner=get_scanner(SCANNER))
    high = np.full((5, 5), c.attenuation_high[0], np.float32)
    low = high * np.float32(c.ratio[0])
    classes = en.material_classes(high, low)
    assert {MATERIAL_CLASSES[k] for k in classes.ravel()} == {"metal"}
    for boundary, name in ((0.0, "organic"), (10.0, "high_z")):
        curves = hand_curves(boundary)
        given = en.material_classes(high, low, curves=curves)
        assert {MATERIAL_CLASSES[k] for k in given.ravel()} == {name}
    # material_colour, organic_only and metal_only colour by the curves they are given:
    # organic is orange (r > g > b), and iron called organic is not stripped by organic_only
    # nor kept by metal_only (a faint grey: r = g = b).
    organic = hand_curves(0.0)
    for view in (en.material_colour, en.organic_only):
        r, g, b = view(high, low, curves=organic)[2, 2]
        assert r > g > b, view.__name__
        r, g, b = view(high, low)[2, 2]  # the scanner's curves: metal, blue or grey
        assert not r > g > b, view.__name__
    r, g, b = en.metal_only(high, low, curves=organic)[2, 2]
    assert r == g == b
    r, g, b = en.metal_only(high, low)[2, 2]
    assert b > g > r


def test_the_classifiable_range_includes_its_ends():
    # hand_curves: decidable from an attenuation of exactly 0.5 to exactly 11 (both float32
    # exact); a pixel at either end is classified (organic), one a step outside is not.
    curves = hand_curves(0.0)
    assert curves.classifiable_range(radius=0.0) == pytest.approx((0.5, 11.0))
    high = np.array([[0.49, 0.5, 11.0, 11.01]], np.float32)
    classes = en.material_classes(high, high * np.float32(1.1), radius=0.0, curves=curves)
    assert [MATERIAL_CLASSES[k] for k in classes[0]] == [
        "too_thin",
        "organic",
        "organic",
        "too_thick",
    ]


def test_a_pixel_at_the_last_grid_attenuation_reads_the_last_boundary():
    # Curves decidable up to 12, the end of the grid, whose boundaries drop to R = 0 at that
    # last point alone: a pixel at exactly 12 with R = 1.1 is organic there (above every
    # boundary), where the boundary of the point before (R = 10) would call it high-Z.
    curves = hand_curves(10.0)
    boundaries = curves.boundaries.copy()
    boundaries[:, -1] = 0.0
    noise = np.zeros_like(curves.ratio_noise)
    noise[0] = 1.0
    curves = en.MaterialCurves(
        "by hand",
        curves.attenuation_high,
        curves.reference_ratio,
        boundaries,
        noise,
        curves.margin,
    )
    high = np.array([[11.98, 12.0]], np.float32)
    classes = en.material_classes(high, high * np.float32(1.1), radius=0.0, curves=curves)
    assert [MATERIAL_CLASSES[k] for k in classes[0]] == ["high_z", "organic"]


def test_the_views_smooth_by_the_radius_they_are_given():
    # A one-pixel line of iron across polyethylene: smoothed by half a pixel it is metal
    # (blue); by 3 pixels its ratio is mostly polyethylene's and it is no longer metal (by 1,
    # the default, it is inorganic: neither).
    scanner = get_scanner(SCANNER)
    poly = ratio_curve("polyethylene", [70.0], scanner=scanner)
    iron = ratio_curve("iron", [9.0], scanner=scanner)
    high = np.full((31, 31), poly.attenuation_high[0], np.float32)
    low = high * np.float32(poly.ratio[0])
    high[:, 15] = iron.attenuation_high[0]
    low[:, 15] = high[:, 15] * np.float32(iron.ratio[0])
    assert MATERIAL_CLASSES[en.material_classes(high, low, radius=0.5)[15, 15]] == "metal"
    assert MATERIAL_CLASSES[en.material_classes(high, low, radius=3.0)[15, 15]] == "organic"
    for view in (en.material_colour, en.metal_only):
        r, g, b = view(high, low, radius=0.5)[15, 15]
        assert b > g > r, view.__name__
        r, g, b = view(high, low, radius=3.0)[15, 15]
        assert not b > g > r, view.__name__


def test_pixels_beyond_the_brightness_window_keep_their_class_colour():
    # Polyethylene whose attenuation rises along the row; the window is the lower half of
    # the attenuations, so the upper half lies beyond it: each such pixel is at the window's
    # top, a fifth of the organic tint (0.15 white + 0.85 orange), not another class's colour.
    scanner = get_scanner(SCANNER)
    curve = ratio_curve("polyethylene", [50.0, 60.0, 70.0, 80.0], scanner=scanner)
    high = np.repeat(curve.attenuation_high[None, :].astype(np.float32), 4, axis=0)
    low = high * curve.ratio[None, :].astype(np.float32)
    assert {MATERIAL_CLASSES[k] for k in en.material_classes(high, low).ravel()} == {"organic"}
    rgb = en.material_colour(high, low, percentiles=(0.0, 40.0))
    tint = 0.15 * np.ones(3) + 0.85 * np.array([1.0, 0.55, 0.1])
    np.testing.assert_allclose(rgb[:, 2:], np.broadcast_to(0.2 * tint, (4, 2, 3)), atol=1e-6)


def test_ratio_image_is_the_plain_quotient_unless_asked_to_smooth():
    rng = np.random.default_rng(3)
    high = rng.uniform(0.5, 3.0, (12, 9)).astype(np.float32)
    low = (high * rng.uniform(1.0, 1.3, (12, 9))).astype(np.float32)
    np.testing.assert_allclose(en.ratio_image(high, low), low / high, rtol=1e-6)


@pytest.mark.parametrize("radius", [1.0, 2.0, 0.5])
def test_smoothing_reflects_the_edge_pixels_as_scipy_reflect_does(radius):
    from scipy import ndimage

    # A ramp: smoothing the edge depends on how the border is extended. "reflect" repeats
    # the edge pixel (d c b a | a b c d), where OpenCV's default would not (d c b | a b c d).
    high = np.full((6, 16), 2.0, np.float32)
    low = high * (1.0 + np.linspace(0.0, 1.0, 16, dtype=np.float32))[None, :]
    ratio = en.ratio_image(high, low, radius=radius)
    expected = (
        ndimage.gaussian_filter(low.astype(np.float64), radius, truncate=4.0, mode="reflect") / 2.0
    )
    np.testing.assert_allclose(ratio, expected, rtol=1e-5)


@pytest.mark.parametrize(
    ("call", "name"),
    [
        (lambda h, lo: en.ratio_image(h, lo, radius=-1.0), "ratio_image"),
        (lambda h, lo: en.material_classes(h, lo, radius=-1.0), "material_classes"),
        (lambda h, lo: en.material_colour(h[0], lo[0]), "material_colour"),
        (lambda h, lo: en.organic_only(h, lo[:4]), "organic_only"),
        (lambda h, lo: en.material_colour(h, lo, percentiles=(0.0, 120.0)), "material_colour"),
        (lambda h, lo: en.organic_only(h, lo * np.nan), "organic_only"),
        (lambda h, lo: en.ratio_image(h, lo[:4]), "ratio_image"),
    ],
)
def test_each_view_names_itself_and_the_problem(call, name):
    att = np.ones((8, 8), np.float32)
    with pytest.raises((SpecError, ScanValidationError), match=rf"^{name}: "):
        call(att, att)


def test_a_single_energy_scanner_has_no_material_curves():
    import dataclasses

    dual = get_scanner(SCANNER)
    one = dataclasses.replace(
        dual, name="one", energies_mev=(6.0,), air_photons_per_pixel=dual.air_photons_per_pixel[:1]
    )
    with pytest.raises(MissingChannelError, match="'one' has one energy; material needs two"):
        en.material_curves(one)


def test_the_views_use_the_scanner_they_are_given():
    # 9 cm of iron seen by the 9 MV scanner: its own curves call it metal (blue); the 6 MV
    # scanner's curves, high-Z (purple: red and blue above green).
    nine = get_scanner("scanlab-9MV-dual")
    c = ratio_curve("iron", [9.0], scanner=nine)
    high = np.full((5, 5), c.attenuation_high[0], np.float32)
    low = high * np.float32(c.ratio[0])
    assert MATERIAL_CLASSES[en.material_classes(high, low, scanner=nine.name)[2, 2]] == "metal"
    assert MATERIAL_CLASSES[en.material_classes(high, low)[2, 2]] == "high_z"
    for view in (en.material_colour, en.metal_only):
        r, g, b = view(high, low, scanner=nine.name)[2, 2]
        assert b > g > r, view.__name__
        r, g, b = view(high, low)[2, 2]
        assert r > g and b > g, view.__name__


def test_thin_organic_material_is_organic_not_high_z():
    # 15 cm of polyethylene: a high-energy attenuation of 0.92, inside the classifiable range
    # at the default smoothing (0.77 up), and organic like any thicker polyethylene.
    c = ratio_curve("polyethylene", [15.0], scanner=get_scanner(SCANNER))
    assert 0.77 < c.attenuation_high[0] < 1.0
    high = np.full((9, 9), c.attenuation_high[0], np.float32)
    classes = en.material_classes(high, high * np.float32(c.ratio[0]))
    assert {MATERIAL_CLASSES[k] for k in classes.ravel()} == {"organic"}


def test_every_view_smooths_by_one_pixel_unless_told_otherwise(acquisition):
    high, low = attenuation(acquisition)
    for view in (en.material_colour, en.organic_only, en.metal_only):
        assert np.array_equal(view(high, low), view(high, low, radius=1.0)), view.__name__
        assert not np.array_equal(view(high, low), view(high, low, radius=2.0)), view.__name__


def test_brightness_falls_linearly_through_the_window_in_256_levels():
    # Attenuations 0, 0.1, ..., 1.0 along a row: too thin to classify at any smoothing
    # (grey). The window (0th to 100th percentile) is 0 to 1: brightness 1 - 0.8 x, quantised
    # to the nearest of 256 levels. Below the window (x < 0) stays white; above, 0.2.
    x = np.linspace(0.0, 1.0, 11, dtype=np.float32)
    high = np.repeat(x[None, :], 3, axis=0)
    assert (en.material_classes(high, high, radius=0.0) == 0).all()
    rgb = en.material_colour(high, high, radius=0.0, percentiles=(0.0, 100.0))
    expected = 1.0 - 0.8 * np.floor(x * 255 + 0.5) / 255
    np.testing.assert_allclose(rgb[1], np.repeat(expected[:, None], 3, axis=1), atol=1e-6)
    beyond = high.copy()
    beyond[0, 0], beyond[0, 1] = -50.0, 50.0  # far outside the window (0.5 to 99.5 %)
    rgb = en.material_colour(beyond, beyond, radius=0.0, percentiles=(5.0, 95.0))
    np.testing.assert_allclose(rgb[0, 0], [1.0, 1.0, 1.0], atol=1e-6)
    np.testing.assert_allclose(rgb[0, 1], [0.2, 0.2, 0.2], atol=1e-6)


def test_a_window_of_no_width_leaves_the_image_white():
    # The 10th and 90th percentiles of this image are the same value (one pixel in 16 is
    # denser): nothing to stretch, all white, that pixel too.
    high = np.full((4, 4), 0.05, np.float32)
    high[0, 0] = 5.0
    rgb = en.material_colour(high, high, radius=0.0, percentiles=(10.0, 90.0))
    np.testing.assert_array_equal(rgb, np.ones((4, 4, 3), np.float32))


def test_range_defaults_and_a_scanner_that_can_decide_nothing():
    curves = en.material_curves(SCANNER)
    assert curves.classifiable_range() == curves.classifiable_range(radius=1.0)
    assert curves.classifiable_range() != curves.classifiable_range(radius=2.0)
    hopeless = en.MaterialCurves(
        "by hand",
        curves.attenuation_high,
        curves.reference_ratio,
        curves.boundaries,
        np.full(curves.attenuation_high.size, 1.0),
        np.full(curves.attenuation_high.size, 0.01),
    )
    assert hopeless.classifiable_range(radius=0.0) == (math.inf, -math.inf)


def test_a_ratio_on_a_boundary_belongs_to_the_lighter_class():
    # Every boundary at R = 1.1: a pixel with R exactly 1.1 is not below any: organic.
    curves = hand_curves(float(np.float32(1.1)))
    high = np.ones((2, 2), np.float32)
    classes = en.material_classes(high, high * np.float32(1.1), radius=0.0, curves=curves)
    assert {MATERIAL_CLASSES[k] for k in classes.ravel()} == {"organic"}
    classes = en.material_classes(high, high * np.float32(1.09), radius=0.0, curves=curves)
    assert {MATERIAL_CLASSES[k] for k in classes.ravel()} == {"high_z"}


def test_counts_in_either_channel_are_refused_with_the_way_to_convert_them():
    att = np.ones((4, 4), np.float32)
    for high, low in ((att, att.astype(np.uint16)), (att.astype(np.uint16), att)):
        with pytest.raises(
            ScanValidationError,
            match=r"^material_classes: expects attenuation \(-ln T\) as floats, got .*; "
            r"convert counts with Scan\.to_attenuation\(\) or log_view\(\)$",
        ):
            en.material_classes(high, low)
