"""The network as the detector runs it: batch norm folded into the convolutions, ReLU fused
into them on CPU, and each skip's 1 x 1 reduction applied before upsampling; the same map as
:class:`~scanlab.detect.torch_model.CargoUNet` within float rounding, in less time."""

from __future__ import annotations

import contextlib
import copy
import ctypes
import functools
import platform
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, TypeVar

import torch
import torch.nn.functional as F
from torch import nn

if TYPE_CHECKING:
    from scanlab.detect.torch_model import CargoUNet

__all__ = ["InferenceUNet", "fold_batch_norm", "reuse_freed_memory"]

_Module = TypeVar("_Module", bound=nn.Module)


def fold_batch_norm(model: _Module) -> _Module:
    """Fold each conv + batch-norm pair of the (eval-mode) model into one conv, in place."""
    from torch.nn.utils.fusion import fuse_conv_bn_eval

    for module in model.modules():
        if isinstance(module, nn.Sequential):
            for i in range(len(module) - 1):
                conv, bn = module[i], module[i + 1]
                if isinstance(conv, nn.Conv2d) and isinstance(bn, nn.BatchNorm2d):
                    module[i] = fuse_conv_bn_eval(conv, bn)
                    module[i + 1] = nn.Identity()
    return model


class InferenceUNet(nn.Module):
    """A :class:`CargoUNet` for inference only, computing the same logits faster.

    - Batch norm is folded into the preceding convolutions (exact up to rounding).
    - On CPU, each convolution and the ReLU after it run as one oneDNN call (the fused kernel
      PyTorch's own compiler uses), so the activations are not read and written a second time;
      elsewhere, or where that kernel is missing, a plain convolution and ReLU.
    - The decoder's 1 x 1 reduction is applied before the nearest-neighbour upsampling, not
      after: a per-pixel map commutes with repeating pixels, so the result is the same, with
      a quarter of the work and half the channels to upsample.
    - Activations are channels-last, which oneDNN convolves about 1.7 times faster on CPU.

    Parameters
    ----------
    model : CargoUNet
        The trained network (copied; it is not changed).

    Examples
    --------
    >>> from scanlab.detect.torch_model import CargoUNet
    >>> net = CargoUNet(4, (4, 8)).eval()
    >>> x = torch.randn(1, 4, 16, 24)
    >>> with torch.inference_mode():
    ...     bool(torch.allclose(InferenceUNet(net)(x), net(x), atol=1e-5))
    True
    """

    def __init__(self, model: CargoUNet) -> None:
        super().__init__()
        folded = fold_batch_norm(copy.deepcopy(model).eval())
        self.stride = model.stride
        self.in_channels = model.in_channels
        self._encoder = [_convs(block) for block in folded.encoder]
        self._decoder = [_convs(block) for block in folded.decoder]
        # Registered as submodules, so that .to() and state_dict() see them.
        self.encoder = nn.ModuleList(nn.ModuleList(pair) for pair in self._encoder)
        self.decoder = nn.ModuleList(nn.ModuleList(pair) for pair in self._decoder)
        self.reduce = folded.reduce
        self.head = folded.head
        self.eval()
        self.to(memory_format=torch.channels_last)
        self.fused = _fused_kernel_works()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) network input -> (B, 1, H, W) anomaly logits."""
        _, c, h, w = x.shape
        if c != self.in_channels or h % self.stride or w % self.stride:
            raise ValueError(
                f"CargoUNet: input must be (B, {self.in_channels}, H, W) with H and W "
                f"multiples of {self.stride}, got {tuple(x.shape)}"
            )
        fused = self.fused and x.device.type == "cpu" and x.dtype == torch.float32
        x = x.contiguous(memory_format=torch.channels_last)
        features = []
        for i, (first, second) in enumerate(self._encoder):
            if i:
                x = F.max_pool2d(x, 2)
            x = _conv_relu(_conv_relu(x, first, fused), second, fused)
            features.append(x)
        x = features[-1]
        for i in reversed(range(len(self._decoder))):
            x = F.interpolate(self.reduce[i](x), scale_factor=2.0, mode="nearest")
            first, second = self._decoder[i]
            x = _conv_relu(torch.cat([x, features[i]], dim=1), first, fused)
            x = _conv_relu(x, second, fused)
        out: torch.Tensor = self.head(x)
        return out


def _convs(block: nn.Module) -> tuple[nn.Conv2d, nn.Conv2d]:
    """The two (folded) convolutions of a ConvBlock; each is followed by a ReLU."""
    convs = [m for m in block.children() if isinstance(m, nn.Conv2d)]
    kinds = [type(m).__name__ for m in block.children()]
    if len(convs) != 2 or kinds.count("ReLU") != 2 or "BatchNorm2d" in kinds:
        raise ValueError(f"InferenceUNet: expected conv, (BN), ReLU twice, got {kinds}")
    return convs[0], convs[1]


def _conv_relu(x: torch.Tensor, conv: nn.Conv2d, fused: bool) -> torch.Tensor:
    if fused:
        out: torch.Tensor = torch.ops.mkldnn._convolution_pointwise(
            x, conv.weight, conv.bias, conv.padding, conv.stride, conv.dilation, conv.groups,
            "relu", [], "",
        )  # fmt: skip
        return out
    return F.relu(conv(x), inplace=True)


def _fused_kernel_works() -> bool:
    """Whether oneDNN's fused convolution + ReLU is there and agrees with the plain pair
    (it is a PyTorch-internal operator: checked once rather than trusted)."""
    if not torch.backends.mkldnn.is_available():
        return False
    try:
        kernel: Any = torch.ops.mkldnn._convolution_pointwise
        gen = torch.Generator().manual_seed(0)
        conv = nn.Conv2d(3, 4, 3, padding=1)
        x = torch.randn(1, 3, 8, 8, generator=gen).contiguous(memory_format=torch.channels_last)
        with torch.inference_mode():
            fused = kernel(x, conv.weight, conv.bias, [1, 1], [1, 1], [1, 1], 1, "relu", [], "")
            return bool(torch.allclose(fused, F.relu(conv(x)), atol=1e-5))
    except (AttributeError, RuntimeError):
        return False


# mallopt(3) parameters and glibc's defaults.
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
_DEFAULT_THRESHOLD = 128 * 1024
_KEEP = 1 << 30  # mallopt takes a C int


@contextlib.contextmanager
def reuse_freed_memory() -> Iterator[None]:
    """Within the block, glibc keeps freed memory for the next allocations.

    By default glibc gives every freed block over 128 KiB back to the system, and the next
    allocation of that size has each of its pages faulted in and zeroed anew: a pass of the
    network over a batch of tiles allocates some 600 MB of activations, and those page
    faults took about as long as the convolutions (150,000 per pass). Raising the mmap and
    trim thresholds makes the freed activations' memory serve the next ones. On leaving,
    the thresholds go back to glibc's defaults (when no other thread is within such a block);
    memory already held is reused by later passes. Elsewhere than glibc it does nothing.
    """
    libc = _glibc()
    if libc is None:
        yield
        return
    global _holders
    with _holders_lock:  # detectors may run in several threads (scanlab evaluate on Dask)
        _holders += 1
        if _holders == 1:
            libc.mallopt(_M_MMAP_THRESHOLD, _KEEP)
            libc.mallopt(_M_TRIM_THRESHOLD, _KEEP)
    try:
        yield
    finally:
        with _holders_lock:
            _holders -= 1
            if _holders == 0:
                libc.mallopt(_M_TRIM_THRESHOLD, _DEFAULT_THRESHOLD)
                libc.mallopt(_M_MMAP_THRESHOLD, _DEFAULT_THRESHOLD)


_holders = 0
_holders_lock = threading.Lock()


@functools.cache
def _glibc() -> Any:
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return None
    try:
        libc = ctypes.CDLL(None)
        libc.mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    except (OSError, AttributeError):
        return None
    return libc
