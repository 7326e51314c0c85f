from __future__ import annotations

import numpy as np
import pytest
import scipy.ndimage as ndi
from skimage import filters as skfilters

from scanlab import enhance as en
from scanlab.errors import ScanValidationError, SpecError

# Every function that maps a 2-D image to a 2-D image, with parameters for a small test image.
IMAGE_FUNCTIONS = [
    (en.window_level, {}),
    (en.adjust_gamma, {"gamma": 0.7}),
    (en.negative, {}),
    (en.equalize_hist, {}),
    (en.clahe, {"kernel_size": 32}),
    (en.high_penetration, {}),
    (en.low_density, {}),
    (en.unsharp_mask, {}),
    (en.edge_enhance, {}),
    (en.edge_outline, {"radius": 1.0}),
    (en.denoise_median, {}),
    (en.denoise_median, {"size": 7}),
    (en.denoise_bilateral, {}),
    (en.denoise_nl_means, {}),
    (en.destripe, {}),
]


@pytest.mark.parametrize(
    ("func", "params"), IMAGE_FUNCTIONS, ids=lambda v: getattr(v, "__name__", "")
)
@pytest.mark.parametrize("dtype", [np.uint16, np.float32])
def test_every_filter_keeps_uint16_and_float32(func, params, dtype, att, counts):
    image = counts if dtype == np.uint16 else att
    out = func(image, **params)
    assert out.dtype == dtype
    assert out.shape == image.shape
    assert np.isfinite(out.astype(np.float64)).all()
    assert image is not out


@pytest.mark.parametrize(
    ("func", "params"), IMAGE_FUNCTIONS, ids=lambda v: getattr(v, "__name__", "")
)
def test_every_filter_refuses_a_3d_stack(func, params):
    with pytest.raises(ScanValidationError, match="2-D"):
        func(np.zeros((2, 8, 8), np.float32), **params)


def step_image(axis: int, dtype=np.float32) -> np.ndarray:
    """A step from 1000 to 3000 between rows 15|16 (axis 0) or columns 15|16 (axis 1)."""
    image = np.full((32, 32), 1000.0)
    if axis == 0:
        image[16:] = 3000.0
    else:
        image[:, 16:] = 3000.0
    return image.astype(dtype)


@pytest.mark.parametrize("dtype", [np.uint16, np.float32])
def test_horizontal_edge_enhancement_responds_to_a_step_between_rows_only(dtype):
    rows_step, cols_step = step_image(0, dtype), step_image(1, dtype)
    out = en.edge_enhance(rows_step, direction="horizontal").astype(np.float64)
    # overshoot on both sides of the edge, in the direction of the step
    assert out[15, 10] < 1000 - 100 and out[16, 10] > 3000 + 100
    assert out[2, 10] == pytest.approx(1000, abs=1) and out[29, 10] == pytest.approx(3000, abs=1)
    # a vertical edge is left alone (to float32 rounding of the kernel)
    np.testing.assert_allclose(
        en.edge_enhance(cols_step, direction="horizontal"), cols_step, rtol=1e-6
    )


@pytest.mark.parametrize("dtype", [np.uint16, np.float32])
def test_vertical_edge_enhancement_responds_to_a_step_between_columns_only(dtype):
    rows_step, cols_step = step_image(0, dtype), step_image(1, dtype)
    out = en.edge_enhance(cols_step, direction="vertical").astype(np.float64)
    assert out[10, 15] < 900 and out[10, 16] > 3100
    np.testing.assert_allclose(
        en.edge_enhance(rows_step, direction="vertical"), rows_step, rtol=1e-6
    )
    both = en.edge_enhance(cols_step, direction="both")
    np.testing.assert_allclose(both, en.edge_enhance(cols_step, direction="vertical"), rtol=1e-6)


def test_edge_enhancement_of_a_reversed_step_overshoots_the_other_way():
    out = en.edge_enhance(4000 - step_image(0), direction="horizontal")
    assert out[15, 10] > 3000 + 100 and out[16, 10] < 1000 - 100


def test_unsharp_mask_matches_skimage_away_from_the_border(att):
    ours = en.unsharp_mask(att, radius=2.0, amount=1.5)
    theirs = skfilters.unsharp_mask(att, radius=2.0, amount=1.5, preserve_range=True)
    np.testing.assert_allclose(ours[10:-10, 10:-10], theirs[10:-10, 10:-10], atol=1e-4)


def test_unsharp_mask_clips_integers_to_their_range():
    image = np.zeros((16, 16), np.uint16)
    image[:, 8:] = 65000
    out = en.unsharp_mask(image, amount=3.0)
    assert out.max() == 65535 and out.min() == 0


def test_edge_outline_is_skimage_sobel_and_peaks_on_the_step():
    image = step_image(1).astype(np.float64)
    np.testing.assert_allclose(en.edge_outline(image), skfilters.sobel(image), atol=1e-9)
    out = en.edge_outline(step_image(0, np.uint16))
    assert out.dtype == np.uint16
    profile = out[:, 10].astype(int)
    assert set(np.flatnonzero(profile)) == {15, 16}
    assert profile[15] == round(2000 / np.sqrt(2))


@pytest.mark.parametrize("size", [3, 5, 7])
@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float32, np.float64])
def test_median_is_the_same_filter_whatever_the_backend(size, dtype):
    rng = np.random.default_rng(size)
    image = rng.integers(0, 250, (40, 50)).astype(dtype)
    expected = ndi.median_filter(image, size=size, mode="nearest")
    np.testing.assert_array_equal(en.denoise_median(image, size=size), expected)


def test_median_removes_impulse_noise():
    image = np.full((30, 30), 1000, np.uint16)
    image[::7, ::5] = 65535
    assert en.denoise_median(image).max() == 1000
    with pytest.raises(SpecError, match="odd"):
        en.denoise_median(image, size=4)


def test_bilateral_smooths_noise_but_keeps_the_edge():
    rng = np.random.default_rng(5)
    clean = step_image(1) / 1000.0
    noisy = clean + rng.normal(0, 0.05, clean.shape).astype(np.float32)
    out = en.denoise_bilateral(noisy, sigma_color=0.2, sigma_spatial=2.0)
    assert out.dtype == np.float32
    assert np.abs(out - clean)[:, 2:14].std() < 0.5 * np.abs(noisy - clean)[:, 2:14].std()
    assert out[:, 17:].mean() - out[:, :15].mean() > 1.9  # the 2.0 step survives


def test_bilateral_value_range_pins_the_result_across_tiles():
    rng = np.random.default_rng(6)
    image = rng.normal(0, 1, (40, 40)).astype(np.float32)
    image[:5] += 10.0  # the range of a band differs from the whole image's
    params = {"sigma_color": 1.0, "value_range": (float(image.min()), float(image.max()))}
    whole = en.denoise_bilateral(image, **params)
    band = en.denoise_bilateral(image[10:], **params)
    np.testing.assert_array_equal(whole[20:], band[10:])


@pytest.mark.parametrize("dtype", [np.uint16, np.float32])
def test_nl_means_reduces_noise_and_keeps_dtype(dtype):
    rng = np.random.default_rng(7)
    clean = step_image(1)
    noisy = clean + rng.normal(0, 100, clean.shape)
    noisy = noisy.astype(dtype)
    out = en.denoise_nl_means(noisy, h=150.0)
    assert out.dtype == dtype
    err_in = np.abs(noisy.astype(float) - clean)[:, 2:14].mean()
    err_out = np.abs(out.astype(float) - clean)[:, 2:14].mean()
    assert err_out < 0.5 * err_in


def test_estimate_noise_ignores_edges():
    rng = np.random.default_rng(8)
    image = step_image(1).astype(np.float64) + rng.normal(0, 3.0, (32, 32))
    assert en.estimate_noise(image) == pytest.approx(3.0, rel=0.2)
