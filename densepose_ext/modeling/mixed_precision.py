"""Inference with the backbone in bfloat16 or float16 (`apply_net --amp`), the rest of the model in float32.

The backbone (ResNet + FPN) holds most of a DensePose R-CNN's arithmetic; it runs under `torch.autocast` and hands
float32 features on. Proposals, ROI pooling and the heads stay float32: detectron2's ROIAlign casts the boxes to the
features' dtype, and bfloat16 keeps 8 significant bits, so a box edge near x = 600 px would move in 4 px steps.
Results change by the rounding of the features (measured in BENCHMARKS.md: bench/bench_amp.py).
"""
from __future__ import annotations

from typing import Dict

import torch
from detectron2.layers import ShapeSpec
from detectron2.modeling import Backbone

# --amp names -> autocast dtypes
AMP_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}


class AutocastBackbone(Backbone):
    """`backbone` run under torch.autocast(dtype) on its input's device; features returned as float32.

    Same interface as the wrapped backbone (size_divisibility, output_shape); its parameters stay float32 and
    under `body.`, so load weights before wrapping.
    """

    def __init__(self, backbone: Backbone, dtype: torch.dtype):
        super().__init__()
        if dtype not in AMP_DTYPES.values():
            raise ValueError(f"AutocastBackbone: expected one of {list(AMP_DTYPES.values())}, got {dtype}")
        self.body = backbone
        self.dtype = dtype

    def forward(self, images: torch.Tensor) -> Dict[str, torch.Tensor]:
        """(N, 3, H, W) float32 -> {feature name: (N, C, H_f, W_f) float32}, computed in `self.dtype`."""
        with torch.autocast(images.device.type, dtype=self.dtype):
            features = self.body(images)
        return {name: feature.float() for name, feature in features.items()}

    @property
    def size_divisibility(self) -> int:
        return self.body.size_divisibility

    def output_shape(self) -> Dict[str, ShapeSpec]:
        return self.body.output_shape()
