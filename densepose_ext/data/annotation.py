"""From one DensePose-COCO annotation (box-256 frame) to `DensePoseTargets` in image px of the untransformed image.

Frames: `dp_x`, `dp_y` are in the box-256 frame, [0, 256) relative to the top-left of `bbox`;
image x = bbox_x + dp_x * bbox_w / 256 (and likewise y), continuous image px (pixel centres at +0.5), the
same factor 256 in training and evaluation (docs/DATA.md, "What the mapper produces"). The 14 `dp_masks` RLEs (256x256, box frame) become
one label image (0 background, 1..14 coarse parts, see surface/parts.py) over the box.
"""
from __future__ import annotations

from typing import Optional, Sequence, Tuple

import numpy as np
import pycocotools.mask as mask_util
import torch
from detectron2.structures import BoxMode

from densepose_ext.structures.targets import DensePoseTargets

from .validate import DP_MASK_SIZE


def box256_to_image(
    dp_x: Sequence[float], dp_y: Sequence[float], bbox_xywh: Sequence[float]
) -> Tuple[np.ndarray, np.ndarray]:
    """Box-256 point coordinates -> image px: x = bbox_x + dp_x * bbox_w / 256, y likewise.

    Args:
        dp_x, dp_y: (P,) box-256 frame, [0, 256).
        bbox_xywh: the annotation's box [x, y, w, h], image px.
    Returns:
        x, y: (P,) float64 image px.
    """
    bx, by, bw, bh = (float(c) for c in bbox_xywh)
    x = bx + np.asarray(dp_x, dtype=np.float64) * (bw / DP_MASK_SIZE)
    y = by + np.asarray(dp_y, dtype=np.float64) * (bh / DP_MASK_SIZE)
    return x, y


def decode_coarse_masks(dp_masks: Sequence) -> torch.Tensor:
    """Tensor[256, 256] uint8 coarse labels 0..14 (box frame) from the 14 `dp_masks` entries.

    Entry k (0-based) is the RLE of coarse part k + 1 or empty. Where parts overlap the later part wins, as in
    the reference implementation, so both read a file the same way: that is the largest label covering a
    pixel, so one max over the decoded stack gives it.
    """
    parts = [part for part, rle in enumerate(dp_masks, start=1) if rle]
    if not parts:
        return torch.zeros((DP_MASK_SIZE, DP_MASK_SIZE), dtype=torch.uint8)
    # pycocotools decodes compressed RLE only: convert uncompressed run-length lists first.
    rles = [
        mask_util.frPyObjects(rle, DP_MASK_SIZE, DP_MASK_SIZE) if isinstance(rle["counts"], list) else rle
        for rle in (dp_masks[part - 1] for part in parts)
    ]
    stack = mask_util.decode(rles)  # (256, 256, K) uint8 in {0, 1}
    labels = (stack * np.array(parts, dtype=np.uint8)).max(axis=2)
    return torch.from_numpy(np.ascontiguousarray(labels))


def densepose_targets_from_annotation(annotation: dict) -> Optional[DensePoseTargets]:
    """DensePose targets of one annotation, in image px of the image the annotation refers to.

    Args:
        annotation: a COCO annotation with `bbox` (in `bbox_mode`, default XYWH_ABS as in the JSON) and optional
            dp_x, dp_y, dp_I, dp_U, dp_V (checked beforehand by validate.densepose_annotation_problems) and
            dp_masks.
    Returns:
        None when the annotation has neither points nor dp_masks; otherwise targets with P points (P may be 0
        when only dp_masks exist) and `mask_box` = the annotation box as XYXY image px.
    """
    has_points, has_masks = "dp_x" in annotation, "dp_masks" in annotation
    if not has_points and not has_masks:
        return None
    x0, y0, w, h = BoxMode.convert(
        list(annotation["bbox"]), annotation.get("bbox_mode", BoxMode.XYWH_ABS), BoxMode.XYWH_ABS
    )
    if has_points:
        x, y = box256_to_image(annotation["dp_x"], annotation["dp_y"], (x0, y0, w, h))
        x, y = torch.from_numpy(x).float(), torch.from_numpy(y).float()
        # dp_I holds integer-valued floats in the JSON.
        i = torch.tensor(annotation["dp_I"], dtype=torch.float64).round().long()
        u, v = (torch.tensor(annotation[f], dtype=torch.float32) for f in ("dp_U", "dp_V"))
    else:
        x = y = u = v = torch.zeros(0, dtype=torch.float32)
        i = torch.zeros(0, dtype=torch.int64)
    return DensePoseTargets(
        x=x,
        y=y,
        i=i,
        u=u,
        v=v,
        coarse_masks=decode_coarse_masks(annotation["dp_masks"]) if has_masks else None,
        mask_box=torch.tensor([x0, y0, x0 + w, y0 + h], dtype=torch.float32),
    )
