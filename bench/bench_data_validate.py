"""Speed of the DensePose-COCO validator on a file the size of the real train split; prints one JSON line.

    python bench/bench_data_validate.py [--annotations 40000] [--points 125]

The document is built in memory (random but valid values, 14 dp_masks with 6 non-empty RLEs per person, as
in the real data), so the figure measures validate_densepose_coco alone, not JSON parsing.
"""
from __future__ import annotations

import argparse
import json
import time

import numpy as np
import pycocotools.mask as mask_util

from densepose_ext.data.validate import validate_densepose_coco


def build_document(num_annotations: int, points: int, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    square = np.zeros((256, 256), np.uint8, order="F")
    square[64:192, 64:192] = 1
    encoded = mask_util.encode(square)
    mask = {"size": [256, 256], "counts": encoded["counts"].decode("ascii")}
    num_images = max(1, num_annotations * 2 // 3)
    images = [{"id": i, "file_name": f"{i:012d}.jpg", "width": 640, "height": 480} for i in range(num_images)]
    annotations = []
    for k in range(num_annotations):
        annotations.append({
            "id": k, "image_id": k % num_images, "category_id": 1, "iscrowd": 0, "area": 5000.0,
            "bbox": [10.0, 20.0, 100.0, 200.0], "keypoints": [0] * 51, "num_keypoints": 0,
            "dp_x": (rng.random(points) * 255).tolist(), "dp_y": (rng.random(points) * 255).tolist(),
            "dp_I": rng.integers(1, 25, points).astype(float).tolist(),
            "dp_U": rng.random(points).tolist(), "dp_V": rng.random(points).tolist(),
            "dp_masks": [mask if p % 2 == 0 and p < 12 else [] for p in range(14)],
        })
    return {"images": images, "annotations": annotations, "categories": [{"id": 1, "name": "person"}]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--annotations", type=int, default=40000)
    parser.add_argument("--points", type=int, default=125)
    args = parser.parse_args()
    data = build_document(args.annotations, args.points)
    start = time.perf_counter()
    problems = validate_densepose_coco(data)
    seconds = time.perf_counter() - start
    assert not problems, problems[:5]
    print(json.dumps({
        "bench": "data_validate", "annotations": args.annotations, "points": args.annotations * args.points,
        "seconds": round(seconds, 3), "annotations_per_s": round(args.annotations / seconds),
    }))


if __name__ == "__main__":
    main()
