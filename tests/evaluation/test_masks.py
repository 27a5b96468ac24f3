"""Foreground masks on an image window and their IoU."""

import numpy as np
import pytest
from pycocotools import mask as mask_utils

from densepose_ext.evaluation.masks import (
    PixelMask,
    Window,
    box_mask,
    boxes_window,
    gt_foreground,
    mask_iou,
    paste_box_mask,
)

from .synthetic import MASK_RECT, make_person


def paste_reference(mask, box, height, width):
    """Per-pixel loop over the whole image: pixel centre inside the box -> nearest box-frame cell."""
    out = np.zeros((height, width), bool)
    x0, y0, x1, y1 = box
    h, w = mask.shape
    for r in range(height):
        for c in range(width):
            cx, cy = c + 0.5, r + 0.5
            if x0 <= cx < x1 and y0 <= cy < y1:
                out[r, c] = mask[int((cy - y0) / (y1 - y0) * h), int((cx - x0) / (x1 - x0) * w)]
    return out


def test_paste_known_answer_upsampling():
    out = paste_box_mask(np.array([[1, 0], [0, 1]]), (1, 1, 5, 3), Window(0, 0, 4, 6))
    expected = np.zeros((4, 6), bool)
    expected[1, 1:3] = True
    expected[2, 3:5] = True
    np.testing.assert_array_equal(out, expected)


@pytest.mark.parametrize("box", [(2.3, 1.7, 17.9, 11.2), (-5, -3, 8, 30), (10, 10, 10.4, 10.4), (5, 5, 3, 8)])
@pytest.mark.parametrize("window", [Window(0, 0, 20, 25), Window(3, 2, 9, 13)])
def test_paste_equals_reference_loop_on_any_window(box, window):
    mask = np.random.default_rng(0).random((7, 9)) > 0.5
    full = paste_reference(mask, box, 20, 25)
    expected = full[window.y0 : window.y0 + window.height, window.x0 : window.x0 + window.width]
    np.testing.assert_array_equal(paste_box_mask(mask, box, window), expected)


def test_boxes_window_covers_every_touched_pixel_and_clips():
    assert boxes_window(np.array([[2.5, 3.2, 10.1, 8.0], [5, 1, 7, 4]]), (100, 100)) == Window(2, 1, 7, 9)
    assert boxes_window(np.array([[-4, -4, 200, 50]]), (40, 60)) == Window(0, 0, 40, 60)
    assert boxes_window(np.zeros((0, 4)), (40, 60)) == Window(0, 0, 0, 0)


def full_image(m: PixelMask, height: int, width: int) -> np.ndarray:
    out = np.zeros((height, width), bool)
    w = m.window
    out[w.y0 : w.y0 + w.height, w.x0 : w.x0 + w.width] = m.mask
    return out


def test_gt_foreground_from_dp_masks_and_from_segmentation():
    ann = make_person(1, 1, [8, 4, 64, 32], 5, seed=0)
    fg = gt_foreground(ann, (50, 80), "gt.json annotation 1")
    assert fg.window == Window(8, 4, 32, 64)
    y0, y1, x0, x1 = MASK_RECT  # box-256 rows 64:192, cols 32:224 -> image rows 12:28, cols 16:64
    expected = np.zeros((50, 80), bool)
    expected[4 + y0 * 32 // 256 : 4 + y1 * 32 // 256, 8 + x0 * 64 // 256 : 8 + x1 * 64 // 256] = True
    np.testing.assert_array_equal(full_image(fg, 50, 80), expected)
    # The same person described by a COCO RLE of that foreground gives the same mask.
    rle = mask_utils.encode(np.asfortranarray(expected.astype(np.uint8)))
    from_segm = gt_foreground({"bbox": ann["bbox"], "segmentation": rle}, (50, 80), "x")
    np.testing.assert_array_equal(full_image(from_segm, 50, 80), expected)
    polygon = {"bbox": ann["bbox"], "segmentation": [[16, 12, 64, 12, 64, 28, 16, 28]]}
    iou = mask_iou([gt_foreground(polygon, (50, 80), "x")], [fg])
    assert iou[0, 0] > 0.9  # polygon rasterisation differs from the pixel-centre rule only on the border


def test_gt_foreground_without_any_mask_is_empty():
    # The reference's rule: such a person has an empty foreground, IoU 0 with anything.
    empty = gt_foreground({"bbox": [0, 0, 5, 5]}, (10, 10), "gt.json annotation 7")
    assert not empty.mask.any()
    full = box_mask(np.ones((5, 5), bool), (0, 0, 5, 5), (10, 10))
    assert mask_iou([full], [empty])[0, 0] == 0.0


def test_mask_iou_equals_full_image_pycocotools_iou():
    # Masks on their own box windows vs the same masks as full-image RLEs (pycocotools).
    rng = np.random.default_rng(0)
    size = (40, 60)
    boxes = [(2.5, 3, 30, 25), (10, 8, 58.5, 39), (40, 0, 60, 12), (0, 30, 5, 40)]
    masks = [box_mask(rng.random((7, 9)) > 0.3, box, size) for box in boxes]
    full = [full_image(m, *size) for m in masks]
    rles = mask_utils.encode(np.asfortranarray(np.stack(full, -1).astype(np.uint8)))
    np.testing.assert_allclose(mask_iou(masks, masks[1:]), mask_utils.iou(rles, rles[1:], [0, 0, 0]), rtol=1e-12)
    a = box_mask(np.ones((1, 1), bool), (0, 0, 5, 10), (10, 10))
    b = box_mask(np.ones((1, 1), bool), (2, 0, 7, 10), (10, 10))
    np.testing.assert_allclose(mask_iou([a, b], [a]), [[1.0], [30 / 70]])
    assert mask_iou([], [a]).shape == (0, 1)
    empty = box_mask(np.zeros((1, 1), bool), (0, 0, 3, 3), (10, 10))
    assert mask_iou([empty], [empty])[0, 0] == 0.0
