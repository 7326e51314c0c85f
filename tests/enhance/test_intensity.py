from __future__ import annotations

import numpy as np
import pytest

from scanlab.enhance import (
    adjust_gamma,
    clahe,
    equalize_hist,
    high_penetration,
    log_view,
    low_density,
    negative,
    window_level,
)
from scanlab.errors import CalibrationError, ScanValidationError, SpecError
from scanlab.io import Scan


@pytest.mark.parametrize("dtype", [np.uint16, np.float32])
def test_window_level_maps_the_percentiles_to_the_ends(dtype):
    rng = np.random.default_rng(0)
    image = rng.integers(1000, 50000, (100, 120)).astype(dtype)
    low, high = np.percentile(image, [2.0, 98.0])
    out = window_level(image, percentiles=(2.0, 98.0))
    assert out.dtype == dtype
    top = 65535 if dtype == np.uint16 else 1.0
    assert np.all(out[image <= low] == 0)
    assert np.all(out[image >= high] == top)
    inside = (image > low + 1) & (image < high - 1)  # clear of rounding to the ends
    assert np.all((out[inside] > 0) & (out[inside] < top))
    # monotone in the input
    order = np.argsort(image, axis=None)
    assert np.all(np.diff(out.ravel()[order].astype(np.float64)) >= 0)


def test_window_level_from_level_and_width_and_out_range():
    image = np.linspace(0, 10, 11, dtype=np.float32)[np.newaxis]
    out = window_level(image, level=5.0, width=4.0, out_range=(-1.0, 1.0))
    np.testing.assert_allclose(out[0], [-1, -1, -1, -1, -0.5, 0, 0.5, 1, 1, 1, 1])


def test_window_level_float64_stays_float64_and_large_images_use_a_grid():
    image = np.tile(np.arange(3000, dtype=np.float64), (800, 1))  # 2.4 Mpx: sampled
    out = window_level(image, percentiles=(10.0, 90.0))
    assert out.dtype == np.float64
    # the grid estimate lands within a few grey levels of the exact percentiles
    assert abs(np.argmax(out[0] > 0) - 300) <= 3
    assert abs(np.argmax(out[0] >= 1.0) - 2700) <= 3


def test_window_level_rejects_half_a_window():
    with pytest.raises(SpecError, match="level and width"):
        window_level(np.zeros((4, 4), np.float32), level=1.0)
    with pytest.raises(SpecError, match="width"):
        window_level(np.zeros((4, 4), np.float32), level=1.0, width=0.0)


def test_equalize_hist_uint16_is_flat_without_8_bit_quantisation():
    rng = np.random.default_rng(1)
    image = np.clip(rng.normal(20000, 1500, (256, 256)), 0, 65535).astype(np.uint16)
    out = equalize_hist(image)
    assert out.dtype == np.uint16
    assert len(np.unique(out)) > 256
    assert len(np.unique(out)) == len(np.unique(image))  # one output level per input level
    hist, _ = np.histogram(out, bins=16, range=(0, 65536))
    assert hist.min() > 0.8 * hist.mean() and hist.max() < 1.2 * hist.mean()
    assert out.min() == 0 and out.max() == 65535


def test_equalize_hist_float32_is_flat_and_keeps_order():
    rng = np.random.default_rng(2)
    image = rng.exponential(1.0, (200, 200)).astype(np.float32)
    out = equalize_hist(image)
    assert out.dtype == np.float32
    assert len(np.unique(out)) > 256
    hist, _ = np.histogram(out, bins=10, range=(0, 1))
    assert hist.min() > 0.85 * hist.mean()
    a, b = np.argmin(image), np.argmax(image)
    assert out.ravel()[a] == 0.0 and out.ravel()[b] == 1.0


@pytest.mark.parametrize("dtype", [np.uint16, np.float32, np.uint8])
def test_clahe_keeps_dtype_and_depth(dtype, att):
    image = window_level(att, out_range=(0, 200 if dtype == np.uint8 else 50000)).astype(dtype)
    out = clahe(image, kernel_size=32)
    assert out.dtype == dtype and out.shape == image.shape
    if dtype != np.uint8:
        assert len(np.unique(out)) > 256
    if dtype == np.float32:
        assert 0.0 <= out.min() and out.max() <= 1.0


def test_clahe_raises_local_contrast():
    rng = np.random.default_rng(3)
    image = np.full((128, 128), 30000.0) + rng.normal(0, 200, (128, 128))
    image[:, 64:] += 20000  # two regions of low internal contrast
    image = image.astype(np.uint16)
    out = clahe(image, kernel_size=64, clip_limit=4.0).astype(np.float64)
    assert out[:, 8:56].std() > 5 * image[:, 8:56].std()


def test_gamma_and_negative_are_range_preserving_tone_curves():
    u = np.array([[0, 16384, 65535]], dtype=np.uint16)
    np.testing.assert_array_equal(adjust_gamma(u, 1.0), u)
    assert adjust_gamma(u, 0.5)[0, 1] == round(65535 * (16384 / 65535) ** 0.5)
    np.testing.assert_array_equal(negative(negative(u)), u)
    f = np.array([[0.5, 2.0, 7.5]], dtype=np.float32)
    g = adjust_gamma(f, 2.0)
    assert g.dtype == np.float32 and g[0, 0] == 0.5 and g[0, 2] == 7.5
    np.testing.assert_allclose(g[0, 1], 0.5 + 7.0 * (1.5 / 7.0) ** 2, rtol=1e-6)
    np.testing.assert_array_equal(negative(f), [[7.5, 6.0, 0.5]])
    np.testing.assert_array_equal(
        negative(u, in_range=(0, 100)), np.array([[100, 0, 0]], dtype=np.uint16)
    )
    with pytest.raises(SpecError, match="gamma"):
        adjust_gamma(f, 0.0)


def test_log_view_matches_scan_attenuation():
    rng = np.random.default_rng(4)
    counts = rng.integers(0, 60000, (20, 30)).astype(np.uint16)
    scan = Scan(counts, "counts")
    expected = scan.to_attenuation().high
    air, _ = scan.reference_levels()
    out = log_view(counts, air_level=air[0])
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, expected, rtol=1e-6, atol=1e-6)
    # without air_level, the 99.9th percentile is the open beam
    np.testing.assert_array_equal(
        log_view(counts), log_view(counts, air_level=np.percentile(counts, 99.9))
    )
    with pytest.raises(CalibrationError, match="air level"):
        log_view(counts, air_level=10.0, dark_level=20.0)


def test_high_penetration_and_low_density_window_the_object_pixels(att):
    high = high_penetration(att)
    low = low_density(att, percentile=30.0)
    assert high.dtype == low.dtype == np.float32
    air = att < 0.1
    dense = att > 3.0
    wall = (att > 0.3) & (att < 0.5)
    medium = (att > 2.2) & (att < 2.6)
    # high penetration: air black, the thin wall (the median object) nearly so, the medium
    # box in the middle of the range, the dense box white
    assert high[air].max() == 0.0 and high[wall].max() < 0.05
    assert 0.3 < np.median(high[medium]) < 0.7
    assert high[dense].min() > 0.95
    # low density: air black, the thin wall well inside the window, dense boxes saturated
    assert np.median(low[air]) < 0.05
    assert 0.2 < np.median(low[wall]) <= 1.0
    assert low[dense].min() == 1.0


@pytest.mark.parametrize(
    ("image", "match"),
    [
        (np.zeros((2, 3, 4), np.float32), "2-D"),
        (np.zeros((5,), np.float32), "2-D"),
        (np.zeros((3, 3), np.int32), "int32"),
        (np.zeros((3, 3), bool), "bool"),
        (np.array([[0.0, np.nan]], np.float32), "NaN"),
        (np.array([[0.0, np.inf]]), "NaN or infinite"),
        (np.zeros((0, 4), np.float32), "empty"),
    ],
)
def test_bad_images_raise_a_scanlab_error_naming_the_problem(image, match):
    for func in (window_level, equalize_hist, negative, clahe, log_view):
        with pytest.raises(ScanValidationError, match=match) as info:
            func(image)
        assert func.__name__ in str(info.value)


def test_big_endian_input_is_accepted():
    image = np.arange(12, dtype=">u2").reshape(3, 4)
    out = negative(image)
    assert out.dtype == np.uint16 and out[0, 0] == 65535


@pytest.mark.parametrize(
    ("func", "params", "match"),
    [
        (high_penetration, {"percentiles": (50.0, 120.0)}, "percentiles"),
        (low_density, {"percentile": -1.0}, "percentile"),
        (window_level, {"percentiles": (-5.0, 50.0)}, "percentiles"),
        (window_level, {"out_range": (1.0, 0.0)}, "out_range"),
        (equalize_hist, {"nbins": 1}, "nbins"),
        (clahe, {"clip_limit": 0.0}, "clip_limit"),
        (clahe, {"kernel_size": (0, 8)}, "kernel_size"),
    ],
)
def test_bad_parameters_raise_spec_errors_naming_them(func, params, match, att):
    with pytest.raises(SpecError, match=match):
        func(att, **params)
