"""Predictor outputs -> per-person results in the box frame of the output image (the reference's rule).

The ROI head stores the raw S x S outputs of each detection as `pred_densepose`, a `DensePoseChartPredictions`
(as the reference stores its predictor output): detectron2's postprocess then rescales `pred_boxes` to the
original image and filters detections, and the field follows. Consumers convert with the final boxes,
`instances.pred_densepose.to_results(instances.pred_boxes.tensor)`, so a result has the size of its box in
the original image, as the reference's results do.

Conversion of one detection with box (x0, y0, x1, y1) (`densepose_chart_inference`):
- size: W = int(x1 - x0), H = int(y1 - y0), computed in float32 and truncated (0 -> 1) (`box_resolution`);
- every S x S map is resampled bilinearly (align_corners=False) to H x W;
- labels by `ChartInferenceRule.foreground`:
  "coarse_argmax" (the reference's, the default): the arg-max of all 25 fine channels, set to 0 where the
  arg-max of the coarse segmentation is background;
  "background_below_half" (ours): where the coarse segmentation gives background a probability below 1/2,
  the arg-max of the 24 fine parts, 0 elsewhere. With 15 coarse channels an uncertain pixel splits its
  person probability among 14 parts, so background can win the arg-max at pixels more likely on the person
  than off it; on the demo model the arg-max rule labelled 40 % of the annotated points of ground-truth
  boxes background, this rule 21 % (RESULTS.md). The fine background channel is never a training target
  here (points lie on the body), so it is not a label either;
- U, V from the channel of the label, 0 on background; clamped to [0, 1] only with `clamp_uv`;
- with UV confidence, each confidence map (sigma_2, kappa_u, kappa_v, raw) likewise from the label's channel.
"""
from __future__ import annotations

import numbers
from dataclasses import dataclass, fields, replace
from typing import Any, List, Sequence, Tuple, Union

import torch
from torch.nn import functional as F

from ..structures.results import DensePoseResult, box_resolution
from .predictor import DensePoseChartOutput

FOREGROUND_RULES = ("coarse_argmax", "background_below_half")


@dataclass(frozen=True)
class ChartInferenceRule:
    """How labels and U, V are read from the resampled maps (MODEL.ROI_DENSEPOSE_HEAD.INFERENCE).

    foreground: one of FOREGROUND_RULES (see the module docstring). clamp_uv: clamp U, V to [0, 1].
    """

    foreground: str = "coarse_argmax"
    clamp_uv: bool = False

    def __post_init__(self) -> None:
        if self.foreground not in FOREGROUND_RULES:
            raise ValueError(f"ChartInferenceRule.foreground: expected one of {FOREGROUND_RULES}, got {self.foreground!r}")

    @classmethod
    def from_config(cls, cfg) -> "ChartInferenceRule":
        rule = cfg.MODEL.ROI_DENSEPOSE_HEAD.INFERENCE
        return cls(foreground=rule.FOREGROUND_RULE, clamp_uv=rule.CLAMP_UV)


def resample_to_box(maps: torch.Tensor, size: Tuple[int, int]) -> torch.Tensor:
    """(C, S, S) ROI-frame maps -> (C, H, W) box-frame maps, bilinear, align_corners=False (as the reference)."""
    return F.interpolate(maps[None], size=size, mode="bilinear", align_corners=False)[0]


def chart_labels(coarse: torch.Tensor, fine: torch.Tensor, foreground: str) -> torch.Tensor:
    """Part label per pixel.

    Args:
        coarse: (K, H, W) coarse segmentation logits, channel 0 background. fine: (25, H, W) fine logits,
            channel 0 background. foreground: one of FOREGROUND_RULES.
    Returns:
        (H, W) int64 in 0..24, 0 = background.
    """
    if foreground == "coarse_argmax":
        return fine.argmax(dim=0) * (coarse.argmax(dim=0) > 0)
    return (fine[1:].argmax(dim=0) + 1) * (coarse.softmax(dim=0)[0] < 0.5)


def value_of_label(maps: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """(25, H, W) per-part maps, (H, W) labels -> (H, W): each pixel's value in its label's channel, 0 where
    the label is 0 (background). Used for U, V and any other per-part output."""
    return maps.gather(0, labels[None])[0] * (labels > 0)


def densepose_chart_inference(
    outputs: DensePoseChartOutput, boxes: torch.Tensor, rule: ChartInferenceRule = ChartInferenceRule()
) -> List[DensePoseResult]:
    """One DensePoseResult per detection (see the module docstring).

    Args:
        outputs: predictor outputs of N detections (ROI S x S frames of `boxes`).
        boxes: (N, 4) XYXY image px of the frame the results are wanted in (the output image's `pred_boxes`).
        rule: labelling rule; the default is the reference's.
    Returns:
        N results, result k of size `box_resolution(boxes[k])`.
    """
    if len(outputs) != boxes.shape[0]:
        raise ValueError(f"densepose_chart_inference: {len(outputs)} outputs for {boxes.shape[0]} boxes")
    results = []
    for k, box in enumerate(boxes):
        size = box_resolution(box)
        coarse = resample_to_box(outputs.coarse_segm[k], size)
        labels = chart_labels(coarse, resample_to_box(outputs.fine_segm[k], size), rule.foreground)
        uv = torch.stack([value_of_label(resample_to_box(m[k], size), labels) for m in (outputs.u, outputs.v)])
        if rule.clamp_uv:
            uv = uv.clamp(0.0, 1.0)  # background stays 0
        confidences = {name: value_of_label(resample_to_box(m[k], size), labels).float()
                       for name, m in outputs.confidences().items()}
        results.append(DensePoseResult(labels.to(torch.uint8), uv.float(), confidences))
    return results


Index = Union[int, slice, torch.Tensor, Sequence[int]]


@dataclass
class DensePoseChartPredictions:
    """Raw predictor outputs of N detections as a detectron2 `Instances` field (`pred_densepose`).

    outputs: DensePoseChartOutput, ROI S x S frames. rule: how `to_results` labels pixels.
    Indexing, `cat` and `to` act on every tensor of `outputs`, so detectron2's postprocess (which filters
    detections) and `Instances.to` keep the field aligned with `pred_boxes`.
    """

    outputs: DensePoseChartOutput
    rule: ChartInferenceRule = ChartInferenceRule()

    def __len__(self) -> int:
        return len(self.outputs)

    def _map_tensors(self, fn) -> "DensePoseChartPredictions":
        tensors = {f.name: getattr(self.outputs, f.name) for f in fields(self.outputs)}
        changed = {name: fn(t) for name, t in tensors.items() if isinstance(t, torch.Tensor)}
        return DensePoseChartPredictions(replace(self.outputs, **changed), self.rule)

    def __getitem__(self, item: Index) -> "DensePoseChartPredictions":
        if isinstance(item, numbers.Integral):  # int or numpy integer: keep the detection dimension, as Instances does
            item = [item]
        return self._map_tensors(lambda t: t[item])

    def to(self, device: Any) -> "DensePoseChartPredictions":
        return self._map_tensors(lambda t: t.to(device))

    @classmethod
    def cat(cls, items: Sequence["DensePoseChartPredictions"]) -> "DensePoseChartPredictions":
        if not items:
            raise ValueError("DensePoseChartPredictions.cat: nothing to concatenate")
        rules = {p.rule for p in items}
        if len(rules) != 1:
            raise ValueError(f"DensePoseChartPredictions.cat: predictions of different rules {sorted(map(str, rules))}")
        first = items[0].outputs
        joined = {
            f.name: torch.cat([getattr(p.outputs, f.name) for p in items])
            for f in fields(first)
            if isinstance(getattr(first, f.name), torch.Tensor)
        }
        return cls(replace(first, **joined), items[0].rule)

    def to_results(self, boxes: torch.Tensor) -> List[DensePoseResult]:
        """The N results laid over `boxes` ((N, 4) XYXY image px, normally the instances' `pred_boxes`)."""
        return densepose_chart_inference(self.outputs, boxes, self.rule)
