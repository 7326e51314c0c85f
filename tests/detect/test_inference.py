"""The detector's inference network gives the trained network's logits and maps."""

from __future__ import annotations

import platform
import subprocess
import sys

import numpy as np
import pytest
import torch

from scanlab.detect import load_detector
from scanlab.detect._inference import InferenceUNet
from scanlab.detect._preprocess import scan_to_input
from scanlab.detect._tiling import predict_tiled
from scanlab.detect._weights import _load, resolve_weights
from scanlab.detect.torch_model import CargoUNet
from scanlab.synth import SceneSpec, generate_scene


def trained_like(widths: tuple[int, ...]) -> CargoUNet:
    """A CargoUNet whose batch norms hold non-trivial statistics, as after training."""
    torch.manual_seed(3)
    net = CargoUNet(4, widths)
    gen = torch.Generator().manual_seed(4)
    for module in net.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            n = module.num_features
            module.running_mean.copy_(torch.randn(n, generator=gen))
            module.running_var.copy_(torch.rand(n, generator=gen) * 2 + 0.1)
            module.weight.data.copy_(torch.randn(n, generator=gen))
            module.bias.data.copy_(torch.randn(n, generator=gen))
    return net.eval()


@pytest.mark.parametrize("fused", [True, False])
def test_logits_are_the_trained_networks(fused):
    net = trained_like((8, 16, 24))
    before = {k: v.clone() for k, v in net.state_dict().items()}
    fast = InferenceUNet(net)
    if fused:  # the oneDNN kernel is there on every CPU build scanlab supports
        assert fast.fused
    fast.fused = fused
    x = torch.from_numpy(np.random.default_rng(5).normal(size=(3, 4, 40, 56)).astype(np.float32))
    with torch.inference_mode():
        want, got = net(x), fast(x)
    assert got.shape == want.shape == (3, 1, 40, 56)
    assert float(want.std()) > 0.05  # logits that vary: a wrong fold or order would show
    torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-5)
    assert all(not isinstance(m, torch.nn.BatchNorm2d) for m in fast.modules())
    after = net.state_dict()  # the model given is left as it was
    assert all(torch.equal(before[k], after[k]) for k in before)


def test_bad_input_shape_is_refused():
    fast = InferenceUNet(CargoUNet(4, (4, 8)).eval())
    with pytest.raises(ValueError, match=r"multiples of 2, got \(1, 4, 15, 16\)"):
        fast(torch.zeros(1, 4, 15, 16))
    with pytest.raises(ValueError, match=r"\(B, 4, H, W\)"):
        fast(torch.zeros(1, 3, 16, 16))


def test_shipped_detector_map_is_the_plain_networks():
    """v2 on a simulated scan: the detector's map (tiled, folded, fused) against the same
    tiles through the unmodified network in float32, channels first."""
    scene = generate_scene(SceneSpec("container_20ft", "rice", 0.7, ["pistol"]), 2024, pitch_mm=10)
    model, card = _load(resolve_weights("cargo-anomaly-v2"))
    model.eval()
    planes, _ = scan_to_input(scene.scan, model_pitch_mm=card.pitch_mm)

    def plain(x: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            return torch.sigmoid(model(torch.from_numpy(x)))[:, 0].numpy()

    want = predict_tiled(plain, planes, tile_px=256, overlap_px=96, align=model.stride)
    detector = load_detector("cargo-anomaly-v2")
    got = predict_tiled(detector._predict, planes, tile_px=256, overlap_px=96, align=8)
    assert want.shape == scene.scan.shape and want.max() > 0.5
    np.testing.assert_allclose(got, want, atol=2e-5)


FAULTS = """
import resource, sys
import numpy as np
from scanlab.detect._inference import reuse_freed_memory

def second_allocation(megabytes):
    # Minor page faults of filling a block after one of that size was filled and freed.
    first = np.ones(megabytes << 18, dtype=np.float32)
    del first
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    second = np.ones(megabytes << 18, dtype=np.float32)
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before

given_back = second_allocation(64)
with reuse_freed_memory():
    reused = second_allocation(64)
    with reuse_freed_memory():  # as another thread's detector would
        pass
    still = second_allocation(96)  # the outer block holds on
print(given_back, reused, still, second_allocation(300))
"""


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc's allocator only")
def test_freed_memory_is_reused_within_the_block():
    """In a fresh process (a process that ran the detector holds freed memory already):
    page faults are counted per page, or per huge page where numpy asks for them, so the
    counts are compared rather than fixed."""
    out = subprocess.run(
        [sys.executable, "-c", FAULTS], capture_output=True, text=True, check=True
    ).stdout
    given_back, reused, still, larger_after = map(int, out.split())
    assert given_back > 100 and reused < given_back / 10 and still < given_back / 10
    # After the block the defaults hold again: a block larger than any held is mapped anew.
    assert larger_after > given_back
