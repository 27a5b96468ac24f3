"""Cross-task cascading for DensePose R-CNN (paper Sec. 3.3, Fig. 7, Table 1).

The ROIAlign features of each DensePose ROI feed the first DensePose stage and, when enabled, the
mask and keypoint branches of detectron2's StandardROIHeads run on the same ROIs. A second-stage
refinement unit reads the pooled features concatenated with every first-stage output, all resized
to the DensePose ROI frame (POOLER_RESOLUTION^2), and predicts DensePose again. Logits enter as
bounded maps (segmentation softmax, mask sigmoid, keypoint heatmaps relative to their peak): raw
logits grow during training and, fed back through the second stage, made from-scratch training
diverge within 20 iterations on DensePose-Synth. Both stages are
trained with the DensePose losses (deep supervision); inference reads the last stage.

With neither masks nor keypoints this is the paper's "DensePose-ST" row: the single-task network
cascaded on its own outputs. Gradients of the second stage flow into the first stage and into the
auxiliary heads (end to end, as in the paper; nothing is detached).

Configuration: MODEL.ROI_DENSEPOSE_HEAD.CASCADE.{ENABLED, USE_MASKS, USE_KEYPOINTS, NUM_STACKED_CONVS}
(defined in densepose_ext/config.py, checked by `validate_cascade_config`).
"""
from __future__ import annotations

from typing import Dict, List, Optional, Sequence

import torch
from detectron2.structures import Boxes
from torch import nn
from torch.nn import functional as F

from .head import DensePoseV1ConvXHead
from .predictor import DensePoseChartOutput, build_densepose_predictor

_P = "MODEL.ROI_DENSEPOSE_HEAD.CASCADE."


def validate_cascade_config(cfg) -> None:
    """Raise ValueError naming key, expectation and value for impossible cascade settings."""
    c = cfg.MODEL.ROI_DENSEPOSE_HEAD.CASCADE
    for key, needed, why in (
        ("USE_MASKS", "MODEL.MASK_ON", "the mask branch provides the mask logits"),
        ("USE_KEYPOINTS", "MODEL.KEYPOINT_ON", "the keypoint branch provides the heatmaps"),
    ):
        if c[key] and not c.ENABLED:
            raise ValueError(f"Invalid DensePose config: {_P}{key} is True but {_P}ENABLED is False "
                             f"(auxiliary inputs feed the second stage); expected ENABLED True or {key} False")
        branch_on = cfg.MODEL.MASK_ON if key == "USE_MASKS" else cfg.MODEL.KEYPOINT_ON
        if c[key] and not branch_on:
            raise ValueError(f"Invalid DensePose config: {_P}{key} needs {needed} True ({why}), got False")
    if c.ENABLED and not cfg.MODEL.DENSEPOSE_ON:
        raise ValueError(f"Invalid DensePose config: {_P}ENABLED needs MODEL.DENSEPOSE_ON True, got False")
    if c.ENABLED and c.NUM_STACKED_CONVS < 1:
        raise ValueError(f"Invalid DensePose config: {_P}NUM_STACKED_CONVS must be >= 1, got {c.NUM_STACKED_CONVS}")


def resize_to_roi(maps: torch.Tensor, resolution: int) -> torch.Tensor:
    """(N, C, h, w) maps over ROI boxes -> (N, C, R, R) over the same boxes (R = `resolution`).

    All inputs cover their whole ROI box (ROI frame). A finer map is area-averaged: each output cell is the
    mean of the input cells it covers (exact for the integer ratios of the predictor and keypoint grids), so
    nothing leaks across cell borders. A coarser map is upsampled bilinearly with align_corners=False
    (cell centres at (c + 0.5) / size of the box in both grids).
    """
    if maps.shape[-2:] == (resolution, resolution):
        return maps
    if maps.shape[0] == 0:
        return maps.new_zeros((0, maps.shape[1], resolution, resolution))
    if min(maps.shape[-2:]) >= resolution:
        return F.adaptive_avg_pool2d(maps, resolution)
    return F.interpolate(maps, size=(resolution, resolution), mode="bilinear", align_corners=False)


class DensePoseCascadeStage(nn.Module):
    """Second-stage refinement unit: [pooled features, first-stage outputs, task maps] -> DensePose.

    Input frames: every tensor is per ROI (ROI frame of the same boxes); the head works at
    `resolution` = POOLER_RESOLUTION, the predictor outputs HEATMAP_SIZE like the first stage.
    """

    def __init__(
        self, head: nn.Module, predictor: nn.Module, resolution: int, *, use_masks: bool, use_keypoints: bool
    ):
        """
        Args:
            head, predictor: refinement body and DensePose predictor (their input channels include
                the first-stage outputs and the enabled task maps).
            resolution: R, the ROI grid the inputs are resized to.
            use_masks, use_keypoints: which auxiliary task maps the caller passes (masks first).
        """
        super().__init__()
        self.head = head
        self.predictor = predictor
        self.resolution = resolution
        self.use_masks = use_masks
        self.use_keypoints = use_keypoints

    def forward(
        self, pooled: torch.Tensor, first: DensePoseChartOutput, task_maps: Sequence[torch.Tensor] = ()
    ) -> DensePoseChartOutput:
        """
        Args:
            pooled: (N, C, R, R) ROIAlign features of the first stage.
            first: first-stage outputs, (N, *, S, S) each.
            task_maps: auxiliary maps (N, C_k, h_k, w_k) of the same ROIs (`auxiliary_task_maps`).
        Returns:
            second-stage DensePoseChartOutput, (N, *, S, S).
        """
        maps = [first.coarse_segm.softmax(dim=1), first.fine_segm.softmax(dim=1), first.u, first.v, *task_maps]
        x = torch.cat([pooled] + [resize_to_roi(m, self.resolution) for m in maps], dim=1)
        return self.predictor(self.head(x))


def auxiliary_input_channels(cfg) -> int:
    """Channels the enabled auxiliary tasks add to the second stage's input."""
    c = cfg.MODEL.ROI_DENSEPOSE_HEAD.CASCADE
    channels = 0
    if c.USE_MASKS:
        channels += 1 if cfg.MODEL.ROI_MASK_HEAD.CLS_AGNOSTIC_MASK else cfg.MODEL.ROI_HEADS.NUM_CLASSES
    if c.USE_KEYPOINTS:
        channels += cfg.MODEL.ROI_KEYPOINT_HEAD.NUM_KEYPOINTS
    return channels


def build_densepose_cascade(cfg, pooled_channels: int) -> Optional[DensePoseCascadeStage]:
    """The second stage for `cfg` (already checked by `validate_cascade_config`, which DensePoseROIHeads runs
    first), or None when CASCADE.ENABLED is False.

    Args:
        pooled_channels: channels of the first stage's ROIAlign features.
    """
    h = cfg.MODEL.ROI_DENSEPOSE_HEAD
    if not h.CASCADE.ENABLED:
        return None
    first_stage_channels = h.NUM_COARSE_SEGM_CHANNELS + 3 * (h.NUM_PATCHES + 1)
    head = DensePoseV1ConvXHead(
        pooled_channels + first_stage_channels + auxiliary_input_channels(cfg),
        num_convs=h.CASCADE.NUM_STACKED_CONVS,
        conv_dim=h.CONV_HEAD_DIM,
        kernel_size=h.CONV_HEAD_KERNEL,
    )
    return DensePoseCascadeStage(
        head,
        build_densepose_predictor(cfg, head.n_out_channels),
        h.POOLER_RESOLUTION,
        use_masks=h.CASCADE.USE_MASKS,
        use_keypoints=h.CASCADE.USE_KEYPOINTS,
    )


def _task_logits(pooler, head: nn.Module, in_features: List[str], features: Dict[str, torch.Tensor], boxes):
    """Raw logits of a detectron2 mask/keypoint head for given boxes (its own pooler and features)."""
    if pooler is None or not hasattr(head, "layers"):
        raise ValueError(
            f"{_P}USE_MASKS/USE_KEYPOINTS need a pooled mask/keypoint head with a `layers` method "
            f"(detectron2's conv heads), got {type(head).__name__} with pooler {pooler}"
        )
    return head.layers(pooler([features[f] for f in in_features], boxes))


def auxiliary_task_maps(
    roi_heads: nn.Module, stage: DensePoseCascadeStage, features: Dict[str, torch.Tensor], boxes: List[Boxes]
) -> List[torch.Tensor]:
    """The task maps `stage` reads, for the DensePose ROIs `boxes` (per image, image px), computed by the
    StandardROIHeads' own mask/keypoint heads (their poolers and input features), ROI frame:
    mask probabilities sigmoid(logits) (N, C_m, M, M) and/or keypoint heatmaps (N, K, H, H) as
    `relative_heatmaps` of the keypoint logits."""
    # Public detectron2 API only, no internals: mask/keypoint_pooler, _head and _in_features are the documented
    # keyword arguments StandardROIHeads.__init__ stores under the same names, and `layers` is the method
    # BaseMaskRCNNHead/BaseKeypointRCNNHead document as the network to override (their forward adds the loss or
    # the per-instance inference, which would need Instances and drop the logits). detectron2 has no public call
    # for "head logits at these boxes"; StandardROIHeads._forward_mask/_forward_keypoint are private and select
    # foreground proposals themselves, so they cannot take the DensePose ROIs.
    maps = []
    if stage.use_masks:
        logits = _task_logits(roi_heads.mask_pooler, roi_heads.mask_head, roi_heads.mask_in_features, features, boxes)
        maps.append(logits.sigmoid())
    if stage.use_keypoints:
        logits = _task_logits(
            roi_heads.keypoint_pooler, roi_heads.keypoint_head, roi_heads.keypoint_in_features, features, boxes
        )
        maps.append(relative_heatmaps(logits))
    return maps


def relative_heatmaps(logits: torch.Tensor) -> torch.Tensor:
    """(N, K, H, W) keypoint logits -> the spatial softmax of each map divided by its peak, in (0, 1].

    detectron2 trains keypoint logits with a spatial softmax, so only differences within one map matter:
    exp(logit - max) keeps that meaning, is 1 at the predicted location and does not vanish like the
    softmax itself (about 1 / (H W) everywhere on an untrained head)."""
    if logits.numel() == 0:
        return logits
    return torch.exp(logits - logits.amax(dim=(2, 3), keepdim=True))


def stage_loss_name(name: str, stage: int) -> str:
    """Loss key of `name` for 0-based `stage`: stage 0 keeps the single-stage names (so logs and
    checkpoints of non-cascaded models are unchanged), later stages get a `_stage{k+1}` suffix."""
    return name if stage == 0 else f"{name}_stage{stage + 1}"
