import numpy as np
import pytest
import torch
from detectron2.structures import BoxMode

from densepose_ext.data.annotation import decode_coarse_masks, densepose_targets_from_annotation

from .helpers import coarse_masks_example, rle


def test_box256_points_to_image_px_by_hand():
    # bbox x=10, y=20, w=64, h=128: image x = 10 + dp_x * 64 / 256 = 10 + dp_x / 4, image y = 20 + dp_y / 2.
    ann = {
        "bbox": [10.0, 20.0, 64.0, 128.0],
        "dp_x": [0.0, 128.0, 255.0, 2.0], "dp_y": [0.0, 64.0, 255.0, 250.0],
        "dp_I": [1.0, 24.0, 7.0, 12.0], "dp_U": [0.0, 0.5, 1.0, 0.25], "dp_V": [1.0, 0.5, 0.0, 0.75],
    }
    t = densepose_targets_from_annotation(ann)
    assert t.x.tolist() == [10.0, 42.0, 73.75, 10.5]
    assert t.y.tolist() == [20.0, 52.0, 147.5, 145.0]
    assert t.i.tolist() == [1, 24, 7, 12] and t.i.dtype == torch.int64
    assert t.u.tolist() == [0.0, 0.5, 1.0, 0.25] and t.v.tolist() == [1.0, 0.5, 0.0, 0.75]
    assert t.mask_box.tolist() == [10.0, 20.0, 74.0, 148.0]
    assert t.coarse_masks is None


def test_bbox_mode_of_dataset_dicts_is_honoured():
    # A user loader may give XYXY boxes: same box as above, same points.
    ann = {"bbox": [10.0, 20.0, 74.0, 148.0], "bbox_mode": BoxMode.XYXY_ABS,
           "dp_x": [128.0], "dp_y": [64.0], "dp_I": [3.0], "dp_U": [0.5], "dp_V": [0.5]}
    t = densepose_targets_from_annotation(ann)
    assert (t.x.item(), t.y.item()) == (42.0, 52.0)
    assert t.mask_box.tolist() == [10.0, 20.0, 74.0, 148.0]


def test_annotation_without_densepose_gives_none_and_masks_alone_give_no_points():
    assert densepose_targets_from_annotation({"bbox": [0, 0, 5, 5]}) is None
    t = densepose_targets_from_annotation({"bbox": [0, 0, 5, 5], "dp_masks": coarse_masks_example()})
    assert len(t) == 0 and t.i.dtype == torch.int64
    assert t.coarse_masks.shape == (256, 256)


def test_coarse_masks_decode_with_later_parts_winning():
    labels = decode_coarse_masks(coarse_masks_example()).numpy()
    expected = np.zeros((256, 256), np.uint8)
    expected[:, :128] = 1
    expected[:128, 128:] = 2
    expected[:64, 96:160] = 14  # head (part 14) overlaps torso and hand and is decoded last
    np.testing.assert_array_equal(labels, expected)
    assert labels.dtype == np.uint8


def test_uncompressed_rle_decodes_like_compressed():
    mask = np.zeros((256, 256), bool)
    mask[10:20, 30:40] = True
    # Column-major run lengths: 30 columns of zeros, then 10 columns of (10 zeros, 10 ones, 236 zeros).
    counts = [30 * 256 + 10] + [10, 246] * 9 + [10, 236 + (256 - 40) * 256]
    entries = [[] for _ in range(14)]
    entries[3] = {"size": [256, 256], "counts": counts}
    compressed = [[] for _ in range(14)]
    compressed[3] = rle(mask)
    assert torch.equal(decode_coarse_masks(entries), decode_coarse_masks(compressed))
    assert int((decode_coarse_masks(entries) == 4).sum()) == 100


@pytest.mark.parametrize("empty", [[], {}])
def test_empty_mask_entries(empty):
    assert int(decode_coarse_masks([empty] * 14).sum()) == 0


@pytest.mark.parametrize("seed", [0, 1])
def test_coarse_mask_decoding_equals_part_by_part_overwrite(seed):
    # Reference: paint the parts in file order, each overwriting the earlier ones (the reference project's loop).
    rng = np.random.default_rng(seed)
    entries, expected = [], np.zeros((256, 256), np.uint8)
    for part in range(1, 15):
        if rng.random() < 0.3:
            entries.append([])
            continue
        y0, x0 = rng.integers(0, 200, 2)
        h, w = rng.integers(1, 120, 2)
        mask = np.zeros((256, 256), bool)
        mask[y0:y0 + h, x0:x0 + w] = True
        entries.append(rle(mask))
        expected[mask] = part
    np.testing.assert_array_equal(decode_coarse_masks(entries).numpy(), expected)
