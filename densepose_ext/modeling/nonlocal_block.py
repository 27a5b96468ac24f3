"""Embedded-Gaussian non-local block (Wang et al., "Non-local Neural Networks", CVPR 2018, Sec. 3.2),
in the 2D form with sub-sampling and GroupNorm that the reference's DeepLab DensePose head uses.

For input x (N, C, H, W) and D = max(1, C // 2):
    theta = W_theta x              (N, D, H W)          1x1 convolution
    phi   = maxpool2(W_phi x)      (N, D, H' W')        1x1 convolution, then 2x2 max pooling
    g     = maxpool2(W_g x)        (N, D, H' W')
    y_i   = sum_j softmax_j(theta_i . phi_j) g_j        every cell attends to every pooled cell
    z     = GroupNorm(32)(W_z y) + x                    residual; the norm's affine terms start at 0,
                                                         so a new block is the identity
Module names (`theta`, `phi.0`, `g.0`, `W.0`, `W.1`) are the reference's, so its checkpoints load.
"""
from __future__ import annotations

import torch
from torch import nn

from .aspp import GN_GROUPS


class NonLocalBlock2D(nn.Module):
    """(N, C, H, W) -> (N, C, H, W), same frame; see the module docstring."""

    def __init__(self, channels: int):
        super().__init__()
        self.inter_channels = max(1, channels // 2)
        self.theta = nn.Conv2d(channels, self.inter_channels, 1)
        self.phi = nn.Sequential(nn.Conv2d(channels, self.inter_channels, 1), nn.MaxPool2d(2))
        self.g = nn.Sequential(nn.Conv2d(channels, self.inter_channels, 1), nn.MaxPool2d(2))
        norm = nn.GroupNorm(GN_GROUPS, channels)
        nn.init.zeros_(norm.weight)
        nn.init.zeros_(norm.bias)
        self.W = nn.Sequential(nn.Conv2d(self.inter_channels, channels, 1), norm)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, _, h, w = x.shape
        theta = self.theta(x).flatten(2)  # (N, D, HW)
        phi = self.phi(x).flatten(2)  # (N, D, H'W')
        g = self.g(x).flatten(2)  # (N, D, H'W')
        attention = torch.softmax(theta.transpose(1, 2) @ phi, dim=-1)  # (N, HW, H'W')
        y = (g @ attention.transpose(1, 2)).reshape(n, self.inter_channels, h, w)
        return self.W(y) + x
