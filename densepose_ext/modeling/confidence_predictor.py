"""`DensePoseChartWithConfidencePredictor`: the chart predictor plus the UV confidence outputs of
confidence.py (WC1: sigma_2; WC2: sigma_2, kappa_u, kappa_v), each a stride-2 transposed convolution
(`<name>_lowres`, NUM_PATCHES + 1 channels, one per part) and the same bilinear upsampling as U and V.

The outputs are raw (no softplus): the loss and the results read them as the reference does. With UV
confidence disabled the module has exactly the chart predictor's parameters and outputs.
"""
from __future__ import annotations

import dataclasses
from typing import Optional

import torch
from detectron2.config import configurable

from .confidence import UV_CONFIDENCE_OUTPUTS, uv_confidence_type
from .predictor import DENSEPOSE_PREDICTOR_REGISTRY, DensePoseChartOutput, DensePoseChartPredictor


@DENSEPOSE_PREDICTOR_REGISTRY.register()
class DensePoseChartWithConfidencePredictor(DensePoseChartPredictor):
    """(N, C, R, R) head features -> DensePoseChartOutput with the confidences of `uv_confidence`."""

    @configurable
    def __init__(self, input_channels: int, *, uv_confidence: Optional[str] = None, **kwargs):
        """
        Args:
            uv_confidence: None (no confidence outputs) or a key of confidence.UV_CONFIDENCE_OUTPUTS.
            input_channels, kwargs: as DensePoseChartPredictor.
        """
        super().__init__(input_channels, **kwargs)
        if uv_confidence is not None and uv_confidence not in UV_CONFIDENCE_OUTPUTS:
            raise ValueError(f"Invalid DensePose config: MODEL.ROI_DENSEPOSE_HEAD.UV_CONFIDENCE.TYPE must be one of "
                             f"{sorted(UV_CONFIDENCE_OUTPUTS)}, got {uv_confidence!r}")
        self.confidence_outputs = UV_CONFIDENCE_OUTPUTS[uv_confidence] if uv_confidence else ()
        channels = kwargs["num_patches"] + 1
        self.add_deconvs(input_channels, {f"{name}_lowres": channels for name in self.confidence_outputs})

    @classmethod
    def from_config(cls, cfg, input_channels: int) -> dict:
        return {**super().from_config(cfg, input_channels), "uv_confidence": uv_confidence_type(cfg)}

    def forward(self, features: torch.Tensor) -> DensePoseChartOutput:
        confidences = {
            name: self.upsample(getattr(self, f"{name}_lowres")(features)) for name in self.confidence_outputs
        }
        return dataclasses.replace(super().forward(features), **confidences)
