"""The DensePose ROI head body (paper Fig. 6): a stack of size-preserving convolutions with ReLU.

Parameter names (`body_conv_fcn1` .. `body_conv_fcnN`) match the reference project's
`DensePoseV1ConvXHead`, so its checkpoints load into this module.
"""
from __future__ import annotations

import torch
from detectron2.config import configurable
from detectron2.layers import Conv2d
from torch import nn
from torch.nn import functional as F


class DensePoseConvHead(nn.Module):
    """`num_convs` convolutions (kernel `kernel_size`, `conv_dim` channels, stride 1), each + ReLU.

    Input:  (N, C_in, R, R) ROIAlign features, ROI RxR frame (one map per proposal).
    Output: (N, conv_dim, R, R), same ROI frame.
    """

    @configurable
    def __init__(self, input_channels: int, *, num_convs: int, conv_dim: int, kernel_size: int):
        super().__init__()
        self.num_convs = num_convs
        self.n_out_channels = conv_dim
        channels = input_channels
        for k in range(num_convs):
            conv = Conv2d(channels, conv_dim, kernel_size, stride=1, padding=kernel_size // 2)
            # He init suits the ReLU stack; the model trains from scratch here, so init matters.
            nn.init.kaiming_normal_(conv.weight, mode="fan_out", nonlinearity="relu")
            nn.init.zeros_(conv.bias)
            self.add_module(f"body_conv_fcn{k + 1}", conv)
            channels = conv_dim

    @classmethod
    def from_config(cls, cfg, input_channels: int) -> dict:
        h = cfg.MODEL.ROI_DENSEPOSE_HEAD
        return {
            "input_channels": input_channels,
            "num_convs": h.NUM_STACKED_CONVS,
            "conv_dim": h.CONV_HEAD_DIM,
            "kernel_size": h.CONV_HEAD_KERNEL,
        }

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for k in range(self.num_convs):
            x = F.relu(getattr(self, f"body_conv_fcn{k + 1}")(x))
        return x
