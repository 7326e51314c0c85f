"""Tiled prediction: same result as one pass for a fully convolutional network."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from scanlab.detect._tiling import predict_tiled, tile_starts
from scanlab.detect.torch_model import CargoUNet
from scanlab.errors import SpecError


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
    with pytest.raises(SpecError):
        predict_tiled(lambda x: x[:, 0], np.zeros((1, 10, 10)), tile_px=16, overlap_px=12)
    with pytest.raises(SpecError):
        predict_tiled(lambda x: x[:, 0], np.zeros((10, 10)))
