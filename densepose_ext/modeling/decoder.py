"""Optional FPN decoder (reference project option `DECODER_ON`; not part of the paper).

Every FPN level in `in_features` goes through 3x3 conv(+norm)+ReLU blocks, each followed by a 2x
bilinear upsampling while the level is coarser than `common_stride`; the levels are summed and
projected by a 1x1 conv. The DensePose ROIs are then pooled from this single map. Module names
(`<level>.<index>`, `predictor`) match the reference so its checkpoints load.
"""
from __future__ import annotations

import math
from typing import Dict, List

import torch
from detectron2.config import configurable
from detectron2.layers import Conv2d, ShapeSpec, get_norm
from torch import nn
from torch.nn import functional as F


class DensePoseFPNDecoder(nn.Module):
    """Feature maps {level: (B, C_l, H/s_l, W/s_l)}, image frame -> (B, num_classes, H/cs, W/cs)."""

    @configurable
    def __init__(
        self,
        input_shape: Dict[str, ShapeSpec],
        *,
        in_features: List[str],
        conv_dims: int,
        num_classes: int,
        norm: str,
        common_stride: int,
    ):
        super().__init__()
        self.in_features = list(in_features)
        self.common_stride = common_stride
        for name in self.in_features:
            stride = input_shape[name].stride
            num_blocks = max(1, int(math.log2(stride) - math.log2(common_stride)))
            layers: List[nn.Module] = []
            for k in range(num_blocks):
                conv = Conv2d(
                    input_shape[name].channels if k == 0 else conv_dims,
                    conv_dims,
                    kernel_size=3,
                    padding=1,
                    bias=not norm,
                    norm=get_norm(norm, conv_dims),
                    activation=F.relu,
                )
                nn.init.kaiming_normal_(conv.weight, mode="fan_out", nonlinearity="relu")
                if conv.bias is not None:
                    nn.init.zeros_(conv.bias)
                layers.append(conv)
                if stride != common_stride:
                    layers.append(nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False))
            self.add_module(name, nn.Sequential(*layers))
        self.predictor = Conv2d(conv_dims, num_classes, kernel_size=1)
        nn.init.kaiming_normal_(self.predictor.weight, mode="fan_out", nonlinearity="relu")
        nn.init.zeros_(self.predictor.bias)

    @classmethod
    def from_config(cls, cfg, input_shape: Dict[str, ShapeSpec]) -> dict:
        h = cfg.MODEL.ROI_DENSEPOSE_HEAD
        return {
            "input_shape": input_shape,
            "in_features": cfg.MODEL.ROI_HEADS.IN_FEATURES,
            "conv_dims": h.DECODER_CONV_DIMS,
            "num_classes": h.DECODER_NUM_CLASSES,
            "norm": h.DECODER_NORM,
            "common_stride": h.DECODER_COMMON_STRIDE,
        }

    def forward(self, features: Dict[str, torch.Tensor]) -> torch.Tensor:
        merged = sum(getattr(self, name)(features[name]) for name in self.in_features)
        return self.predictor(merged)
