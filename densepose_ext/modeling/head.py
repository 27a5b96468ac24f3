"""DensePose ROI head bodies: the registry that selects one by MODEL.ROI_DENSEPOSE_HEAD.NAME, and
the paper's head (Fig. 6), a stack of size-preserving convolutions with ReLU.

Registered heads (name = class name = the reference project's name, so its YAML selects them):
- `DensePoseV1ConvXHead` (this module): parameter names `body_conv_fcn1` .. `body_conv_fcnN`.
- `DensePoseDeepLabHead` (deeplab_head.py): ASPP (+ optional non-local block) before the stack.
"""
from __future__ import annotations

import torch
from detectron2.config import configurable
from detectron2.layers import Conv2d
from detectron2.utils.registry import Registry
from torch import nn
from torch.nn import functional as F

from .registry_lookup import registered

ROI_DENSEPOSE_HEAD_REGISTRY = Registry("ROI_DENSEPOSE_HEAD")
ROI_DENSEPOSE_HEAD_REGISTRY.__doc__ = """
DensePose ROI head bodies, selected by MODEL.ROI_DENSEPOSE_HEAD.NAME.

Each entry is called as `head(cfg, input_channels)` and returns an nn.Module mapping pooled ROI
features (N, input_channels, R, R) to (N, head.n_out_channels, R, R), same ROI frame.
"""


def build_densepose_head(cfg, input_channels: int) -> nn.Module:
    """The head named by MODEL.ROI_DENSEPOSE_HEAD.NAME, for `input_channels` pooled channels."""
    head = registered(ROI_DENSEPOSE_HEAD_REGISTRY, "MODEL.ROI_DENSEPOSE_HEAD.NAME", cfg.MODEL.ROI_DENSEPOSE_HEAD.NAME)
    return head(cfg, input_channels)


def stacked_conv_args(cfg, input_channels: int) -> dict:
    """Keyword arguments of the stacked convolutions every head has, from MODEL.ROI_DENSEPOSE_HEAD."""
    h = cfg.MODEL.ROI_DENSEPOSE_HEAD
    return {
        "input_channels": input_channels,
        "num_convs": h.NUM_STACKED_CONVS,
        "conv_dim": h.CONV_HEAD_DIM,
        "kernel_size": h.CONV_HEAD_KERNEL,
    }


def stacked_convs(module: nn.Module, input_channels: int, num_convs: int, conv_dim: int, kernel_size: int,
                  norm: str = "") -> None:
    """Add `body_conv_fcn1` .. `body_conv_fcn{num_convs}` to `module`: stride-1 convolutions of
    `kernel_size` (odd, padded to keep the size) with `conv_dim` outputs, followed by GroupNorm(32) when
    `norm` is "GN" (then without bias, as in the reference). `run_stacked_convs` applies them with ReLU."""
    channels = input_channels
    for k in range(num_convs):
        conv = Conv2d(channels, conv_dim, kernel_size, stride=1, padding=kernel_size // 2, bias=not norm,
                      norm=nn.GroupNorm(32, conv_dim) if norm == "GN" else None)
        # He init suits the ReLU stack; the model trains from scratch here, so init matters.
        nn.init.kaiming_normal_(conv.weight, mode="fan_out", nonlinearity="relu")
        if conv.bias is not None:
            nn.init.zeros_(conv.bias)
        module.add_module(f"body_conv_fcn{k + 1}", conv)
        channels = conv_dim


def run_stacked_convs(module: nn.Module, x: torch.Tensor, num_convs: int) -> torch.Tensor:
    """x (N, C, R, R) through `body_conv_fcn1..num_convs` of `module`, each followed by ReLU."""
    for k in range(num_convs):
        x = F.relu(getattr(module, f"body_conv_fcn{k + 1}")(x))
    return x


@ROI_DENSEPOSE_HEAD_REGISTRY.register()
class DensePoseV1ConvXHead(nn.Module):
    """`num_convs` convolutions (kernel `kernel_size`, `conv_dim` channels, stride 1), each + ReLU.

    Input:  (N, C_in, R, R) ROIAlign features, ROI RxR frame (one map per proposal).
    Output: (N, conv_dim, R, R), same ROI frame.
    """

    @configurable
    def __init__(self, input_channels: int, *, num_convs: int, conv_dim: int, kernel_size: int):
        super().__init__()
        self.num_convs = num_convs
        self.n_out_channels = conv_dim
        stacked_convs(self, input_channels, num_convs, conv_dim, kernel_size)

    @classmethod
    def from_config(cls, cfg, input_channels: int) -> dict:
        return stacked_conv_args(cfg, input_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return run_stacked_convs(self, x, self.num_convs)
