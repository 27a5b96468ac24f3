"""Person foreground masks in the image px frame, each stored on the pixel window of its own box, and their IoU.

Ground truth, as the reference evaluator builds it: the union of the 14 coarse ``dp_masks`` (256 x 256 in the
annotation's box frame) resized to int(w) x int(h) bilinearly (``scipy.ndimage.zoom``, order 1) and thresholded at
0.5, its cell (r, c) on image pixel (int(y) + r, int(x) + c); a person without them: its COCO ``segmentation``;
with neither: empty. Prediction: the cells of a result labelled 1..24, either pasted like that (``paste_cells``,
the reference's frame) or resampled at pixel centres over the exact box (``box_mask``, the cell-centre frame). A
mask is empty outside its box, so keeping only the box's window gives full-image IoUs at a fraction of the cost.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple, Optional, Sequence

import numpy as np
from pycocotools import mask as mask_utils
from scipy.ndimage import zoom

from densepose_ext.structures.box_grid import cell_index


class Window(NamedTuple):
    """Pixels [x0, x0 + width) x [y0, y0 + height) of an image (image px, integers)."""

    x0: int
    y0: int
    height: int
    width: int


class PixelMask(NamedTuple):
    """A full-image mask that is False outside ``window``: ``mask`` is (window.height, window.width) bool."""

    window: Window
    mask: np.ndarray


def boxes_window(boxes_xyxy: np.ndarray, image_size: tuple[int, int]) -> Window:
    """Smallest window holding every pixel that any of the (K, 4) XYXY boxes touches, clipped to the image."""
    height, width = image_size
    boxes = np.asarray(boxes_xyxy, dtype=np.float64).reshape(-1, 4)
    if boxes.size == 0:
        return Window(0, 0, 0, 0)
    x0 = min(max(0, math.floor(boxes[:, 0].min())), width)
    y0 = min(max(0, math.floor(boxes[:, 1].min())), height)
    x1 = max(min(width, math.ceil(boxes[:, 2].max())), x0)
    y1 = max(min(height, math.ceil(boxes[:, 3].max())), y0)
    return Window(x0, y0, y1 - y0, x1 - x0)


def paste_box_mask(mask: np.ndarray, box_xyxy: Sequence[float], window: Window) -> np.ndarray:
    """Resample a mask given in a box frame onto a window of the image.

    Args:
        mask: (h, w) bool/uint8 in the box frame: cell (r, c) covers image px
            [x0 + c (x1-x0)/w, x0 + (c+1) (x1-x0)/w) x [y0 + r (y1-y0)/h, ...).
        box_xyxy: (x0, y0, x1, y1) image px.
        window: the pixels to produce.
    Returns:
        (window.height, window.width) bool; pixels whose centre lies outside the box are False.
    """
    mask = np.asarray(mask)
    x0, y0, x1, y1 = (float(v) for v in box_xyxy)
    out = np.zeros((window.height, window.width), dtype=bool)
    h, w = mask.shape
    # Only the pixels whose span meets the box can have their centre inside it; those inside form one
    # contiguous block, filled by two 1-D gathers.
    rows = np.arange(max(window.y0, math.floor(y0)), min(window.y0 + window.height, math.ceil(y1)))
    cols = np.arange(max(window.x0, math.floor(x0)), min(window.x0 + window.width, math.ceil(x1)))
    src_rows, in_rows = cell_index(rows + 0.5, y0, y1, h)
    src_cols, in_cols = cell_index(cols + 0.5, x0, x1, w)
    rows, cols = rows[in_rows] - window.y0, cols[in_cols] - window.x0
    if rows.size and cols.size:
        out[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1] = mask[src_rows[in_rows]][:, src_cols[in_cols]]
    return out


def box_mask(mask: np.ndarray, box_xyxy: Sequence[float], image_size: tuple[int, int]) -> PixelMask:
    """A mask given in a box frame (see paste_box_mask) as a PixelMask on the box's window of the image."""
    window = boxes_window(np.asarray(box_xyxy, dtype=np.float64)[None], image_size)
    return PixelMask(window, paste_box_mask(mask, box_xyxy, window))


def paste_cells(mask: np.ndarray, bbox_xywh: Sequence[float], image_size: tuple[int, int]) -> PixelMask:
    """A mask whose cell (r, c) is image pixel (int(y) + r, int(x) + c), cut to the box and the image (the
    reference's ``_generate_rlemask_on_image``: columns up to min(int(x + w), image width, int(x) + mask width)).

    Args:
        mask: (h, w) bool/uint8.
        bbox_xywh: [x, y, w, h] image px.
        image_size: (height, width).
    """
    height, width = image_size
    x, y, w, h = (float(v) for v in bbox_xywh)
    x0, y0 = max(int(x), 0), max(int(y), 0)
    x1 = max(min(int(x + w), width, int(x) + mask.shape[1]), x0)
    y1 = max(min(int(y + h), height, int(y) + mask.shape[0]), y0)
    cells = np.asarray(mask, dtype=bool)[y0 - int(y) : y1 - int(y), x0 - int(x) : x1 - int(x)]
    return PixelMask(Window(x0, y0, y1 - y0, x1 - x0), cells)


def _dp_mask_union(dp_masks: list, where: str) -> np.ndarray:
    """(256, 256) float64 0/1: the union of the coarse part RLEs (the reference's getDensePoseMask, clipped to 1)."""
    parts = [rle for rle in dp_masks[:14] if rle]
    if not parts:
        return np.zeros((256, 256))
    union = mask_utils.decode(mask_utils.merge(parts, intersect=False))
    if union.shape != (256, 256):
        raise ValueError(f"{where}: field dp_masks: expected 256x256 RLEs, got {union.shape}")
    return union.astype(np.float64)


def gt_foreground(ann: dict[str, Any], image_size: tuple[int, int], where: str) -> PixelMask:
    """Foreground of a ground-truth person or crowd (module docstring), on the smallest window holding it.

    Args:
        ann: a DensePose-COCO annotation (bbox XYWH, and dp_masks or segmentation).
        image_size: (height, width) of the image.
        where: names the annotation in error messages (file and annotation id).
    """
    bx, by, bw, bh = (float(v) for v in ann["bbox"])
    if "dp_masks" in ann:
        union = _dp_mask_union(ann["dp_masks"], where)
        scale = (max(bh, 1.0) / union.shape[0], max(bw, 1.0) / union.shape[1])
        return paste_cells(zoom(union, scale, order=1, prefilter=False) > 0.5, ann["bbox"], image_size)
    segm = ann.get("segmentation")
    if not segm:
        return PixelMask(Window(0, 0, 0, 0), np.zeros((0, 0), bool))
    height, width = image_size
    if isinstance(segm, list):
        rle = mask_utils.merge(mask_utils.frPyObjects(segm, height, width))
    elif isinstance(segm.get("counts"), list):
        rle = mask_utils.frPyObjects(segm, height, width)
    else:
        rle = segm
    full = mask_utils.decode(rle).astype(bool)
    if full.shape != (height, width):
        raise ValueError(
            f"{where}: field segmentation: expected an RLE of the {height}x{width} image, got {full.shape}"
        )
    rows, cols = np.flatnonzero(full.any(axis=1)), np.flatnonzero(full.any(axis=0))
    if not len(rows):
        return PixelMask(Window(0, 0, 0, 0), np.zeros((0, 0), bool))
    window = Window(int(cols[0]), int(rows[0]), int(rows[-1] - rows[0] + 1), int(cols[-1] - cols[0] + 1))
    return PixelMask(window, full[window.y0 : window.y0 + window.height, window.x0 : window.x0 + window.width])


def _overlap(a: Window, b: Window) -> tuple[slice, slice, slice, slice]:
    """Row/column slices of the pixels two windows share, in a's and in b's coordinates."""
    x0, y0 = max(a.x0, b.x0), max(a.y0, b.y0)
    x1, y1 = min(a.x0 + a.width, b.x0 + b.width), min(a.y0 + a.height, b.y0 + b.height)
    x1, y1 = max(x1, x0), max(y1, y0)
    return (
        slice(y0 - a.y0, y1 - a.y0),
        slice(x0 - a.x0, x1 - a.x0),
        slice(y0 - b.y0, y1 - b.y0),
        slice(x0 - b.x0, x1 - b.x0),
    )


def mask_iou(dt_masks: Sequence[PixelMask], gt_masks: Sequence[PixelMask],
             iscrowd: Optional[Sequence[int]] = None) -> np.ndarray:
    """IoU of every detection mask with every ground-truth mask: (D, G) float64. For a crowd (``iscrowd[g]``) it
    is intersection / detection area, pycocotools' rule.

    Intersections are counted only where the two windows overlap (a loop over the D x G pairs, never pixels)."""
    dt_area = np.array([np.count_nonzero(m.mask) for m in dt_masks], dtype=np.float64)
    gt_area = np.array([np.count_nonzero(m.mask) for m in gt_masks], dtype=np.float64)
    inter = np.zeros((len(dt_masks), len(gt_masks)))
    for d, dt in enumerate(dt_masks):
        for g, gt in enumerate(gt_masks):
            ar, ac, br, bc = _overlap(dt.window, gt.window)
            inter[d, g] = np.count_nonzero(dt.mask[ar, ac] & gt.mask[br, bc])
    union = dt_area[:, None] + gt_area[None, :] - inter
    crowd = np.zeros(len(gt_masks), bool) if iscrowd is None else np.asarray(iscrowd, dtype=bool)
    union = np.where(crowd[None, :], dt_area[:, None], union)
    return np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)
