"""Teacher input preparation: scale-normalised person crops with the background grayed out.

Frames: boxes are XYXY image px; a crop is the box frame at S x S (the ROI SxS frame of the box, see
densepose_ext/modeling/losses.py): crop cell (r, c) covers the image-px rectangle
[x0 + c w / S, x0 + (c + 1) w / S) x [y0 + r h / S, y0 + (r + 1) h / S). Every person, small or large, is
resampled to the same S x S (its box aspect ratio is not kept), which is the scale normalisation of the
paper's teacher (Sec. 3.4).
"""
from __future__ import annotations

from typing import Sequence

import torch
from torchvision.ops import roi_align

from densepose_ext.modeling.losses import resample_masks_to_rois


def person_masks_in_boxes(
    coarse_masks: torch.Tensor, mask_boxes: torch.Tensor, boxes: torch.Tensor, size: int
) -> torch.Tensor:
    """Person masks (any coarse part > 0) resampled into the S x S frames of `boxes`.

    Args:
        coarse_masks: (N, 256, 256) uint8 coarse labels 0..14, each covering `mask_boxes[n]` (XYXY image px).
        mask_boxes, boxes: (N, 4) XYXY image px.
        size: S.
    Returns:
        (N, S, S) bool, True on person cells (nearest neighbour; False outside the mask box).
    """
    return resample_masks_to_rois(coarse_masks, mask_boxes, boxes, size) > 0


def crop_cell_centres(box: torch.Tensor, size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Image px of the cell centres of an S x S crop of `box` (4,) XYXY: xs (S,) and ys (S,), in box's dtype."""
    centres = (torch.arange(size, dtype=box.dtype) + 0.5) / size
    return box[0] + centres * (box[2] - box[0]), box[1] + centres * (box[3] - box[1])


def person_crops(
    images: torch.Tensor, image_index: torch.Tensor, boxes: torch.Tensor, person_masks: torch.Tensor
) -> torch.Tensor:
    """Bilinear S x S crops of person boxes with every non-person cell set to 0 (uniform gray).

    Args:
        images: (B, C, H, W) float, normalised (image - PIXEL_MEAN) / PIXEL_STD, so 0 is the mean colour:
            a uniform gray that carries no information about the scene.
        image_index: (N,) int64 in [0, B), the image of each box.
        boxes: (N, 4) XYXY image px.
        person_masks: (N, S, S) bool, crop frame (see `person_masks_in_boxes`).
    Returns:
        (N, C, S, S) crops, crop frame.
    """
    size = person_masks.shape[-1]
    if boxes.shape[0] == 0:
        return images.new_zeros((0, images.shape[1], size, size))
    rois = torch.cat([image_index[:, None].to(images.dtype), boxes.to(images.dtype)], dim=1)
    # aligned=True: image px with pixel centres at +0.5, as in the crop frame above.
    crops = roi_align(images, rois, output_size=size, spatial_scale=1.0, sampling_ratio=2, aligned=True)
    return crops * person_masks[:, None].to(crops.dtype)


def stack_boxes(per_image: Sequence[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """Concatenate per-image (N_b, 4) boxes -> (N, 4) boxes and (N,) int64 image index."""
    counts = torch.tensor([len(b) for b in per_image])
    index = torch.repeat_interleave(torch.arange(len(per_image)), counts)
    boxes = torch.cat(list(per_image)) if per_image else torch.zeros((0, 4))
    return boxes, index
