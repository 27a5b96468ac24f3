"""A one-person image with hand-made dense labels, shared by the label and mapper tests."""
import numpy as np
from detectron2.structures import BoxMode
from PIL import Image
from pycocotools import mask as mask_utils

from densepose_ext.teacher.labels import merge_index, write_image_labels

# Person box, XYWH image px, in an 80 x 60 image.
BOX_XYWH = [8.0, 4.0, 64.0, 48.0]
SIZE = 8  # crop side S of the hand-made labels


def hand_labels():
    """(S, S) labels (part 2 on the left half, 0 on the right) and (2, S, S) uv (U = col / S, V = row / S)."""
    labels = np.zeros((SIZE, SIZE), np.uint8)
    labels[:, : SIZE // 2] = 2
    rows, cols = np.mgrid[0:SIZE, 0:SIZE]
    uv = np.stack([cols / SIZE, rows / SIZE]) * (labels > 0)
    return labels, uv


def coarse_rles():
    """dp_masks: torso (coarse part 1) on the left half of the box frame, other parts absent."""
    mask = np.zeros((256, 256), np.uint8, order="F")
    mask[:, :128] = 1
    rle = mask_utils.encode(np.asfortranarray(mask))
    rle["counts"] = rle["counts"].decode("ascii")
    return [rle] + [[] for _ in range(13)]


def write_example(root):
    """Writes the image and a labels directory under `root`; returns (dataset dict, labels dir)."""
    image_path = root / "image.png"
    Image.fromarray(np.full((60, 80, 3), 90, np.uint8)).save(str(image_path))
    x, y, w, h = BOX_XYWH
    labels, uv = hand_labels()
    out = root / "labels"
    write_image_labels(out, 1, {7: {"box": [x, y, x + w, y + h], "labels": labels, "uv": uv}})
    merge_index(out, SIZE, "hand")
    anno = {
        "id": 7, "bbox": list(BOX_XYWH), "bbox_mode": BoxMode.XYWH_ABS, "category_id": 0, "iscrowd": 0,
        "dp_x": [16.0, 32.0, 48.0], "dp_y": [100.0, 120.0, 140.0], "dp_I": [2.0, 2.0, 2.0],
        "dp_U": [0.1, 0.2, 0.3], "dp_V": [0.5, 0.5, 0.5], "dp_masks": coarse_rles(),
    }
    dataset_dict = {"file_name": str(image_path), "height": 60, "width": 80, "image_id": 1, "annotations": [anno]}
    return dataset_dict, out
