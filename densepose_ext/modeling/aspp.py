"""Atrous spatial pyramid pooling (DeepLab v3, Chen et al. 2017, Sec. 3.3) with GroupNorm, as the
reference project's DeepLab DensePose head uses it.

Five parallel branches read the same map: a 1x1 convolution, three 3x3 convolutions dilated by
`rates`, and image pooling (global average -> 1x1 convolution, broadcast back to every cell). Each
branch is convolution (no bias) -> GroupNorm(32) -> ReLU; their concatenation is projected by a 1x1
convolution (no bias, no norm) and ReLU. Module names (`convs.<branch>.<layer>`, `project.0`) are the
reference's, so its checkpoints load.
"""
from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

# GroupNorm's group count in every normalised layer of the DeepLab head (the reference's constant).
GN_GROUPS = 32


def _conv_gn_relu(in_channels: int, out_channels: int, kernel_size: int, dilation: int = 1) -> nn.Sequential:
    """Size-preserving convolution (no bias) -> GroupNorm(32) -> ReLU."""
    conv = nn.Conv2d(in_channels, out_channels, kernel_size, padding=dilation * (kernel_size // 2),
                     dilation=dilation, bias=False)
    nn.init.kaiming_normal_(conv.weight, mode="fan_out", nonlinearity="relu")
    return nn.Sequential(conv, nn.GroupNorm(GN_GROUPS, out_channels), nn.ReLU())


class ImagePooling(nn.Sequential):
    """(N, C, H, W) -> global average -> conv 1x1 -> GroupNorm -> ReLU, broadcast to (N, C_out, H, W).

    Layer indices (1 = conv, 2 = norm) are the reference's: index 0 is the pooling."""

    def __init__(self, in_channels: int, out_channels: int):
        pooled = _conv_gn_relu(in_channels, out_channels, 1)
        super().__init__(nn.AdaptiveAvgPool2d(1), *pooled)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # bilinear upsampling of a 1x1 map is this broadcast
        return super().forward(x).expand(-1, -1, *x.shape[-2:])


class ASPP(nn.Module):
    """(N, in_channels, H, W) -> (N, out_channels, H, W), same frame; see the module docstring."""

    def __init__(self, in_channels: int, out_channels: int, rates: Sequence[int]):
        super().__init__()
        branches = [_conv_gn_relu(in_channels, out_channels, 1)]
        branches += [_conv_gn_relu(in_channels, out_channels, 3, dilation=r) for r in rates]
        branches.append(ImagePooling(in_channels, out_channels))
        self.convs = nn.ModuleList(branches)
        project = nn.Conv2d(len(branches) * out_channels, out_channels, 1, bias=False)
        nn.init.kaiming_normal_(project.weight, mode="fan_out", nonlinearity="relu")
        self.project = nn.Sequential(project, nn.ReLU())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.project(torch.cat([branch(x) for branch in self.convs], dim=1))
