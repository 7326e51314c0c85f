"""The cargo anomaly network: a small U-Net over log attenuation (the ``nn.Module`` only).

Pre-processing (:mod:`scanlab.detect._preprocess`), tiling, post-processing and training
live in their own modules; this one holds the architecture and nothing else.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["CargoUNet", "ConvBlock"]


class ConvBlock(nn.Sequential):
    """Two 3 x 3 convolutions, each with batch norm and ReLU."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__(
            nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=False),
            nn.BatchNorm2d(out_channels),
            nn.ReLU(inplace=True),
            nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False),
            nn.BatchNorm2d(out_channels),
            nn.ReLU(inplace=True),
        )


class CargoUNet(nn.Module):
    """U-Net (Ronneberger et al. 2015) sized for 2-core CPU inference: per-pixel logits.

    Parameters
    ----------
    in_channels : int
        Input planes (see :func:`scanlab.detect._preprocess.network_input`).
    widths : sequence of int
        Feature channels per level; each level halves the resolution, so input height and
        width must be multiples of ``2 ** (len(widths) - 1)`` (:attr:`stride`).

    Examples
    --------
    >>> net = CargoUNet(4, (4, 8))
    >>> net(torch.zeros(1, 4, 32, 48)).shape
    torch.Size([1, 1, 32, 48])
    """

    def __init__(self, in_channels: int = 4, widths: Sequence[int] = (16, 32, 64, 96)) -> None:
        super().__init__()
        widths = [int(w) for w in widths]
        if len(widths) < 2 or min(widths) < 1 or in_channels < 1:
            raise ValueError(f"CargoUNet needs >= 2 positive widths, got {widths}")
        self.in_channels = int(in_channels)
        self.widths = tuple(widths)
        self.encoder = nn.ModuleList(
            [ConvBlock(in_channels, widths[0])]
            + [ConvBlock(a, b) for a, b in itertools.pairwise(widths)]
        )
        self.reduce = nn.ModuleList([nn.Conv2d(b, a, 1) for a, b in itertools.pairwise(widths)])
        self.decoder = nn.ModuleList([ConvBlock(2 * w, w) for w in widths[:-1]])
        self.head = nn.Conv2d(widths[0], 1, 1)

    @property
    def stride(self) -> int:
        """Height and width of an input must be multiples of this."""
        return int(2 ** (len(self.widths) - 1))

    def encode(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Features of every level, finest first (level ``i`` at 1 / 2**i resolution)."""
        _, c, h, w = x.shape
        if c != self.in_channels or h % self.stride or w % self.stride:
            raise ValueError(
                f"CargoUNet: input must be (B, {self.in_channels}, H, W) with H and W "
                f"multiples of {self.stride}, got {tuple(x.shape)}"
            )
        features = []
        for i, block in enumerate(self.encoder):
            if i:
                x = F.max_pool2d(x, 2)
            x = block(x)
            features.append(x)
        return features

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) network input -> (B, 1, H, W) anomaly logits."""
        features = self.encode(x)
        x = features[-1]
        for i in reversed(range(len(self.decoder))):
            x = F.interpolate(x, scale_factor=2.0, mode="nearest")
            x = self.decoder[i](torch.cat([self.reduce[i](x), features[i]], dim=1))
        return self.head(x)
