"""DensePose predictors: head features -> coarse segmentation, fine part logits and per-part U, V
(and, with UV confidence, the confidence maps); the registry that selects one by
MODEL.ROI_DENSEPOSE_HEAD.PREDICTOR_NAME.

Each output comes from a stride-2 transposed convolution followed by bilinear upsampling by
`up_scale` (paper Fig. 6). Parameter names match the reference project's predictors
(`ann_index_lowres`, `index_uv_lowres`, `u_lowres`, `v_lowres`, and `sigma_2_lowres`, `kappa_u_lowres`,
`kappa_v_lowres` in confidence_predictor.py), so its checkpoints load.

Registered predictors (the reference's names):
- `DensePoseChartPredictor` (this module);
- `DensePoseChartWithConfidencePredictor` (confidence_predictor.py): adds the UV confidence outputs
  when MODEL.ROI_DENSEPOSE_HEAD.UV_CONFIDENCE.ENABLED; otherwise it is exactly the chart predictor
  (the reference's default name, so its plain configs select it).
"""
from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Dict, Optional

import torch
from detectron2.config import configurable
from detectron2.layers import ConvTranspose2d
from detectron2.utils.registry import Registry
from torch import nn
from torch.nn import functional as F

from .registry_lookup import registered

DENSEPOSE_PREDICTOR_REGISTRY = Registry("DENSEPOSE_PREDICTOR")
DENSEPOSE_PREDICTOR_REGISTRY.__doc__ = """
DensePose predictors, selected by MODEL.ROI_DENSEPOSE_HEAD.PREDICTOR_NAME.

Each entry is called as `predictor(cfg, input_channels)` and returns an nn.Module mapping head features
(N, input_channels, R, R) to a DensePoseChartOutput of S x S maps, S = HEATMAP_SIZE.
"""

# Optional outputs of DensePoseChartOutput: the UV confidences (see confidence.py).
CONFIDENCE_FIELDS = ("sigma_2", "kappa_u", "kappa_v")


@dataclass
class DensePoseChartOutput:
    """Raw predictor outputs, all in the ROI SxS frame of their proposal (S = HEATMAP_SIZE).

    coarse_segm: (N, K, S, S) logits, K = 2 (background, person) or 15 (background + coarse parts).
    fine_segm:   (N, 25, S, S) logits over background + 24 fine parts.
    u, v:        (N, 25, S, S) chart coordinates predicted for each part (channel = part label);
                 unbounded regressions of values in [0, 1]; channel 0 is unused.
    sigma_2:     (N, 25, S, S) or None: raw UV variance per part, unbounded; the variance is
                 softplus(sigma_2) + UV_CONFIDENCE.EPSILON (confidence.py). Present with UV confidence.
    kappa_u, kappa_v: (N, 25, S, S) or None: the per-part direction r = (kappa_u, kappa_v) of the
                 anisotropic UV covariance (UV_CONFIDENCE.TYPE "indep_aniso" only).
    """

    coarse_segm: torch.Tensor
    fine_segm: torch.Tensor
    u: torch.Tensor
    v: torch.Tensor
    sigma_2: Optional[torch.Tensor] = None
    kappa_u: Optional[torch.Tensor] = None
    kappa_v: Optional[torch.Tensor] = None

    def __len__(self) -> int:
        return self.fine_segm.shape[0]

    def confidences(self) -> Dict[str, torch.Tensor]:
        """{name: (N, 25, S, S)} of the confidence maps present, in CONFIDENCE_FIELDS order."""
        return {name: getattr(self, name) for name in CONFIDENCE_FIELDS if getattr(self, name) is not None}

    def maps(self) -> Dict[str, torch.Tensor]:
        """{name: (N, C, S, S)} of every output present, coarse_segm first."""
        return {f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name) is not None}


def build_densepose_predictor(cfg, input_channels: int) -> nn.Module:
    """The predictor named by MODEL.ROI_DENSEPOSE_HEAD.PREDICTOR_NAME, for `input_channels` head channels."""
    predictor = registered(DENSEPOSE_PREDICTOR_REGISTRY, "MODEL.ROI_DENSEPOSE_HEAD.PREDICTOR_NAME",
                           cfg.MODEL.ROI_DENSEPOSE_HEAD.PREDICTOR_NAME)
    return predictor(cfg, input_channels)


@DENSEPOSE_PREDICTOR_REGISTRY.register()
class DensePoseChartPredictor(nn.Module):
    """(N, C, R, R) head features, ROI frame -> DensePoseChartOutput at S = R * 2 * up_scale."""

    @configurable
    def __init__(
        self,
        input_channels: int,
        *,
        num_coarse_segm_channels: int,
        num_patches: int,
        deconv_kernel: int,
        up_scale: int,
    ):
        super().__init__()
        self.up_scale = up_scale
        self.deconv_kernel = deconv_kernel
        self.add_deconvs(
            input_channels,
            {
                "ann_index_lowres": num_coarse_segm_channels,
                "index_uv_lowres": num_patches + 1,
                "u_lowres": num_patches + 1,
                "v_lowres": num_patches + 1,
            },
        )

    @classmethod
    def from_config(cls, cfg, input_channels: int) -> dict:
        h = cfg.MODEL.ROI_DENSEPOSE_HEAD
        return {
            "input_channels": input_channels,
            "num_coarse_segm_channels": h.NUM_COARSE_SEGM_CHANNELS,
            "num_patches": h.NUM_PATCHES,
            "deconv_kernel": h.DECONV_KERNEL,
            "up_scale": int(h.UP_SCALE),
        }

    def add_deconvs(self, input_channels: int, out_channels: Dict[str, int]) -> None:
        """Add one stride-2 transposed convolution per {module name: output channels}."""
        for name, channels in out_channels.items():
            # padding k/2 - 1 makes the stride-2 deconvolution exactly double the size (k even).
            deconv = ConvTranspose2d(
                input_channels, channels, self.deconv_kernel, stride=2, padding=self.deconv_kernel // 2 - 1
            )
            nn.init.kaiming_normal_(deconv.weight, mode="fan_out", nonlinearity="relu")
            nn.init.zeros_(deconv.bias)
            self.add_module(name, deconv)

    def upsample(self, x: torch.Tensor) -> torch.Tensor:
        """(N, C, 2R, 2R) deconvolution output -> (N, C, S, S), bilinear, ROI frame kept."""
        if self.up_scale == 1:
            return x
        return F.interpolate(x, scale_factor=self.up_scale, mode="bilinear", align_corners=False)

    def forward(self, features: torch.Tensor) -> DensePoseChartOutput:
        return DensePoseChartOutput(
            coarse_segm=self.upsample(self.ann_index_lowres(features)),
            fine_segm=self.upsample(self.index_uv_lowres(features)),
            u=self.upsample(self.u_lowres(features)),
            v=self.upsample(self.v_lowres(features)),
        )
