"""Small DensePose-COCO 2014 files in the published format and the reference's layout, written with json and PIL.

Layout under ROOT (what $DENSEPOSE_DATA points at, docs/DATA.md):
    coco/annotations/densepose_{train,minival,valminusminival}2014.json, densepose_minival2014_100.json,
    coco/annotations/densepose_coco_2014_test.json (image list only, no "annotations")
    coco/{train2014,val2014,test2015}/COCO_<folder>_<12-digit id>.jpg

The quirks of the published files are kept: `info`/`licenses`, images with coco_url/flickr_url/date_captured/license,
the person category with its 17 keypoint names and skeleton, dp_I as floats, dp_masks lists with [] for absent parts
(compressed RLE strings otherwise), people without DensePose points (keypoints only), crowd regions with an
uncompressed RLE segmentation, and val2014 image folders shared by minival and valminusminival.
"""
from __future__ import annotations

import json
import os

import numpy as np
import pycocotools.mask as mask_util
from detectron2.data.datasets.builtin_meta import COCO_PERSON_KEYPOINT_NAMES
from PIL import Image

HEIGHT, WIDTH = 96, 128
SPLITS = {  # annotation file -> (image folder, image ids)
    "densepose_train2014.json": ("train2014", [36, 49]),
    "densepose_valminusminival2014.json": ("val2014", [192]),
    "densepose_minival2014.json": ("val2014", [139, 785]),
    "densepose_minival2014_100.json": ("val2014", [139]),
}
TEST_FILE, TEST_FOLDER, TEST_IDS = "densepose_coco_2014_test.json", "test2015", [1, 16]


def _rle_string(mask: np.ndarray) -> dict:
    encoded = mask_util.encode(np.asfortranarray(mask.astype(np.uint8)))
    return {"counts": encoded["counts"].decode("ascii"), "size": [256, 256]}


def _image_record(folder: str, image_id: int) -> dict:
    name = f"COCO_{folder}_{image_id:012d}.jpg"
    return {"license": 3, "file_name": name, "coco_url": f"http://images.cocodataset.org/{folder}/{name}",
            "height": HEIGHT, "width": WIDTH, "date_captured": "2013-11-14 11:18:45",
            "flickr_url": "http://farm3.staticflickr.com/0/0.jpg", "id": image_id}


def _person(ann_id: int, image_id: int, bbox: list, rng: np.random.Generator, with_points: bool) -> dict:
    x, y, w, h = bbox
    keypoints = [0] * 51
    keypoints[0:3] = [int(x + w / 2), int(y + 5), 2]  # the nose
    ann = {"segmentation": [[x, y, x + w, y, x + w, y + h, x, y + h]], "num_keypoints": 1, "area": float(w * h),
           "iscrowd": 0, "keypoints": keypoints, "image_id": image_id, "bbox": bbox, "category_id": 1, "id": ann_id}
    if with_points:
        n = 12
        torso = np.zeros((256, 256), bool)
        torso[64:200, 64:192] = True
        head = np.zeros((256, 256), bool)
        head[0:64, 96:160] = True
        masks = [[] for _ in range(14)]
        masks[0], masks[13] = _rle_string(torso), _rle_string(head)
        ann.update(dp_x=rng.uniform(64, 192, n).tolist(), dp_y=rng.uniform(64, 200, n).tolist(),
                   dp_I=rng.choice([1.0, 2.0, 3.0, 15.0, 16.0], n).tolist(), dp_U=rng.random(n).tolist(),
                   dp_V=rng.random(n).tolist(), dp_masks=masks)
    return ann


def _write_images(root: str, folder: str, ids: list, rng: np.random.Generator) -> None:
    os.makedirs(os.path.join(root, "coco", folder), exist_ok=True)
    for image_id in ids:
        pixels = rng.integers(0, 255, (HEIGHT, WIDTH, 3), dtype=np.uint8)
        pixels[20:90, 30:90] = (200, 60, 60)  # the person
        Image.fromarray(pixels).save(os.path.join(root, "coco", folder, _image_record(folder, image_id)["file_name"]))


def _document(folder: str, ids: list, rng: np.random.Generator) -> dict:
    annotations = []
    for k, image_id in enumerate(ids):
        base = 1000 * image_id
        annotations.append(_person(base + 1, image_id, [30.0, 20.0, 60.0, 70.0], rng, with_points=True))
        if k == 0:
            annotations.append(_person(base + 2, image_id, [95.0, 30.0, 25.0, 50.0], rng, with_points=False))
            crowd = np.zeros((HEIGHT, WIDTH), np.uint8)
            crowd[0:15, 0:40] = 1
            runs = _uncompressed_counts(crowd)
            # pycocotools reads the runs back as the mask (checks this writer, not the code under test)
            assert (mask_util.decode(mask_util.frPyObjects({"counts": runs, "size": [HEIGHT, WIDTH]}, HEIGHT,
                                                           WIDTH)) == crowd).all()
            annotations.append({"segmentation": {"counts": runs, "size": [HEIGHT, WIDTH]}, "num_keypoints": 0,
                                "area": float(crowd.sum()), "iscrowd": 1, "keypoints": [0] * 51,
                                "image_id": image_id, "bbox": [0.0, 0.0, 40.0, 15.0], "category_id": 1,
                                "id": base + 3})
    return {
        "info": {"description": "DensePose-COCO (fabricated for tests)", "year": 2018},
        "licenses": [{"url": "http://creativecommons.org/licenses/by/2.0/", "id": 3, "name": "Attribution License"}],
        "images": [_image_record(folder, i) for i in ids],
        "annotations": annotations,
        "categories": [{"supercategory": "person", "id": 1, "name": "person",
                        "keypoints": list(COCO_PERSON_KEYPOINT_NAMES),
                        "skeleton": [[16, 14], [14, 12], [17, 15], [15, 13], [12, 13]]}],
    }


def _uncompressed_counts(mask: np.ndarray) -> list:
    """COCO's uncompressed RLE of a binary mask: run lengths in column-major order, starting with zeros."""
    flat = mask.flatten(order="F")
    changes = np.flatnonzero(np.diff(flat)) + 1
    bounds = np.concatenate([[0], changes, [len(flat)]])
    runs = np.diff(bounds).tolist()
    return runs if flat[0] == 0 else [0] + runs


def write_densepose_coco_2014(root: str, seed: int = 0) -> str:
    """Writes every split (module docstring) under `root`; returns `root`."""
    rng = np.random.default_rng(seed)
    annotations_dir = os.path.join(root, "coco", "annotations")
    os.makedirs(annotations_dir, exist_ok=True)
    for file_name, (folder, ids) in SPLITS.items():
        _write_images(root, folder, ids, rng)
        with open(os.path.join(annotations_dir, file_name), "w") as f:
            json.dump(_document(folder, ids, rng), f)
    _write_images(root, TEST_FOLDER, TEST_IDS, rng)
    test = _document(TEST_FOLDER, TEST_IDS, rng)
    del test["annotations"]
    with open(os.path.join(annotations_dir, TEST_FILE), "w") as f:
        json.dump(test, f)
    return root
