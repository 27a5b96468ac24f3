"""DensePoseROIHeads: detectron2's StandardROIHeads plus a DensePose branch (paper Sec. 3.2).

The branch is added the way StandardROIHeads adds keypoints: `_init_densepose_head` builds its
modules from the config and `_forward_densepose` runs it. Box, mask and keypoint branches keep
working, so MODEL.KEYPOINT_ON / MASK_ON give the paper's multi-task variants.

Training: foreground proposals whose IoU with their matched GT box is >= FG_IOU_THRESHOLD and whose
GT has DensePose annotation are pooled, passed through head and predictor, and scored by
`densepose_chart_losses`. Inference: the raw outputs of every detected box are stored on the output
Instances as `pred_densepose` (a `DensePoseChartPredictions`, as the reference stores them), so that they
follow detectron2's postprocess; `pred_densepose.to_results(pred_boxes.tensor)` converts them in the frame
of the final boxes (inference.py).

Module names (`densepose_head`, `densepose_predictor`, `decoder`) match the reference project so
its checkpoints of the same architecture load without missing or unexpected keys.
"""
from __future__ import annotations

from typing import Dict, List, Optional

import torch
from detectron2.config import configurable
from detectron2.layers import ShapeSpec
from detectron2.modeling import ROI_HEADS_REGISTRY, StandardROIHeads
from detectron2.modeling.poolers import ROIPooler
from detectron2.modeling.roi_heads import select_foreground_proposals
from detectron2.structures import Boxes, Instances
from detectron2.structures.boxes import matched_pairwise_iou
from torch import nn

from ..config import validate_densepose_config
from .cascade import auxiliary_task_maps, build_densepose_cascade, stage_loss_name, validate_cascade_config
from .decoder import DensePoseFPNDecoder
from .head import build_densepose_head
from .inference import ChartInferenceRule, DensePoseChartPredictions
from .losses import densepose_chart_losses
from .predictor import build_densepose_predictor


def select_densepose_proposals(
    proposals: List[Instances], num_classes: int, iou_threshold: float
) -> List[Instances]:
    """Per image, the sampled proposals that train the DensePose branch.

    Args:
        proposals: per image, sampled proposals with `proposal_boxes`, `gt_classes`, `gt_boxes`
            (image px) and, when the image has DensePose annotation, `gt_densepose`.
        num_classes: index of the background class in `gt_classes`.
        iou_threshold: minimum IoU between a proposal and its matched GT box.
    Returns:
        per image, the foreground proposals with IoU >= threshold whose GT has DensePose targets.
    """
    selected = []
    for fg in select_foreground_proposals(proposals, num_classes)[0]:
        if len(fg) == 0 or not fg.has("gt_densepose"):
            selected.append(fg[:0])
            continue
        iou = matched_pairwise_iou(fg.proposal_boxes, fg.gt_boxes)
        has_targets = fg.gt_densepose.has_targets.to(iou.device)
        selected.append(fg[(iou >= iou_threshold) & has_targets])
    return selected


@ROI_HEADS_REGISTRY.register()
class DensePoseROIHeads(StandardROIHeads):
    """StandardROIHeads with a DensePose branch; see the module docstring."""

    @configurable
    def __init__(
        self,
        *,
        densepose_in_features: Optional[List[str]] = None,
        densepose_pooler: Optional[ROIPooler] = None,
        densepose_head: Optional[nn.Module] = None,
        densepose_predictor: Optional[nn.Module] = None,
        densepose_decoder: Optional[nn.Module] = None,
        densepose_fg_iou_threshold: float = 0.7,
        densepose_loss_weights: Optional[Dict[str, float]] = None,
        densepose_cascade: Optional[nn.Module] = None,
        densepose_inference_rule: ChartInferenceRule = ChartInferenceRule(),
        **kwargs,
    ):
        """
        Args:
            densepose_in_features: feature maps the branch reads; None disables the branch.
            densepose_pooler: ROIPooler of POOLER_RESOLUTION over those maps (or the decoder's).
            densepose_head: (N, C, R, R) -> (N, D, R, R), from ROI_DENSEPOSE_HEAD_REGISTRY (head.py).
            densepose_predictor: (N, D, R, R) -> DensePoseChartOutput, from DENSEPOSE_PREDICTOR_REGISTRY
                (predictor.py).
            densepose_decoder: optional {name: map} -> one map (DensePoseFPNDecoder) pooled instead.
            densepose_fg_iou_threshold: FG_IOU_THRESHOLD.
            densepose_loss_weights: keyword weights of `densepose_chart_losses`.
            densepose_cascade: optional second stage (cascade.DensePoseCascadeStage); see cascade.py.
            densepose_inference_rule: how `pred_densepose.to_results` labels pixels (inference.py).
            kwargs: arguments of StandardROIHeads.
        """
        super().__init__(**kwargs)
        self.densepose_on = densepose_in_features is not None
        if not self.densepose_on:
            return
        self.densepose_in_features = densepose_in_features
        self.densepose_pooler = densepose_pooler
        self.densepose_head = densepose_head
        self.densepose_predictor = densepose_predictor
        self.decoder = densepose_decoder
        self.densepose_fg_iou_threshold = densepose_fg_iou_threshold
        self.densepose_loss_weights = dict(densepose_loss_weights or {})
        self.densepose_cascade = densepose_cascade
        self.densepose_inference_rule = densepose_inference_rule

    @classmethod
    def from_config(cls, cfg, input_shape: Dict[str, ShapeSpec]) -> dict:
        ret = super().from_config(cfg, input_shape)
        ret.update(cls._init_densepose_head(cfg, input_shape))
        return ret

    @classmethod
    def _init_densepose_head(cls, cfg, input_shape: Dict[str, ShapeSpec]) -> dict:
        validate_cascade_config(cfg)  # before the early return: a cascade without DensePose is an error
        if not cfg.MODEL.DENSEPOSE_ON:
            return {}
        validate_densepose_config(cfg)
        h = cfg.MODEL.ROI_DENSEPOSE_HEAD
        in_features = list(cfg.MODEL.ROI_HEADS.IN_FEATURES)
        decoder = None
        if h.DECODER_ON:
            strides = {f: input_shape[f].stride for f in in_features}
            if min(strides.values()) != h.DECODER_COMMON_STRIDE:
                raise ValueError(
                    "Invalid DensePose config: MODEL.ROI_DENSEPOSE_HEAD.DECODER_COMMON_STRIDE must be "
                    f"the finest stride of MODEL.ROI_HEADS.IN_FEATURES {strides}, got {h.DECODER_COMMON_STRIDE}"
                )
            decoder = DensePoseFPNDecoder(cfg, {f: input_shape[f] for f in in_features})
            scales = (1.0 / h.DECODER_COMMON_STRIDE,)
            in_channels = h.DECODER_NUM_CLASSES
        else:
            channels = {input_shape[f].channels for f in in_features}
            if len(channels) != 1:
                raise ValueError(
                    f"DensePose ROI head: MODEL.ROI_HEADS.IN_FEATURES {in_features} must have equal "
                    f"channel counts, got {sorted(channels)}"
                )
            scales = tuple(1.0 / input_shape[f].stride for f in in_features)
            in_channels = channels.pop()
        head = build_densepose_head(cfg, in_channels)
        return {
            "densepose_in_features": in_features,
            "densepose_pooler": ROIPooler(
                output_size=h.POOLER_RESOLUTION,
                scales=scales,
                sampling_ratio=h.POOLER_SAMPLING_RATIO,
                pooler_type=h.POOLER_TYPE,
            ),
            "densepose_head": head,
            "densepose_predictor": build_densepose_predictor(cfg, head.n_out_channels),
            "densepose_decoder": decoder,
            "densepose_cascade": build_densepose_cascade(cfg, in_channels),
            "densepose_fg_iou_threshold": h.FG_IOU_THRESHOLD,
            "densepose_inference_rule": ChartInferenceRule.from_config(cfg),
            "densepose_loss_weights": {
                "part_weight": h.PART_WEIGHTS,
                "point_regression_weight": h.POINT_REGRESSION_WEIGHTS,
                "index_weight": h.INDEX_WEIGHTS,
                "sampling": h.LOSS_SAMPLING,
                "uv_confidence_epsilon": h.UV_CONFIDENCE.EPSILON,
            },
        }

    def _forward_densepose(self, features: Dict[str, torch.Tensor], instances: List[Instances]):
        """
        Args:
            features: {name: (B, C, H/stride, W/stride)} backbone maps, image frame.
            instances: per image, sampled proposals (training) or detections (inference).
        Returns:
            training: dict of DensePose losses; inference: `instances` with `pred_densepose`.
        """
        if not self.densepose_on:
            return {} if self.training else instances
        if self.decoder is not None:
            maps = [self.decoder(features)]
        else:
            maps = [features[f] for f in self.densepose_in_features]
        if self.training:
            instances = select_densepose_proposals(
                instances, self.num_classes, self.densepose_fg_iou_threshold
            )
            boxes = [x.proposal_boxes for x in instances]
        else:
            boxes = [x.pred_boxes for x in instances]
        # The branch runs even on zero boxes so that all its parameters join the graph.
        pooled = self.densepose_pooler(maps, boxes)
        stages = [self.densepose_predictor(self.densepose_head(pooled))]
        if self.densepose_cascade is not None:  # cascade.py: second stage on the first's outputs
            task_maps = auxiliary_task_maps(self, self.densepose_cascade, features, boxes)
            stages.append(self.densepose_cascade(pooled, stages[0], task_maps))
        if self.training:
            all_boxes = Boxes.cat(boxes).tensor
            targets = [t for x in instances if len(x) > 0 for t in x.gt_densepose]
            losses = {}
            for k, outputs in enumerate(stages):  # every stage is supervised (deep supervision, Sec. 3.3)
                stage_losses = densepose_chart_losses(outputs, all_boxes, targets, **self.densepose_loss_weights)
                losses.update({stage_loss_name(name, k): loss for name, loss in stage_losses.items()})
            return losses
        predictions = DensePoseChartPredictions(stages[-1], self.densepose_inference_rule)
        if len(instances) == 1:  # no split: under tracing (export/) a split would freeze the detection count
            instances[0].pred_densepose = predictions
            return instances
        start = 0
        for x in instances:
            x.pred_densepose = predictions[start : start + len(x)]
            start += len(x)
        return instances

    def forward(self, images, features, proposals, targets=None):
        instances, losses = super().forward(images, features, proposals, targets)
        if self.training:
            losses.update(self._forward_densepose(features, instances))
        return instances, losses

    def forward_with_given_boxes(self, features, instances):
        instances = super().forward_with_given_boxes(features, instances)
        return self._forward_densepose(features, instances)
