"""The teacher's fully convolutional body: a small U-Net over S x S person crops.

Input (N, 3, S, S) crop frame -> features (N, C0, S / 2, S / 2) in the same frame, which the DensePose chart
predictor (densepose_ext/modeling/predictor.py, stride-2 deconvolution) turns into S x S maps. The encoder
halves the resolution at each level; the decoder upsamples and adds the skip connection of the same level,
so the network sees the whole person (receptive field > S at the coarsest level) and keeps detail.
"""
from __future__ import annotations

from typing import Sequence

import torch
from detectron2.layers import Conv2d, get_norm
from torch import nn
from torch.nn import functional as F


def _conv(in_channels: int, out_channels: int, norm: str, stride: int = 1) -> Conv2d:
    conv = Conv2d(
        in_channels, out_channels, 3, stride=stride, padding=1, bias=not norm,
        norm=get_norm(norm, out_channels), activation=F.relu,
    )
    # He init: trained from scratch (no pretrained weights exist here).
    nn.init.kaiming_normal_(conv.weight, mode="fan_out", nonlinearity="relu")
    return conv


class TeacherFCN(nn.Module):
    """Encoder levels with `channels[k]` channels at S / 2^k; output (N, channels[1], S / 2, S / 2).

    S must be divisible by 2^(len(channels) - 1).
    """

    def __init__(self, channels: Sequence[int], norm: str = "GN"):
        super().__init__()
        if len(channels) < 2:
            raise ValueError(f"TeacherFCN: expected at least 2 levels of channels, got {list(channels)}")
        self.out_channels = channels[1]
        self.stem = nn.Sequential(_conv(3, channels[0], norm), _conv(channels[0], channels[0], norm))
        self.down = nn.ModuleList(
            nn.Sequential(_conv(c_in, c_out, norm, stride=2), _conv(c_out, c_out, norm))
            for c_in, c_out in zip(channels[:-1], channels[1:])
        )
        # Decoder: from level k + 1 back to level k, for k = len - 2 .. 1 (output at level 1 = S / 2).
        self.up = nn.ModuleList(_conv(channels[k + 1], channels[k], norm) for k in range(1, len(channels) - 1))

    def forward(self, crops: torch.Tensor) -> torch.Tensor:
        skips = []
        x = self.stem(crops)
        for down in self.down:
            x = down(x)
            skips.append(x)
        # skips[k] is level k + 1; walk up from the coarsest.
        for k in reversed(range(len(self.up))):
            x = F.interpolate(x, size=skips[k].shape[-2:], mode="bilinear", align_corners=False)
            x = self.up[k](x) + skips[k]
        return x
