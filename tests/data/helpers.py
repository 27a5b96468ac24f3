"""A tiny DensePose-COCO dataset built in code, with known answers, for the data tests.

Image 1 (W x H = 80 x 60): person 11 with points and coarse masks, person 12 without DensePose fields,
crowd region 13. Image 2 (40 x 30): person 21 with points, no dp_masks.
"""
from __future__ import annotations

import copy
import json
import os

import numpy as np
import pycocotools.mask as mask_util
from PIL import Image

from densepose_ext.surface.parts import FINE_PART_MIRROR

IMAGE_SIZES = {1: (80, 60), 2: (40, 30)}  # id -> (width, height)


def rle(mask: np.ndarray) -> dict:
    """JSON-safe compressed COCO RLE of a binary mask (as in DensePose-COCO files)."""
    encoded = mask_util.encode(np.asfortranarray(mask.astype(np.uint8)))
    return {"size": list(encoded["size"]), "counts": encoded["counts"].decode("ascii")}


def coarse_masks_example() -> list:
    """14 dp_masks entries: part 1 (torso) fills the left half of the box frame, part 2 (right hand) the
    top-right quarter, part 14 (head) a block overlapping part 1 (rows 0..63, columns 96..159); others empty."""
    masks = [[] for _ in range(14)]
    torso = np.zeros((256, 256), bool)
    torso[:, :128] = True
    hand = np.zeros((256, 256), bool)
    hand[:128, 128:] = True
    head = np.zeros((256, 256), bool)
    head[:64, 96:160] = True
    masks[0], masks[1], masks[13] = rle(torso), rle(hand), rle(head)
    return masks


def _person(ann_id: int, image_id: int, bbox: list, points: dict = None, masks: list = None) -> dict:
    x, y, w, h = bbox
    ann = {
        "id": ann_id, "image_id": image_id, "category_id": 1, "bbox": bbox, "area": float(w * h), "iscrowd": 0,
        "segmentation": [[x, y, x + w, y, x + w, y + h, x, y + h]],
        # 17 COCO keypoints: left_eye (index 1) and right_eye (index 2) visible, the rest unlabelled.
        "keypoints": [0] * 3 + [x + 1, y + 1, 2] + [x + w - 2, y + 1, 2] + [0] * 42,
        "num_keypoints": 2,
    }
    if points is not None:
        ann.update(points)
    if masks is not None:
        ann["dp_masks"] = masks
    return ann


def tiny_densepose_coco() -> dict:
    """The parsed JSON of the tiny dataset (a new copy each call)."""
    points_11 = {
        "dp_x": [0.0, 128.0, 200.0, 255.5],
        "dp_y": [0.0, 64.0, 128.0, 250.0],
        "dp_I": [1.0, 3.0, 15.0, 24.0],
        "dp_U": [0.1, 0.5, 0.25, 1.0],
        "dp_V": [0.2, 0.0, 0.75, 0.5],
    }
    points_21 = {"dp_x": [64.0, 192.0], "dp_y": [128.0, 32.0], "dp_I": [5.0, 20.0], "dp_U": [0.3, 0.6],
                 "dp_V": [0.9, 0.4]}
    crowd = _person(13, 1, [0.0, 0.0, 10.0, 10.0])
    crowd["iscrowd"] = 1
    return copy.deepcopy({
        "images": [
            {"id": i, "file_name": f"{i:06d}.png", "width": w, "height": h} for i, (w, h) in IMAGE_SIZES.items()
        ],
        "annotations": [
            _person(11, 1, [8.0, 4.0, 64.0, 48.0], points_11, coarse_masks_example()),
            _person(12, 1, [50.0, 30.0, 20.0, 25.0]),
            crowd,
            _person(21, 2, [4.0, 2.0, 32.0, 24.0], points_21),
        ],
        "categories": [{"id": 1, "name": "person", "supercategory": "person"}],
    })


def write_dataset(root: str, data: dict = None) -> str:
    """Writes annotations.json and images/ (random RGB PNGs of the listed sizes) under `root`; returns the JSON path."""
    data = tiny_densepose_coco() if data is None else data
    os.makedirs(os.path.join(root, "images"), exist_ok=True)
    rng = np.random.default_rng(0)
    for img in data["images"]:
        pixels = rng.integers(0, 255, size=(img["height"], img["width"], 3), dtype=np.uint8)
        Image.fromarray(pixels).save(os.path.join(root, "images", img["file_name"]))
    path = os.path.join(root, "annotations.json")
    with open(path, "w") as f:
        json.dump(data, f)
    return path


class FakeSurface:
    """Stands in for densepose_ext.surface.get_surface() with a mirror map known in closed form:
    I -> FINE_PART_MIRROR[I], U -> 1 - U, V -> V (an involution, like the real one)."""

    def mirror_iuv(self, i, u, v):
        i, u, v = np.asarray(i), np.asarray(u), np.asarray(v)
        return FINE_PART_MIRROR[i], 1.0 - u, v.copy()
