"""DensePose losses (paper Sec. 3.2) as pure functions of predictor outputs and targets.

Frames: points and boxes arrive in image px (targets after all data transforms); predictor outputs
live in the ROI SxS frame of their proposal box, where cell (r, c) covers the image-px rectangle
[x0 + c*w/S, x0 + (c+1)*w/S) x [y0 + r*h/S, y0 + (r+1)*h/S) and its value sits at the cell centre.

Losses (names as in the reference, weights from MODEL.ROI_DENSEPOSE_HEAD):
- loss_densepose_I: cross-entropy of the 25 fine-part logits, bilinearly sampled at the annotated
  points inside the proposal, against their part label; mean over points; x PART_WEIGHTS.
- loss_densepose_U / _V: smooth-L1 between the U (V) channel of the point's ground-truth part,
  sampled the same way, and its annotated U (V); summed over points; x POINT_REGRESSION_WEIGHTS.
- loss_densepose_UV replaces them when the outputs carry UV confidences (confidence.py): the Gaussian
  negative log-likelihood of (U, V) with the confidences of the same channel at the same points;
  summed over points; x POINT_REGRESSION_WEIGHTS.
- loss_densepose_S: cross-entropy of the coarse segmentation over the SxS grid against the 256x256
  coarse mask resampled (nearest) into the proposal frame; labels 0..14, or person/background when
  the predictor has 2 channels; mean over cells; x INDEX_WEIGHTS.
Sampling convention (`sampling`, MODEL.ROI_DENSEPOSE_HEAD.LOSS_SAMPLING): "cell_centres" (ours, the default)
as above; "corners" is the reference's: the value of cell (r, c) sits at the cell's top-left corner
(x0 + c*w/S, y0 + r*h/S), so points are interpolated between corners, and the coarse mask is sampled at the
corners with `grid_sample(align_corners=True)` (its pixel centres at the mask box's edges). The two differ by
half a cell; "corners" reproduces the reference's loss values (tests/golden/test_losses.py).
A loss without any supervision in the batch is `outputs.sum() * 0`, which keeps every parameter in
the autograd graph so that distributed data parallel training does not wait forever for gradients.
"""
from __future__ import annotations

from typing import Dict, Optional, Sequence, Tuple

import torch
from torch.nn import functional as F

from .confidence import gaussian_uv_nll
from .predictor import DensePoseChartOutput

SAMPLINGS = ("cell_centres", "corners")


def points_to_roi_grid(
    x: torch.Tensor, y: torch.Tensor, boxes: torch.Tensor, size: int
) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Express image-px points in the continuous ROI SxS frame of their box.

    Args:
        x, y: (P,) image px. boxes: (P, 4) XYXY image px, the box of each point. size: S.
    Returns:
        gx, gy: (P,) in ROI cell units (0 = left/top box edge, S = right/bottom edge).
        inside: (P,) bool, True where the point lies in [x0, x1) x [y0, y1).
    """
    x0, y0, x1, y1 = boxes.unbind(dim=1)
    w = (x1 - x0).clamp(min=1e-6)
    h = (y1 - y0).clamp(min=1e-6)
    inside = (x >= x0) & (x < x1) & (y >= y0) & (y < y1)
    return (x - x0) * (size / w), (y - y0) * (size / h), inside


def reading_position(g: torch.Tensor, sampling: str) -> torch.Tensor:
    """Where `sample_at_points` must read for ROI-frame positions `g` (cell units) under a sampling convention:
    `g` itself for "cell_centres"; `g + 1/2` for "corners", whose cell value sits half a cell before the centre
    convention's."""
    if sampling not in SAMPLINGS:
        raise ValueError(f"DensePose loss sampling: expected one of {SAMPLINGS}, got {sampling!r}")
    return g + 0.5 if sampling == "corners" else g


def sample_at_points(
    maps: torch.Tensor, roi_index: torch.Tensor, gx: torch.Tensor, gy: torch.Tensor
) -> torch.Tensor:
    """Bilinear interpolation of per-ROI maps at continuous ROI-frame positions.

    Args:
        maps: (N, C, S, S), ROI frame; value of cell (r, c) sits at (c + 0.5, r + 0.5).
        roi_index: (P,) int64 in [0, N), the map each point reads.
        gx, gy: (P,) ROI cell units (see `points_to_roi_grid`). Positions closer than half a cell
            to the border take the border value (edge clamping).
    Returns:
        (P, C) sampled values; differentiable w.r.t. `maps`.
    """
    size_y, size_x = maps.shape[-2:]
    fx = (gx - 0.5).clamp(0, size_x - 1)
    fy = (gy - 0.5).clamp(0, size_y - 1)
    x_lo = fx.floor().long().clamp(max=size_x - 1)
    y_lo = fy.floor().long().clamp(max=size_y - 1)
    x_hi = (x_lo + 1).clamp(max=size_x - 1)
    y_hi = (y_lo + 1).clamp(max=size_y - 1)
    wx = (fx - x_lo.to(fx.dtype))[:, None]
    wy = (fy - y_lo.to(fy.dtype))[:, None]

    def at(yi: torch.Tensor, xi: torch.Tensor) -> torch.Tensor:
        return maps[roi_index, :, yi, xi]  # (P, C)

    return (
        at(y_lo, x_lo) * (1 - wx) * (1 - wy)
        + at(y_lo, x_hi) * wx * (1 - wy)
        + at(y_hi, x_lo) * (1 - wx) * wy
        + at(y_hi, x_hi) * wx * wy
    )


def resample_masks_to_rois(
    masks: torch.Tensor,
    mask_boxes: torch.Tensor,
    roi_boxes: torch.Tensor,
    size: int,
    sampling: str = "cell_centres",
) -> torch.Tensor:
    """Nearest-neighbour resampling of box-frame label masks into ROI SxS frames.

    Args:
        masks: (M, Hm, Wm) integer labels; mask m covers `mask_boxes[m]` (XYXY image px), with its
            pixel (i, j) centred at image px (x0 + (j + 0.5) * w / Wm, y0 + (i + 0.5) * h / Hm).
        mask_boxes, roi_boxes: (M, 4) XYXY image px.
        size: S.
        sampling: "cell_centres" (read at ROI cell centres, mask pixel (i, j) centred as above) or "corners"
            (the reference's: read at ROI cell top-left corners, mask pixel centres spread from edge to edge
            of the mask box, i.e. grid_sample with align_corners=True).
    Returns:
        (M, S, S) int64 labels of the mask at each ROI cell; 0 (background) outside the mask.
    """
    if masks.shape[0] == 0:
        return masks.new_zeros((0, size, size), dtype=torch.long)
    if sampling not in SAMPLINGS:
        raise ValueError(f"resample_masks_to_rois: sampling: expected one of {SAMPLINGS}, got {sampling!r}")
    corners = sampling == "corners"
    cells = (torch.arange(size, device=masks.device, dtype=torch.float32) + (0.0 if corners else 0.5)) / size
    rx0, ry0, rx1, ry1 = roi_boxes.float().unbind(dim=1)
    mx0, my0, mx1, my1 = mask_boxes.float().unbind(dim=1)
    # The ROI's edges in normalised [-1, 1] coordinates of the mask frame (align_corners=False: -1 and 1 are
    # the outer edges of the mask; True: its edge pixels' centres), then the cells between them. Nearest
    # sampling breaks ties at exact half-pixels by float rounding; interpolating between the normalised edges
    # rounds as the reference does, so "corners" picks the reference's pixel there too.
    nx0, nx1 = (2 * (e - mx0) / (mx1 - mx0).clamp(min=1e-6) - 1 for e in (rx0, rx1))
    ny0, ny1 = (2 * (e - my0) / (my1 - my0).clamp(min=1e-6) - 1 for e in (ry0, ry1))
    nx = nx0[:, None] + cells[None, :] * (nx1 - nx0)[:, None]  # (M, S)
    ny = ny0[:, None] + cells[None, :] * (ny1 - ny0)[:, None]
    grid = torch.stack(
        (nx[:, None, :].expand(-1, size, -1), ny[:, :, None].expand(-1, -1, size)), dim=3
    )
    sampled = F.grid_sample(
        masks[:, None].float(), grid, mode="nearest", padding_mode="zeros", align_corners=corners
    )
    return sampled[:, 0].round().long()


def zero_densepose_losses(outputs: DensePoseChartOutput) -> Dict[str, torch.Tensor]:
    """Zero losses that still depend on every output (and so on every head/predictor parameter)."""
    confidences = outputs.confidences()
    if confidences:
        uv = {"loss_densepose_UV": sum(m.sum() for m in (outputs.u, outputs.v, *confidences.values())) * 0}
    else:
        uv = {"loss_densepose_U": outputs.u.sum() * 0, "loss_densepose_V": outputs.v.sum() * 0}
    return {"loss_densepose_I": outputs.fine_segm.sum() * 0, **uv, "loss_densepose_S": outputs.coarse_segm.sum() * 0}


def uv_point_losses(
    outputs: DensePoseChartOutput,
    roi_index: torch.Tensor,
    gx: torch.Tensor,
    gy: torch.Tensor,
    part: torch.Tensor,
    u: torch.Tensor,
    v: torch.Tensor,
    *,
    uv_confidence_epsilon: float,
) -> Dict[str, torch.Tensor]:
    """Unweighted U/V losses of foreground points, reading every map from the point's part channel.

    Args:
        outputs: predictor outputs (ROI SxS frames).
        roi_index, gx, gy: (P,) the map and ROI-frame position of each point (see `sample_at_points`).
        part: (P,) int64 ground-truth part in 1..24. u, v: (P,) annotated chart coordinates.
        uv_confidence_epsilon: lower bound of the variance (confidence.py).
    Returns:
        {"loss_densepose_UV"} with UV confidences, else {"loss_densepose_U", "loss_densepose_V"}: sums over points.
    """
    at = {
        name: sample_at_points(maps, roi_index, gx, gy).gather(1, part[:, None])[:, 0]
        for name, maps in {"u": outputs.u, "v": outputs.v, **outputs.confidences()}.items()
    }
    if "sigma_2" in at:
        nll = gaussian_uv_nll(at["u"] - u, at["v"] - v, at["sigma_2"], uv_confidence_epsilon,
                              at.get("kappa_u"), at.get("kappa_v"))
        return {"loss_densepose_UV": nll}
    return {
        "loss_densepose_U": F.smooth_l1_loss(at["u"], u, reduction="sum"),
        "loss_densepose_V": F.smooth_l1_loss(at["v"], v, reduction="sum"),
    }


def densepose_chart_losses(
    outputs: DensePoseChartOutput,
    proposal_boxes: torch.Tensor,
    targets: Sequence[Optional[object]],
    *,
    part_weight: float,
    point_regression_weight: float,
    index_weight: float,
    sampling: str = "cell_centres",
    uv_confidence_epsilon: float = 0.01,
) -> Dict[str, torch.Tensor]:
    """DensePose losses for N proposals and their matched ground truth.

    Args:
        outputs: predictor outputs for the N proposals (ROI SxS frames).
        proposal_boxes: (N, 4) XYXY image px.
        targets: N entries matching the proposals: objects with the fields of
            `densepose_ext.structures.targets.DensePoseTargets` (x, y (P,) image px; i (P,) int64
            in 0..24; u, v (P,) chart [0, 1]; coarse_masks (256, 256) uint8 0..14 or None;
            mask_box (4,) XYXY image px), or None for a proposal without DensePose annotation.
        part_weight, point_regression_weight, index_weight: PART_WEIGHTS,
            POINT_REGRESSION_WEIGHTS, INDEX_WEIGHTS.
        sampling: LOSS_SAMPLING, where the outputs are read (module docstring).
        uv_confidence_epsilon: UV_CONFIDENCE.EPSILON (used only when `outputs` carry UV confidences).
    Returns:
        dict with loss_densepose_I, loss_densepose_U, loss_densepose_V (or loss_densepose_UV with UV
        confidences), loss_densepose_S (scalars).
    """
    if len(targets) != len(outputs) or proposal_boxes.shape[0] != len(outputs):
        raise ValueError(
            f"densepose_chart_losses: got {len(outputs)} outputs, {proposal_boxes.shape[0]} "
            f"proposal boxes and {len(targets)} targets; expected equal counts"
        )
    losses = zero_densepose_losses(outputs)
    if len(outputs) == 0:
        return losses
    device = outputs.fine_segm.device
    size = outputs.fine_segm.shape[-1]

    with_points = [k for k, t in enumerate(targets) if t is not None and len(t.x) > 0]
    if with_points:
        counts = torch.tensor([len(targets[k].x) for k in with_points], device=device)
        roi_index = torch.repeat_interleave(torch.tensor(with_points, device=device), counts)
        x, y, i, u, v = (
            torch.cat([getattr(targets[k], name).to(device) for k in with_points])
            for name in ("x", "y", "i", "u", "v")
        )
        gx, gy, inside = points_to_roi_grid(x, y, proposal_boxes[roi_index], size)
        gx, gy = reading_position(gx, sampling), reading_position(gy, sampling)
        if inside.any():
            roi_index, gx, gy = roi_index[inside], gx[inside], gy[inside]
            i, u, v = i[inside].long(), u[inside], v[inside]
            fine = sample_at_points(outputs.fine_segm, roi_index, gx, gy)  # (P, 25)
            losses["loss_densepose_I"] = F.cross_entropy(fine, i) * part_weight
            fg = i > 0
            if fg.any():
                uv_losses = uv_point_losses(outputs, roi_index[fg], gx[fg], gy[fg], i[fg], u[fg], v[fg],
                                            uv_confidence_epsilon=uv_confidence_epsilon)
                losses.update({name: loss * point_regression_weight for name, loss in uv_losses.items()})

    with_masks = [k for k, t in enumerate(targets) if t is not None and t.coarse_masks is not None]
    if with_masks:
        masks = torch.stack([targets[k].coarse_masks.to(device) for k in with_masks])
        mask_boxes = torch.stack([targets[k].mask_box.to(device) for k in with_masks])
        rows = torch.tensor(with_masks, device=device)
        labels = resample_masks_to_rois(masks, mask_boxes, proposal_boxes[rows], size, sampling)
        if outputs.coarse_segm.shape[1] == 2:
            labels = (labels > 0).long()
        losses["loss_densepose_S"] = F.cross_entropy(outputs.coarse_segm[rows], labels) * index_weight
    return losses
