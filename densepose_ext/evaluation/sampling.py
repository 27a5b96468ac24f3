"""Ground-truth point locations and per-detection DensePose results brought to the same points.

Ground-truth points come in box-256 (dp_x, dp_y relative to the annotation bbox) and are moved to image px; a
detection's result is an H x W label/UV grid laid over its box. Two named conventions (conventions.py) say where:

- "reference" (the reference evaluator): x = dp_x * w / 255 + x_box; the point reads column int(x - x_det) of a
  grid covering int(w_det) pixels from x_det (int() truncates toward zero), inside when 0 <= column < int(w_det);
  a grid of another width W is read at column * W // int(w_det) (the reference's grids are always int(w_det) wide).
- "cell-centre" (ours, the training convention): x = x_box + dp_x * w / 256; cell (r, c) of an H x W result over
  box (x0, y0, x1, y1) covers image px x in [x0 + c (x1-x0)/W, x0 + (c+1) (x1-x0)/W) (H, W need not equal the box
  size: after a resized test image they are the network-input box size), same for y.
"""

from __future__ import annotations

from typing import Optional, Sequence

import numpy as np

from densepose_ext.data.annotation import box256_to_image
from densepose_ext.structures.box_grid import cell_index


def reference_cell_index(
    coord: np.ndarray, origin: np.ndarray, extent: np.ndarray, size: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Grid cell along one axis in the reference's frame, broadcasting: pixel int(coord - origin) of int(extent).

    Returns cell (int64, 0 where outside) of a grid of ``size`` cells over those pixels, and inside (bool)."""
    pixel = np.trunc(np.asarray(coord, np.float64) - np.asarray(origin, np.float64))
    pixels = np.trunc(np.asarray(extent, np.float64))
    inside = (pixel >= 0) & (pixel < pixels)
    with np.errstate(divide="ignore", invalid="ignore"):
        cell = np.where(inside, pixel * size // np.maximum(pixels, 1), 0)
    return cell.astype(np.int64), inside


def gt_points_to_image(
    dp_x: Sequence[float], dp_y: Sequence[float], bbox_xywh: Sequence[float], frame: str
) -> tuple[np.ndarray, np.ndarray]:
    """Box-256 point coordinates (P,) -> image px (P,) float64 in ``frame`` ("reference" or "cell-centre")."""
    if frame == "cell-centre":
        return box256_to_image(dp_x, dp_y, bbox_xywh)
    bx, by, bw, bh = (float(c) for c in bbox_xywh)
    # The reference's order of operations (dp_x * w / 255 + x): the same roundings, the same truncated cells.
    return np.asarray(dp_x, np.float64) * bw / 255.0 + bx, np.asarray(dp_y, np.float64) * bh / 255.0 + by


def sample_results(
    x: np.ndarray,
    y: np.ndarray,
    boxes: np.ndarray,
    labels: Sequence[np.ndarray],
    uv: Sequence[np.ndarray],
    det: Optional[np.ndarray] = None,
    frame: str = "cell-centre",
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Read predicted (I, U, V) at points (the cell of a detection's result grid that ``frame`` assigns them).

    Args:
        x, y: (N,) image px.
        boxes: (D, 4) image px, the frame of each result: XYXY in "cell-centre", the bbox XYWH in "reference".
        labels: D arrays (H_d, W_d) int, 0..24.
        uv: D arrays (2, H_d, W_d) float in [0, 1], U then V.
        det: None to read every detection at every point, or (N,) int: read point n only in detection det[n]
            (-1 = no detection).
    Returns:
        I: (D, N) int64 (or (N,) with ``det``), 0 where the prediction is background, the point is outside the
        box or has no detection; U, V: float64 of the same shape (0 where I = 0).
    """
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    shape = (len(labels), x.shape[0]) if det is None else x.shape
    if len(labels) == 0:
        return np.zeros(shape, np.int64), np.zeros(shape), np.zeros(shape)
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    sizes = np.array([lab.shape for lab in labels], dtype=np.int64)
    # All grids laid end to end, so one fancy index reads every (detection, point) pair.
    offsets = np.concatenate([[0], np.cumsum(sizes[:, 0] * sizes[:, 1])[:-1]])
    if det is None:
        det, has_det = np.arange(len(labels))[:, None], True
    else:
        det = np.asarray(det, dtype=np.int64)
        has_det, det = det >= 0, np.maximum(det, 0)
    box, size = boxes[det], sizes[det]
    # cell-centre: a point whose cell rounds past the grid's edge reads nothing (cell_index's "outside" rule)
    cells = cell_index if frame == "cell-centre" else reference_cell_index
    col, in_x = cells(x, box[..., 0], box[..., 2], size[..., 1])
    row, in_y = cells(y, box[..., 1], box[..., 3], size[..., 0])
    inside = np.broadcast_to(in_x & in_y & has_det, shape)
    flat = np.broadcast_to(offsets[det] + row * size[..., 1] + col, shape)
    # Gather first, convert after: only the sampled values are cast, not every cell of every grid.
    pred_i = np.where(inside, np.concatenate([np.asarray(lab).ravel() for lab in labels])[flat], 0).astype(np.int64)
    keep = pred_i > 0
    pred_u = np.concatenate([np.asarray(m)[0].ravel() for m in uv])[flat].astype(np.float64)
    pred_v = np.concatenate([np.asarray(m)[1].ravel() for m in uv])[flat].astype(np.float64)
    return pred_i, np.where(keep, pred_u, 0.0), np.where(keep, pred_v, 0.0)
