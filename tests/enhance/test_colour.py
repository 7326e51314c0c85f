from __future__ import annotations

import numpy as np
import pytest

from scanlab.enhance import PALETTES, density_highlight, pseudo_colour
from scanlab.errors import SpecError


@pytest.mark.parametrize("palette", sorted(PALETTES))
def test_palettes_are_read_only_rgb_tables(palette):
    lut = PALETTES[palette]
    assert lut.dtype == np.float32 and lut.shape[1] == 3
    assert 0.0 <= lut.min() and lut.max() <= 1.0
    assert not lut.flags.writeable
    if palette != "rainbow":  # the others run dark to bright
        assert np.all(np.diff(lut.sum(axis=1)) >= 0)


def test_pseudo_colour_dtypes_and_ends():
    u = np.array([[0, 32768, 65535]], dtype=np.uint16)
    rgb = pseudo_colour(u, palette="grey")
    assert rgb.dtype == np.uint8 and rgb.shape == (1, 3, 3)
    np.testing.assert_array_equal(rgb[0, 0], [0, 0, 0])
    np.testing.assert_array_equal(rgb[0, 2], [255, 255, 255])
    assert abs(int(rgb[0, 1, 0]) - 128) <= 1
    f = np.array([[2.0, 3.0, 4.0]], dtype=np.float32)
    rgb = pseudo_colour(f, palette="hot")
    assert rgb.dtype == np.float32 and rgb.shape == (1, 3, 3)
    np.testing.assert_allclose(rgb[0, 0], [0, 0, 0])
    np.testing.assert_allclose(rgb[0, 2], [1, 1, 1])
    with pytest.raises(SpecError, match="palette"):
        pseudo_colour(f, palette="jet9000")


def test_density_highlight_colours_exactly_the_band(att):
    band = (1.5, 3.0)
    rgb = density_highlight(att, band=band, colour=(1.0, 0.0, 0.0), opacity=1.0)
    assert rgb.dtype == np.float32 and rgb.shape == (*att.shape, 3)
    inside = (att >= band[0]) & (att <= band[1])
    grey = (rgb[..., 0] == rgb[..., 1]) & (rgb[..., 1] == rgb[..., 2])
    np.testing.assert_array_equal(~grey, inside)
    assert (rgb[inside][:, 1] == 0).all() and (rgb[inside][:, 0] > 0.4).all()


def test_density_highlight_on_uint16_gives_uint8_and_inverts():
    image = np.array([[1000, 2000, 3000, 4000]], dtype=np.uint16)
    rgb = density_highlight(image, band=(2500, 3500), percentiles=(0, 100), invert=True)
    assert rgb.dtype == np.uint8
    np.testing.assert_array_equal(rgb[0, 0], [255, 255, 255])  # lowest value white
    np.testing.assert_array_equal(rgb[0, 3], [0, 0, 0])
    assert rgb[0, 2, 0] > rgb[0, 2, 1]  # third pixel tinted red


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"band": (2.0, 1.0)}, "band"),
        ({"band": (1.0, 2.0), "opacity": 1.5}, "opacity"),
        ({"band": (1.0, 2.0), "colour": (255, 0, 0)}, "colour"),
    ],
)
def test_density_highlight_rejects_bad_parameters(params, match, att):
    with pytest.raises(SpecError, match=match):
        density_highlight(att, **params)
