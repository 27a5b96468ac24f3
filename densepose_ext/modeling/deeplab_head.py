"""The reference project's DeepLab DensePose head (`DensePoseDeepLabHead`, the "DL" model family):
ASPP on the pooled ROI features, an optional non-local block, then the stacked convolutions of the
paper's head with GroupNorm.

    pooled (N, C, R, R) -> ASPP(C -> C, dilations 6, 12, 56) -> [NonLocalBlock2D(C)]
                        -> NUM_STACKED_CONVS x (conv CONV_HEAD_KERNEL, CONV_HEAD_DIM, [GN], ReLU)
                        -> (N, CONV_HEAD_DIM, R, R), ROI frame throughout.

Config: MODEL.ROI_DENSEPOSE_HEAD.NAME "DensePoseDeepLabHead"; DEEPLAB.NORM "GN" (GroupNorm(32) after
each stacked convolution, which then has no bias) or "" (no norm, with bias); DEEPLAB.NONLOCAL_ON.
ASPP and the non-local block always use GroupNorm(32), so the pooled channels (and CONV_HEAD_DIM with
"GN") must be multiples of 32.
"""
from __future__ import annotations

import torch
from detectron2.config import configurable
from torch import nn

from .aspp import ASPP, GN_GROUPS
from .head import ROI_DENSEPOSE_HEAD_REGISTRY, run_stacked_convs, stacked_conv_args, stacked_convs
from .nonlocal_block import NonLocalBlock2D

# Dilations of the ASPP's 3x3 branches (the reference's, chosen for 28x28 ROIs: 56 sees only the centre tap).
ASPP_RATES = (6, 12, 56)
_NORMS = ("GN", "")


def _check_groups(value: int, what: str) -> None:
    if value % GN_GROUPS != 0:
        raise ValueError(f"Invalid DensePose config: MODEL.ROI_DENSEPOSE_HEAD.NAME 'DensePoseDeepLabHead' needs "
                         f"{what} to be a multiple of {GN_GROUPS} (GroupNorm({GN_GROUPS}, C)), got {value}")


@ROI_DENSEPOSE_HEAD_REGISTRY.register()
class DensePoseDeepLabHead(nn.Module):
    """(N, input_channels, R, R) pooled features -> (N, conv_dim, R, R); see the module docstring."""

    @configurable
    def __init__(self, input_channels: int, *, num_convs: int, conv_dim: int, kernel_size: int, norm: str,
                 use_nonlocal: bool):
        super().__init__()
        if norm not in _NORMS:
            raise ValueError(f"Invalid DensePose config: MODEL.ROI_DENSEPOSE_HEAD.DEEPLAB.NORM must be one of "
                             f"{_NORMS}, got {norm!r}")
        _check_groups(input_channels, "the pooled feature channels (DECODER_NUM_CLASSES, or the FPN's channels "
                                      "without the decoder)")
        if norm == "GN":
            _check_groups(conv_dim, "MODEL.ROI_DENSEPOSE_HEAD.CONV_HEAD_DIM with DEEPLAB.NORM 'GN'")
        self.num_convs = num_convs
        self.n_out_channels = conv_dim
        self.ASPP = ASPP(input_channels, input_channels, ASPP_RATES)
        self.NLBlock = NonLocalBlock2D(input_channels) if use_nonlocal else None
        stacked_convs(self, input_channels, num_convs, conv_dim, kernel_size, norm)

    @classmethod
    def from_config(cls, cfg, input_channels: int) -> dict:
        deeplab = cfg.MODEL.ROI_DENSEPOSE_HEAD.DEEPLAB
        return {**stacked_conv_args(cfg, input_channels), "norm": deeplab.NORM,
                "use_nonlocal": bool(deeplab.NONLOCAL_ON)}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.ASPP(x)
        if self.NLBlock is not None:
            x = self.NLBlock(x)
        return run_stacked_convs(self, x, self.num_convs)
