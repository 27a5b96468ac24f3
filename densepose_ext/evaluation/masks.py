"""Person foreground masks in the image px frame, as COCO RLEs, and their IoU (pycocotools).

Ground truth: the union of the 14 coarse ``dp_masks`` (256 x 256 in the annotation's box frame) or, for a person
without them, its COCO ``segmentation``. Prediction: the cells of a result labelled 1..24 (box frame at box
resolution). Both are pasted into the image with nearest-neighbour sampling at pixel centres (x + 0.5).
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np
from pycocotools import mask as mask_utils

from densepose_ext.evaluation.sampling import cell_index


def paste_box_mask(mask: np.ndarray, box_xyxy: Sequence[float], height: int, width: int) -> np.ndarray:
    """Resample a mask given in a box frame into the image frame.

    Args:
        mask: (h, w) bool/uint8 in the box frame: cell (r, c) covers image px
            [x0 + c (x1-x0)/w, x0 + (c+1) (x1-x0)/w) x [y0 + r (y1-y0)/h, ...).
        box_xyxy: (x0, y0, x1, y1) image px.
        height, width: image size.
    Returns:
        (height, width) bool image mask; pixels whose centre lies outside the box are False.
    """
    mask = np.asarray(mask).astype(bool)
    x0, y0, x1, y1 = (float(v) for v in box_xyxy)
    out = np.zeros((height, width), dtype=bool)
    h, w = mask.shape
    # Only the pixels whose span meets the box can have their centre inside it.
    rows = np.arange(max(0, int(np.floor(y0))), min(height, int(np.ceil(y1))))
    cols = np.arange(max(0, int(np.floor(x0))), min(width, int(np.ceil(x1))))
    src_rows, in_rows = cell_index(rows + 0.5, y0, y1, h)
    src_cols, in_cols = cell_index(cols + 0.5, x0, x1, w)
    rows, src_rows, cols, src_cols = rows[in_rows], src_rows[in_rows], cols[in_cols], src_cols[in_cols]
    out[np.ix_(rows, cols)] = mask[np.ix_(src_rows, src_cols)]
    return out


def encode_masks(masks: Sequence[np.ndarray]) -> list[dict]:
    """(height, width) bool image masks -> COCO RLEs (one pycocotools call)."""
    if not masks:
        return []
    stack = np.asfortranarray(np.stack(masks, axis=-1).astype(np.uint8))
    return mask_utils.encode(stack)


def gt_foreground(ann: dict[str, Any], height: int, width: int, where: str) -> np.ndarray:
    """Foreground of a ground-truth person in the image frame.

    Args:
        ann: a DensePose-COCO annotation (bbox XYWH, and dp_masks or segmentation).
        where: names the annotation in error messages (file and annotation id).
    Returns:
        (height, width) bool.
    """
    dp_masks = ann.get("dp_masks")
    if dp_masks:
        parts = [mask_utils.decode(rle) for rle in dp_masks if rle]
        if not parts:
            raise ValueError(f"{where}: field dp_masks: expected at least one non-empty part RLE, got none")
        union = np.any(np.stack(parts), axis=0)
        if union.shape != (256, 256):
            raise ValueError(f"{where}: field dp_masks: expected 256x256 RLEs, got {union.shape}")
        bx, by, bw, bh = (float(v) for v in ann["bbox"])
        return paste_box_mask(union, (bx, by, bx + bw, by + bh), height, width)
    segm = ann.get("segmentation")
    if not segm:
        raise ValueError(f"{where}: expected field dp_masks or segmentation for the mask IoU, got neither")
    if isinstance(segm, list):
        rle = mask_utils.merge(mask_utils.frPyObjects(segm, height, width))
    elif isinstance(segm.get("counts"), list):
        rle = mask_utils.frPyObjects(segm, height, width)
    else:
        rle = segm
    return mask_utils.decode(rle).astype(bool)


def mask_iou(dt_rles: list[dict], gt_rles: list[dict]) -> np.ndarray:
    """IoU of every detection mask with every ground-truth mask: (D, G) float64."""
    if not dt_rles or not gt_rles:
        return np.zeros((len(dt_rles), len(gt_rles)))
    return np.asarray(mask_utils.iou(dt_rles, gt_rles, [0] * len(gt_rles)), dtype=np.float64)
