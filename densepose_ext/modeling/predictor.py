"""DensePose predictor: head features -> coarse segmentation, fine part logits and per-part U, V.

Each output comes from a stride-2 transposed convolution followed by bilinear upsampling by
`up_scale` (paper Fig. 6). Parameter names match the reference project's `DensePoseChartPredictor`
(`ann_index_lowres`, `index_uv_lowres`, `u_lowres`, `v_lowres`), so its checkpoints load.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from detectron2.config import configurable
from detectron2.layers import ConvTranspose2d
from torch import nn
from torch.nn import functional as F


@dataclass
class DensePoseChartOutput:
    """Raw predictor outputs, all in the ROI SxS frame of their proposal (S = HEATMAP_SIZE).

    coarse_segm: (N, K, S, S) logits, K = 2 (background, person) or 15 (background + coarse parts).
    fine_segm:   (N, 25, S, S) logits over background + 24 fine parts.
    u, v:        (N, 25, S, S) chart coordinates predicted for each part (channel = part label);
                 unbounded regressions of values in [0, 1]; channel 0 is unused.
    """

    coarse_segm: torch.Tensor
    fine_segm: torch.Tensor
    u: torch.Tensor
    v: torch.Tensor

    def __len__(self) -> int:
        return self.fine_segm.shape[0]


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
        out_channels = {
            "ann_index_lowres": num_coarse_segm_channels,
            "index_uv_lowres": num_patches + 1,
            "u_lowres": num_patches + 1,
            "v_lowres": num_patches + 1,
        }
        for name, channels in out_channels.items():
            # padding k/2 - 1 makes the stride-2 deconvolution exactly double the size (k even).
            deconv = ConvTranspose2d(
                input_channels, channels, deconv_kernel, stride=2, padding=deconv_kernel // 2 - 1
            )
            nn.init.kaiming_normal_(deconv.weight, mode="fan_out", nonlinearity="relu")
            nn.init.zeros_(deconv.bias)
            self.add_module(name, deconv)

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

    def _upsample(self, x: torch.Tensor) -> torch.Tensor:
        if self.up_scale == 1:
            return x
        return F.interpolate(x, scale_factor=self.up_scale, mode="bilinear", align_corners=False)

    def forward(self, features: torch.Tensor) -> DensePoseChartOutput:
        return DensePoseChartOutput(
            coarse_segm=self._upsample(self.ann_index_lowres(features)),
            fine_segm=self._upsample(self.index_uv_lowres(features)),
            u=self._upsample(self.u_lowres(features)),
            v=self._upsample(self.v_lowres(features)),
        )
