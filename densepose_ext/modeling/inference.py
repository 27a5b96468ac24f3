"""Conversion of predictor outputs into per-person results in the box frame at box resolution."""
from __future__ import annotations

from typing import List

import torch
from torch.nn import functional as F

from ..structures.results import DensePoseResult, box_resolution
from .predictor import DensePoseChartOutput


def densepose_chart_inference(outputs: DensePoseChartOutput, boxes: torch.Tensor) -> List[DensePoseResult]:
    """One DensePoseResult per detection.

    Args:
        outputs: predictor outputs for N detections (ROI SxS frames of `boxes`).
        boxes: (N, 4) XYXY image px (network-input frame); they set each result's resolution only.
    Returns:
        N box-relative results. Each resizes the SxS maps bilinearly to box resolution (H, W) =
        `box_resolution(box)` (see `densepose_ext.structures.results`), takes the arg-max fine part,
        sets it to background (0) where the coarse segmentation's arg-max is background, and reads U, V
        from the chosen part's channel, clamped to [0, 1] (0 on background).
    """
    if len(outputs) != boxes.shape[0]:
        raise ValueError(f"densepose_chart_inference: {len(outputs)} outputs for {boxes.shape[0]} boxes")
    # All four maps are resized together, one detection at a time (boxes differ in size).
    stacked = torch.cat([outputs.coarse_segm, outputs.fine_segm, outputs.u, outputs.v], dim=1)
    k = outputs.coarse_segm.shape[1]
    c = outputs.fine_segm.shape[1]
    results = []
    for maps, box in zip(stacked, boxes):
        h, w = box_resolution(box)
        maps = F.interpolate(maps[None], size=(h, w), mode="bilinear", align_corners=False)[0]
        coarse, fine, u, v = maps[:k], maps[k : k + c], maps[k + c : k + 2 * c], maps[k + 2 * c :]
        labels = fine.argmax(dim=0) * (coarse.argmax(dim=0) > 0)
        uv = torch.stack([u, v]).gather(1, labels[None, None].expand(2, 1, h, w))[:, 0]
        uv = uv.clamp(0.0, 1.0) * (labels > 0)
        results.append(DensePoseResult(labels.to(torch.uint8), uv.float()))
    return results
