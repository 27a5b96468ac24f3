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

import itertools
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


def channel_argmax(maps: torch.Tensor) -> torch.Tensor:
    """(C, ...) -> (...) int64: `maps.argmax(0)`, the index of the largest channel (the first on ties). Reduced over
    the innermost dimension instead, where the CPU kernel vectorises: over the outer one it walks the channels
    element by element (24 x 300 x 200: 10.1 ms -> 4.7 ms with the copy, 1 thread; bench/bench_cpu_kernels.py)."""
    return maps.movedim(0, -1).contiguous().argmax(-1)


def chart_labels(coarse: torch.Tensor, fine: torch.Tensor, foreground: str) -> torch.Tensor:
    """Part label per pixel.

    Args:
        coarse: (K, H, W) coarse segmentation logits, channel 0 background. fine: (25, H, W) fine logits,
            channel 0 background. foreground: one of FOREGROUND_RULES.
    Returns:
        (H, W) int64 in 0..24, 0 = background.
    """
    if foreground == "coarse_argmax":
        return channel_argmax(fine) * (channel_argmax(coarse) > 0)
    return (channel_argmax(fine[1:]) + 1) * (coarse.softmax(dim=0)[0] < 0.5)


def value_of_label(maps: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """(25, H, W) per-part maps, (H, W) labels -> (H, W): each pixel's value in its label's channel, 0 where
    the label is 0 (background). Used for U, V and any other per-part output."""
    return maps.gather(0, labels[None])[0] * (labels > 0)


def densepose_chart_inference_per_box(
    outputs: DensePoseChartOutput, boxes: torch.Tensor, rule: ChartInferenceRule = ChartInferenceRule()
) -> List[DensePoseResult]:
    """One DensePoseResult per detection (see the module docstring), one box at a time with F.interpolate:
    the slow reference of `densepose_chart_inference`, and its fallback near label ties.

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


def _axis_taps(sizes: torch.Tensor, s: int) -> Tuple[torch.Tensor, ...]:
    """Bilinear taps (align_corners=False, F.interpolate's) along one axis of every box, concatenated.

    Args:
        sizes: (N,) int64 output lengths D_b >= 1; s: input length S.
    Returns:
        (owner, i0, i1, w0, w1), each (sum D_b,): the box of each output cell, its two source indices and weights.
        The source coordinate is computed as F.interpolate's CPU kernel does it, scale * (i + 0.5) - 0.5 with one
        rounding (a fused multiply-add), so the taps are F.interpolate's.
    """
    device = sizes.device
    owner = torch.repeat_interleave(torch.arange(len(sizes), device=device), sizes)
    starts = torch.cumsum(sizes, 0) - sizes
    index = torch.arange(owner.numel(), device=device) - starts[owner]
    scale = (torch.tensor(float(s), dtype=torch.float32, device=device) / sizes.to(torch.float32))[owner]
    src = (scale.double() * (index.double() + 0.5) - 0.5).float().clamp(min=0.0)
    i0 = src.floor().long().clamp(max=s - 1)
    w1 = (src - i0).clamp(0.0, 1.0)
    i1 = i0 + (i0 < s - 1).long()
    return owner, i0, i1, 1.0 - w1, w1


@dataclass
class _BoxGrids:
    """Where every output cell of N boxes reads the S x S maps; cells are box-major, row-major within a box.

    sizes: (N, 2) int64 (H_b, W_b). cell_col: (P,) the global column (into the W-pass) of each cell;
    cell_box: (P,) its box; r0, r1, a0, a1: (P,) its row taps; col_*: the column taps (sum W_b,).
    """

    sizes: torch.Tensor
    cell_box: torch.Tensor
    cell_col: torch.Tensor
    r0: torch.Tensor
    r1: torch.Tensor
    a0: torch.Tensor
    a1: torch.Tensor
    col_box: torch.Tensor
    c0: torch.Tensor
    c1: torch.Tensor
    b0: torch.Tensor
    b1: torch.Tensor

    @classmethod
    def build(cls, sizes: torch.Tensor, s: int) -> "_BoxGrids":
        heights, widths = sizes[:, 0], sizes[:, 1]
        col_box, c0, c1, b0, b1 = _axis_taps(widths, s)
        row_box, r0, r1, a0, a1 = _axis_taps(heights, s)
        # cell (b, r, c): row taps of row r of b, column c of b; repeat each row W_b times
        row_width = widths[row_box]
        cell_row = torch.repeat_interleave(torch.arange(row_box.numel(), device=sizes.device), row_width)
        cell_box = row_box[cell_row]
        col_start = (torch.cumsum(widths, 0) - widths)[cell_box]
        row_start = (torch.cumsum(row_width, 0) - row_width)[cell_row]
        cell_col = col_start + torch.arange(cell_row.numel(), device=sizes.device) - row_start
        return cls(sizes, cell_box, cell_col, r0[cell_row], r1[cell_row], a0[cell_row], a1[cell_row],
                   col_box, c0, c1, b0, b1)

    def columns(self, maps: torch.Tensor) -> torch.Tensor:
        """(N, C, S, S) -> (sum W_b, S, C): every map resampled along x to its box's columns."""
        x = maps.permute(0, 3, 2, 1)  # (N, S_x, S_y, C)
        return x[self.col_box, self.c0] * self.b0[:, None, None] + x[self.col_box, self.c1] * self.b1[:, None, None]

    def cells(self, columns: torch.Tensor) -> torch.Tensor:
        """(sum W_b, S, C) W-pass -> (P, C): the value of every channel at every cell."""
        return (columns[self.cell_col, self.r0] * self.a0[:, None]
                + columns[self.cell_col, self.r1] * self.a1[:, None])

    def cells_of_channel(self, columns: torch.Tensor, channel: torch.Tensor) -> torch.Tensor:
        """(sum W_b, S, C) W-pass, (P,) channel per cell -> (P,): each cell's value in its channel only."""
        return (columns[self.cell_col, self.r0, channel] * self.a0
                + columns[self.cell_col, self.r1, channel] * self.a1)


def _decision_margins(coarse: torch.Tensor, fine: torch.Tensor, foreground: str) -> torch.Tensor:
    """(P, K), (P, 25) resampled logits -> (P,) how far each cell's label decision is from a tie (logit units,
    or probability for the background-below-half threshold): a change of the inputs smaller than this cannot
    change the label."""
    if foreground == "coarse_argmax":
        fine_top = fine.topk(2, dim=1).values
        coarse_top = coarse.topk(2, dim=1).values
        return torch.minimum(fine_top[:, 0] - fine_top[:, 1], coarse_top[:, 0] - coarse_top[:, 1])
    fine_top = fine[:, 1:].topk(2, dim=1).values
    background = coarse.t().softmax(dim=0)[0]
    return torch.minimum(fine_top[:, 0] - fine_top[:, 1], (background - 0.5).abs())


def densepose_chart_inference(
    outputs: DensePoseChartOutput, boxes: torch.Tensor, rule: ChartInferenceRule = ChartInferenceRule()
) -> List[DensePoseResult]:
    """One DensePoseResult per detection (see the module docstring), for all boxes at once, on the outputs'
    device, without a loop per box.

    Every map is resampled for all boxes together (one gather per axis over the concatenated box grids,
    F.interpolate's taps); U, V and confidences are resampled only in each cell's label channel. The labels
    equal those of `densepose_chart_inference_per_box` (the slow reference) exactly: for a box where some cell's
    decision lies within rounding of a tie (`_decision_margins` below 8 float32 ulps of the box's largest logit),
    they are taken from F.interpolate of its coarse and fine maps. U, V and confidences may differ from the
    reference's by float32 rounding (a few ulps).

    Args:
        outputs: predictor outputs of N detections (ROI S x S frames of `boxes`).
        boxes: (N, 4) XYXY image px of the frame the results are wanted in (the output image's `pred_boxes`).
        rule: labelling rule; the default is the reference's.
    Returns:
        N results on the outputs' device, result k of size `box_resolution(boxes[k])`.
    """
    n = len(outputs)
    if n != boxes.shape[0]:
        raise ValueError(f"densepose_chart_inference: {n} outputs for {boxes.shape[0]} boxes")
    if n == 0:
        return []
    device = outputs.fine_segm.device
    corners = boxes.detach().to(device=device, dtype=torch.float32)
    # box_resolution, for all boxes: float32 extent truncated towards zero, at least 1
    sizes = torch.stack([corners[:, 3] - corners[:, 1], corners[:, 2] - corners[:, 0]], 1).long().clamp(min=1)
    grids = _BoxGrids.build(sizes, outputs.fine_segm.shape[-1])
    coarse = grids.cells(grids.columns(outputs.coarse_segm))
    fine = grids.cells(grids.columns(outputs.fine_segm))
    labels = chart_labels(coarse.t(), fine.t(), rule.foreground)  # (P,)
    # Tie guard: the gathers and F.interpolate may round differently (a few ulps of the box's largest logit), so
    # the labels of a box with a cell that close to a tie are taken from F.interpolate, one call for that box.
    logits = torch.cat([outputs.coarse_segm.flatten(1), outputs.fine_segm.flatten(1)], 1).abs().amax(1)
    tolerance = 8 * torch.finfo(torch.float32).eps * (1.0 + logits)
    close = (_decision_margins(coarse, fine, rule.foreground) <= tolerance[grids.cell_box]).float()
    near_tie = torch.zeros(n, device=device).index_add_(0, grids.cell_box, close) > 0
    counts = (sizes[:, 0] * sizes[:, 1]).tolist()
    shapes = [tuple(hw) for hw in sizes.tolist()]
    if bool(near_tie.any()):
        starts = [0] + list(itertools.accumulate(counts))
        k_coarse = outputs.coarse_segm.shape[1]
        for k in torch.nonzero(near_tie).flatten().tolist():
            maps = resample_to_box(torch.cat([outputs.coarse_segm[k], outputs.fine_segm[k]]), shapes[k])
            labels[starts[k]:starts[k + 1]] = chart_labels(maps[:k_coarse], maps[k_coarse:], rule.foreground).flatten()
    label_maps = {"u": outputs.u, "v": outputs.v, **outputs.confidences()}
    values = {name: grids.cells_of_channel(grids.columns(m), labels) * (labels > 0) for name, m in label_maps.items()}
    labels8 = labels.to(torch.uint8).split(counts)
    uv = torch.stack([values["u"], values["v"]])
    if rule.clamp_uv:
        uv = uv.clamp(0.0, 1.0)  # background stays 0
    uv = uv.float().split(counts, dim=1)
    confidences = {name: values[name].float().split(counts) for name in outputs.confidences()}
    return [DensePoseResult(labels8[k].view(h, w), uv[k].reshape(2, h, w),
                            {name: c[k].view(h, w) for name, c in confidences.items()})
            for k, (h, w) in enumerate(shapes)]


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
        # Both give the same results. On the CPU the per-box loop is the faster (bench_apply_net --before-after:
        # 22 vs 52 CPU ms per image); the batched conversion saves the per-box kernel launches of a GPU.
        if self.outputs.fine_segm.device.type == "cpu":
            return densepose_chart_inference_per_box(self.outputs, boxes, self.rule)
        return densepose_chart_inference(self.outputs, boxes, self.rule)
