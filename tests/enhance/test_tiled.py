from __future__ import annotations

from functools import partial

import numpy as np
import pytest

from scanlab import enhance as en
from scanlab.errors import ScanValidationError, SpecError

ROWS, COLS = 203, 70  # not a multiple of the band height


def memmaps(tmp_path, image: np.ndarray, out_dtype, out_shape=None):
    src = np.lib.format.open_memmap(
        tmp_path / "in.npy", mode="w+", dtype=image.dtype, shape=image.shape
    )
    src[:] = image
    src.flush()
    src = np.load(tmp_path / "in.npy", mmap_mode="r")
    out = np.lib.format.open_memmap(
        tmp_path / "out.npy", mode="w+", dtype=out_dtype, shape=out_shape or image.shape
    )
    return src, out


def scene(dtype) -> np.ndarray:
    rng = np.random.default_rng(11)
    att = np.zeros((ROWS, COLS), np.float32)
    att[40:150, 10:60] = 1.5
    att[90:110, 20:30] = 4.0
    att += rng.normal(0, 0.05, att.shape).astype(np.float32)
    if dtype == np.uint16:
        return np.clip(60000 * np.exp(-att), 0, 65535).astype(np.uint16)
    return att


LOCAL_FILTERS = [
    partial(en.unsharp_mask, radius=2.0, amount=1.5),
    partial(en.edge_enhance, direction="horizontal", radius=1.5),
    partial(en.edge_enhance, direction="vertical", radius=3.0),
    partial(en.edge_enhance),
    partial(en.edge_outline, radius=1.0),
    partial(en.denoise_median, size=5),
    partial(en.denoise_median, size=7),
    partial(en.window_level, level=1.0, width=2.0),
    partial(en.adjust_gamma, gamma=0.5, in_range=(0.0, 5.0)),
    partial(en.log_view, air_level=60000.0),
    partial(en.denoise_nl_means, h=0.1, value_range=(-1.0, 5.0)),
    partial(en.denoise_bilateral, sigma_color=0.2, value_range=(-1.0, 5.0)),
]


def name_of(f) -> str:
    return f.func.__name__ + "(" + ",".join(f"{k}={v}" for k, v in f.keywords.items()) + ")"


@pytest.mark.parametrize("func", LOCAL_FILTERS, ids=name_of)
@pytest.mark.parametrize("dtype", [np.uint16, np.float32])
def test_tiled_memmap_run_is_bit_identical_to_the_whole_image(func, dtype, tmp_path):
    image = scene(dtype)
    if func.func is en.denoise_nl_means and dtype == np.uint16:
        func = partial(en.denoise_nl_means, h=2000.0)
    whole = func(image)
    src, out = memmaps(tmp_path, image, whole.dtype)
    result = en.apply_tiled(func, src, tile_rows=32, out=out)
    assert result is out
    np.testing.assert_array_equal(np.load(tmp_path / "out.npy"), whole)


def test_tiled_rgb_output_and_explicit_halo(tmp_path):
    image = scene(np.float32)
    func = partial(en.pseudo_colour, palette="ice", in_range=(0.0, 4.0))
    whole = func(image)
    tiled = en.apply_tiled(func, image, tile_rows=50, halo=0)
    np.testing.assert_array_equal(tiled, whole)


def test_a_halo_smaller_than_the_footprint_breaks_the_identity():
    image = scene(np.float32)
    func = partial(en.unsharp_mask, radius=3.0)
    assert en.footprint_halo(func) == 12
    small = en.apply_tiled(func, image, tile_rows=20, halo=4)
    assert not np.array_equal(small, func(image))


@pytest.mark.parametrize(
    "func",
    [
        en.window_level,  # percentiles of the whole image
        partial(en.clahe),
        partial(en.denoise_bilateral, sigma_color=0.2),  # weights tabulated over the range
        partial(en.denoise_nl_means, h=0.1),
        partial(en.equalize_hist),
        np.fliplr,
    ],
)
def test_whole_image_filters_are_refused_without_a_halo(func):
    with pytest.raises(SpecError, match="halo"):
        en.apply_tiled(func, scene(np.float32), tile_rows=32)


def test_apply_tiled_checks_its_arguments():
    image = scene(np.float32)
    with pytest.raises(ScanValidationError, match="2-D"):
        en.apply_tiled(en.negative, np.zeros((2, 4, 4)), tile_rows=2, halo=0)
    with pytest.raises(SpecError, match="tile_rows"):
        en.apply_tiled(en.negative, image, tile_rows=0, halo=0)
    with pytest.raises(SpecError, match="rows"):
        en.apply_tiled(lambda band: band[:-1], image, tile_rows=50, halo=0)
    with pytest.raises(ScanValidationError, match="out has shape"):
        en.apply_tiled(en.negative, image, tile_rows=50, halo=0, out=np.empty((3, 3)))
