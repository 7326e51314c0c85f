"""Tiled prediction: same result as one pass for a fully convolutional network."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from scanlab.detect._tiling import hottest_peaks, predict_tiled, tile_starts
from scanlab.detect.torch_model import CargoUNet
from scanlab.errors import SpecError


def test_tile_starts_by_hand():
    assert tile_starts(10, 4, 1) == [0, 3, 6]  # no alignment unless asked
    assert tile_starts(10, 4, 1, 2) == [0, 2, 4, 6]
    assert tile_starts(10, 10, 3) == tile_starts(10, 16, 3) == [0]


def test_tile_starts_cover_and_align():
    for length, tile, overlap in [(1000, 512, 64), (513, 512, 96), (100, 512, 64), (4000, 256, 32)]:
        starts = tile_starts(length, tile, overlap, 8)
        assert starts[0] == 0 and starts[-1] + min(tile, length) == length
        assert all(s % 8 == 0 for s in starts[:-1])
        assert all(b - a <= tile - overlap for a, b in itertools.pairwise(starts))


def test_pointwise_function_is_reproduced_exactly():
    planes = np.random.default_rng(0).random((2, 130, 333)).astype(np.float32)
    out = predict_tiled(lambda x: x[:, 0] * 2 + x[:, 1], planes, tile_px=64, overlap_px=16)
    np.testing.assert_allclose(out, planes[0] * 2 + planes[1], rtol=1e-6)


def test_tiled_equals_untiled_for_a_convolutional_net():
    torch.manual_seed(0)
    net = CargoUNet(4, (4, 8)).eval()  # receptive field about 10 px each side
    planes = np.random.default_rng(1).standard_normal((4, 100, 290)).astype(np.float32)

    def predict(x: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            return net(torch.from_numpy(x))[:, 0].numpy()

    whole = predict_tiled(predict, planes, tile_px=1024, overlap_px=0, align=2)
    np.testing.assert_allclose(whole, predict(planes[None])[0], atol=1e-6)
    tiled = predict_tiled(predict, planes, tile_px=96, overlap_px=48, align=2, batch_size=3)
    np.testing.assert_allclose(tiled, whole, atol=1e-4)


def test_bad_tiling_parameters():
    def pointwise(x):
        return x[:, 0]

    planes = np.zeros((1, 10, 10))
    need = r"need tile_px >= 2 \* overlap_px >= 0 and batch_size >= 1, got tile_px=16, overlap_px"
    with pytest.raises(SpecError, match=need):
        predict_tiled(pointwise, planes, tile_px=16, overlap_px=12)
    with pytest.raises(SpecError, match="batch_size=0"):
        predict_tiled(pointwise, planes, tile_px=16, overlap_px=4, batch_size=0)
    with pytest.raises(SpecError, match="overlap_px=-1"):
        predict_tiled(pointwise, planes, tile_px=16, overlap_px=-1)
    with pytest.raises(SpecError, match="tile_px=4"):  # a tile smaller than the alignment
        predict_tiled(pointwise, planes, tile_px=4, overlap_px=0, align=8)
    with pytest.raises(SpecError, match=r"planes must be \(C, row, col\), got \(10, 10\)"):
        predict_tiled(pointwise, np.zeros((10, 10)))
    # 16 and 8 are fine as given, but rounded up to align=16 the overlap is the whole tile:
    # neighbours one tile apart would leave the pixels by each seam without any weight.
    with pytest.raises(SpecError, match="become 16 and 16: need tile >= 2 \\* overlap"):
        predict_tiled(pointwise, np.zeros((1, 8, 64)), tile_px=16, overlap_px=8, align=16)


def test_the_smallest_legal_settings_work():
    """One-pixel tiles without overlap and one tile per call: each pixel is its own tile."""
    planes = np.random.default_rng(3).random((1, 5, 7)).astype(np.float32)
    calls = []

    def pointwise(x):
        calls.append(x.shape)
        return x[:, 0] + 1.0

    out = predict_tiled(pointwise, planes, tile_px=1, overlap_px=0, batch_size=1)
    np.testing.assert_allclose(out, planes[0] + 1.0, rtol=1e-6)
    assert calls == [(1, 1, 1, 1)] * 35


def test_defaults_tile_512_with_96_overlap_four_tiles_a_call():
    """The defaults (tile 512, overlap 96, no alignment, 4 tiles a call) on 8 x 2001 float64
    planes: the starts by hand are 0, 416, 832, 1248 (steps of 512 - 96) and 2001 - 512 =
    1489, read back from a plane holding each column's index; the network gets float32 and
    the map comes back float32 and whole."""
    cols = np.broadcast_to(np.arange(2001, dtype=np.float64), (8, 2001))
    planes = np.stack([cols, np.ones_like(cols)])
    calls = []

    def recorder(x):
        calls.append((x.shape, x.dtype, x[:, 0, 0, 0].tolist()))
        return x[:, 0] * 0.5

    out = predict_tiled(recorder, planes)
    assert out.dtype == np.float32 and out.shape == (8, 2001)
    np.testing.assert_allclose(out, cols * 0.5, rtol=1e-6)
    assert calls == [
        ((4, 2, 8, 512), np.float32, [0.0, 416.0, 832.0, 1248.0]),
        ((1, 2, 8, 512), np.float32, [1489.0]),
    ]


def test_a_network_that_drops_a_tile_is_an_error():
    def drops_one(x):
        return x[:-1, 0]

    with pytest.raises(ValueError, match="zip"):
        predict_tiled(drops_one, np.zeros((1, 8, 200)), tile_px=64, overlap_px=16)


def test_neighbouring_tiles_blend_with_complementary_raised_cosine_ramps():
    """Each tile predicts its own identity (1 for the first tile, 0 for the second): the
    blend is then the first tile's share of the weight, which the module docstring fixes.

    96 columns, tiles of 64 sharing 32 (starts 0 and 32): each tile's outer 32 // 4 = 8
    overlapping pixels get no weight, the middle 16 (columns 40..55) a Hann ramp, so the
    first tile's share there is cos^2(pi / 2 * (k + 0.5) / 16) and sin^2 + cos^2 = 1.
    """
    cols = np.arange(96, dtype=np.float32)
    planes = np.broadcast_to(cols, (1, 8, 96)).copy()

    def first_tile(x: np.ndarray) -> np.ndarray:  # (B, C, h, w) -> (B, h, w)
        return np.broadcast_to((x[:, 0, :1, :1] == 0).astype(np.float32), x[:, 0].shape)

    out = predict_tiled(first_tile, planes, tile_px=64, overlap_px=32)
    assert out.shape == (8, 96)
    k = np.arange(16)
    expected = np.concatenate([np.ones(40), np.cos(np.pi / 2 * (k + 0.5) / 16) ** 2, np.zeros(40)])
    np.testing.assert_allclose(out, np.broadcast_to(expected, (8, 96)), atol=1e-6)
    # The same along rows (a tall image, tiles stacked vertically).
    tall = np.ascontiguousarray(np.swapaxes(planes, 1, 2))
    out_rows = predict_tiled(first_tile, tall, tile_px=64, overlap_px=32)
    np.testing.assert_allclose(out_rows, np.broadcast_to(expected[:, None], (96, 8)), atol=1e-6)


def test_sizes_off_the_alignment_are_tiled_flush_without_padding():
    """101 x 333 pixels with tiles aligned to 8: every tile lies inside the image, a multiple
    of 8 on each side, the last of each row and column flush with the end; nothing is padded.
    A pointwise function is reproduced exactly, and a 3 x 3 mean (which pads each tile it
    sees by repeating its border) matches filtering the whole image once, because no pixel
    takes weight from a tile whose border it lies on."""
    planes = np.random.default_rng(2).random((1, 101, 333)).astype(np.float32)
    seen = []

    def pointwise(x: np.ndarray) -> np.ndarray:
        seen.append(x.shape[1:])
        return x[:, 0] * 3.0

    out = predict_tiled(pointwise, planes, tile_px=64, overlap_px=16, align=8)
    assert out.shape == (101, 333)
    np.testing.assert_allclose(out, planes[0] * 3.0, rtol=1e-6)
    assert all(c == 1 and h % 8 == 0 and w % 8 == 0 for c, h, w in seen)
    # Starts read back from planes of row and column indices. Columns: steps of
    # 64 - 16 = 48, then 333 - 64 = 269 flush with the end. Rows (101 >= 64): 0 and
    # 101 - 64 = 37.
    rows, cols = np.indices((101, 333), dtype=np.float32)
    tiles = set()

    def start(x: np.ndarray) -> np.ndarray:
        for t in x:
            tiles.add((int(t[0, 0, 0]), int(t[1, 0, 0]), t.shape[1], t.shape[2]))
        return x[:, 0]

    predict_tiled(start, np.stack([rows, cols]), tile_px=64, overlap_px=16, align=8)
    col_starts = [0, 48, 96, 144, 192, 240, 269]
    assert tiles == {(r, c, 64, 64) for r in (0, 37) for c in col_starts}
    # 70 rows, shorter than a tile: the longest aligned tile (64 rows) from the top and a
    # strip of 16 + 8 = 24 rows flush with the bottom (rows 46..69).
    tiles.clear()
    predict_tiled(start, np.stack([rows, cols])[:, :70], tile_px=128, overlap_px=16, align=8)
    assert {(r, h) for r, _, h, _ in tiles} == {(0, 64), (46, 24)}

    def mean3(x: np.ndarray) -> np.ndarray:
        p = np.pad(x[:, 0], ((0, 0), (1, 1), (1, 1)), mode="edge")
        return (
            sum(p[:, i : i + x.shape[2], j : j + x.shape[3]] for i in range(3) for j in range(3))
            / 9
        )

    padded = np.pad(planes[0], 1, mode="edge")
    expected = sum(padded[i : i + 101, j : j + 333] for i in range(3) for j in range(3)) / 9
    for tile_px in (64, 512):
        whole = predict_tiled(mean3, planes, tile_px=tile_px, overlap_px=16, align=8)
        np.testing.assert_allclose(whole, expected, rtol=1e-5)


def test_the_bottom_edge_of_an_unaligned_scan_is_what_the_network_sees_without_padding():
    """A 4-level network (stride 8) on a scan of 101 rows, fewer than a tile: its map's last
    rows are exactly what the network gives on the scan's last 24 rows (no padding needed,
    the scan's end at the window's end, as in a training patch taken at a scan's border) and
    its first rows what it gives on the first 96. Padding the scan to 104 rows, by repeating
    the last row or by mirroring, changes those bottom rows: the network reads the padding
    as content, which is where clean exports' maps used to peak."""
    torch.manual_seed(0)
    net = CargoUNet(2, (4, 4, 4, 4)).eval()
    assert net.stride == 8
    rng = np.random.default_rng(5)
    planes = np.cumsum(rng.standard_normal((2, 101, 64)), axis=1).astype(np.float32) / 10

    def predict(x: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            return net(torch.from_numpy(x))[:, 0].numpy()

    out = predict_tiled(predict, planes, tile_px=512, overlap_px=16, align=8)
    # strip rows 77..100 (16 + 8); the first tile's dead margin is its last 4 rows (92..95)
    np.testing.assert_allclose(out[92:], predict(planes[None, :, 77:])[0, -9:], atol=1e-6)
    np.testing.assert_allclose(out[:84], predict(planes[None, :, :96])[0, :84], atol=1e-6)
    for mode in ("edge", "reflect"):
        padded = np.pad(planes, ((0, 0), (0, 3), (0, 0)), mode=mode)
        assert np.abs(out - predict(padded[None])[0, :101])[-4:].max() > 1e-3


def test_hottest_peaks_are_the_highest_local_maxima_apart_from_each_other():
    # Three bumps and a plateau of noise under the floor: the peaks are the bumps' tops, best
    # first, one per bump (a shoulder within the radius is not a second peak).
    rng = np.random.default_rng(0)
    prob = rng.uniform(0.0, 0.04, (120, 200)).astype(np.float32)
    rows, cols = np.mgrid[0:120, 0:200]
    for (r, c), height in (((30, 40), 0.9), ((80, 150), 0.6), ((90, 60), 0.3)):
        prob = np.maximum(prob, height * np.exp(-((rows - r) ** 2 + (cols - c) ** 2) / 50.0))
    prob[30, 48] = 0.5  # a shoulder of the first bump, within 15 px of its top
    peaks = hottest_peaks(prob, 5)
    assert [(r, c) for _, r, c in peaks] == [(30, 40), (80, 150), (90, 60)]
    assert [round(v, 2) for v, _, _ in peaks] == [0.9, 0.6, 0.3]
    assert hottest_peaks(prob, 2) == peaks[:2]
    assert hottest_peaks(prob, 5, floor=0.95) == []
