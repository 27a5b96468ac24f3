"""Foreground masks in the image frame and their IoU."""
import numpy as np
import pytest

from densepose_ext.evaluation.masks import encode_masks, gt_foreground, mask_iou, paste_box_mask

from .synthetic import MASK_RECT, make_person


def paste_reference(mask, box, height, width):
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
    out = paste_box_mask(np.array([[1, 0], [0, 1]]), (1, 1, 5, 3), 4, 6)
    expected = np.zeros((4, 6), bool)
    expected[1, 1:3] = True
    expected[2, 3:5] = True
    np.testing.assert_array_equal(out, expected)


@pytest.mark.parametrize("box", [(2.3, 1.7, 17.9, 11.2), (-5, -3, 8, 30), (10, 10, 10.4, 10.4), (5, 5, 3, 8)])
def test_paste_equals_reference_loop(box):
    mask = np.random.default_rng(0).random((7, 9)) > 0.5
    np.testing.assert_array_equal(paste_box_mask(mask, box, 20, 25), paste_reference(mask, box, 20, 25))


def test_gt_foreground_from_dp_masks_and_from_segmentation():
    ann = make_person(1, 1, [8, 4, 64, 32], 5, seed=0)
    fg = gt_foreground(ann, 50, 80, "gt.json annotation 1")
    y0, y1, x0, x1 = MASK_RECT  # box-256 rows 64:192, cols 32:224 -> image rows 12:28, cols 16:64
    expected = np.zeros((50, 80), bool)
    expected[4 + y0 * 32 // 256 : 4 + y1 * 32 // 256, 8 + x0 * 64 // 256 : 8 + x1 * 64 // 256] = True
    np.testing.assert_array_equal(fg, expected)
    polygon = {"bbox": ann["bbox"], "segmentation": [[16, 12, 64, 12, 64, 28, 16, 28]]}
    iou = mask_iou(encode_masks([gt_foreground(polygon, 50, 80, "x")]), encode_masks([fg]))
    assert iou[0, 0] > 0.9  # polygon rasterisation differs from the pixel-centre rule only on the border


def test_gt_foreground_needs_a_mask():
    with pytest.raises(ValueError, match="gt.json annotation 7.*dp_masks or segmentation"):
        gt_foreground({"bbox": [0, 0, 5, 5]}, 10, 10, "gt.json annotation 7")


def test_mask_iou_known_values_and_empty():
    a = np.zeros((10, 10), bool)
    a[:, :5] = True
    b = np.zeros((10, 10), bool)
    b[:, 2:7] = True
    np.testing.assert_allclose(mask_iou(encode_masks([a, b]), encode_masks([a])), [[1.0], [30 / 70]])
    assert mask_iou([], encode_masks([a])).shape == (0, 1)
