"""Hand-made DensePose-COCO ground truth and exactly matching predictions for evaluator tests.

People get points on distinct result cells, inside a rectangular dp_mask, so a "perfect" result reproduces
every point and the foreground exactly. Geodesics come from ``chart_distance`` (a known toy metric) unless a
test uses the real surface.
"""

from __future__ import annotations

import numpy as np
import torch
from pycocotools import mask as mask_utils

from densepose_ext.evaluation.distances import BatchedDistance, submit_pair_distances
from densepose_ext.evaluation.masks import Window, paste_box_mask
from densepose_ext.evaluation.results_file import result_records
from densepose_ext.structures.results import DensePoseResult

# Part rectangle of every synthetic person in box-256 (rows y0:y1, cols x0:x1).
MASK_RECT = (64, 192, 32, 224)
WRONG_PART_DISTANCE_M = 2.0


def pair_distances(gt_iuv, pred_iuv, distance_fn) -> np.ndarray:
    """(D, N) errors of (D, N) predictions at N ground-truth points (inf where I_pred = 0), through the
    evaluator's submit_pair_distances and one flushed batch."""
    out = np.full(np.shape(pred_iuv[0]), np.inf)
    batch = BatchedDistance(distance_fn)
    submit_pair_distances(batch, tuple(np.asarray(a) for a in gt_iuv), tuple(np.asarray(a) for a in pred_iuv), out)
    batch.flush()
    return out


def chart_distance(i1, u1, v1, i2, u2, v2) -> np.ndarray:
    """Toy geodesic (metres): Euclidean (U, V) distance on the same part, 2 m across parts."""
    same = np.asarray(i1) == np.asarray(i2)
    d = np.hypot(np.asarray(u1, np.float64) - u2, np.asarray(v1, np.float64) - v2)
    return np.where(same, d, WRONG_PART_DISTANCE_M)


# The reference evaluator's per-part κ (metres), by body region of the ground-truth fine part: its
# `Mean_Distances` indexed through `CoarseParts` (densepose_coco_evaluation.py), stated by part name here so that
# tests do not read κ from the code under test.
REFERENCE_KAPPA_BY_REGION = {
    "torso": 0.351, "hand": 0.107, "foot": 0.126, "upper_leg": 0.237, "lower_leg": 0.173,
    "upper_arm": 0.142, "lower_arm": 0.128, "head": 0.150,
}
PAPER_GLOBAL_KAPPA = 0.255


def reference_kappa(part: int, mode: str) -> float:
    """κ (metres) of a ground-truth point of fine part `part` (1..24): the paper's 0.255 for "global", the
    reference's value for the part's body region (from the part's name) for "per-part"."""
    from densepose_ext.surface.parts import FINE_PART_NAMES

    if mode == "global":
        return PAPER_GLOBAL_KAPPA
    (value,) = [k for region, k in REFERENCE_KAPPA_BY_REGION.items() if region in FINE_PART_NAMES[part]]
    return value


def make_person(ann_id: int, image_id: int, bbox: list[float], num_points: int, seed: int) -> dict:
    """A person whose bbox has integer corners and w, h dividing 256, points on distinct cells of its box grid."""
    rng = np.random.default_rng(seed)
    x, y, w, h = bbox
    step_x, step_y = 256 / w, 256 / h
    y0, y1, x0, x1 = MASK_RECT
    cols = np.arange(int(np.ceil(x0 / step_x)), int(x1 // step_x))
    rows = np.arange(int(np.ceil(y0 / step_y)), int(y1 // step_y))
    cells = rng.choice(len(rows) * len(cols), size=num_points, replace=False)
    mask = np.zeros((256, 256), np.uint8)
    mask[y0:y1, x0:x1] = 1
    empty: list = []
    return {
        "id": ann_id,
        "image_id": image_id,
        "category_id": 1,
        "bbox": [float(v) for v in bbox],
        "area": float(w * h),
        "iscrowd": 0,
        # Cell centres in box-256: exactly representable, far from cell borders.
        "dp_x": ((cols[cells % len(cols)] + 0.5) * step_x).tolist(),
        "dp_y": ((rows[cells // len(cols)] + 0.5) * step_y).tolist(),
        "dp_I": rng.integers(1, 25, num_points).astype(float).tolist(),
        "dp_U": (rng.integers(26, 230, num_points) / 255).tolist(),
        "dp_V": (rng.integers(26, 230, num_points) / 255).tolist(),
        "dp_masks": [_rle(mask)] + [empty] * 13,
    }


def _rle(mask: np.ndarray) -> dict:
    rle = mask_utils.encode(np.asfortranarray(mask))
    return {"size": rle["size"], "counts": rle["counts"].decode("ascii")}


def ann_box(ann: dict) -> np.ndarray:
    """(4,) float64 XYXY image px: the annotation's bbox."""
    x, y, w, h = ann["bbox"]
    return np.array([x, y, x + w, y + h], np.float64)


def perfect_result(ann: dict) -> DensePoseResult:
    """The result over the annotation's own box (``ann_box``) that reproduces its foreground and every point's
    (I, U, V)."""
    _, _, w, h = (int(v) for v in ann["bbox"])
    y0, y1, x0, x1 = MASK_RECT
    mask = np.zeros((256, 256), bool)
    mask[y0:y1, x0:x1] = True
    labels = np.where(paste_box_mask(mask, (0, 0, w, h), Window(0, 0, h, w)), 1, 0).astype(np.uint8)
    uv = np.zeros((2, h, w), np.float32)
    cols = (np.asarray(ann["dp_x"]) * w / 256).astype(int)
    rows = (np.asarray(ann["dp_y"]) * h / 256).astype(int)
    labels[rows, cols] = np.asarray(ann["dp_I"], dtype=np.uint8)
    uv[0, rows, cols] = ann["dp_U"]
    uv[1, rows, cols] = ann["dp_V"]
    return DensePoseResult(torch.from_numpy(labels), torch.from_numpy(uv))


def record(image_id: int, result: DensePoseResult, box: np.ndarray, score: float) -> dict:
    """The results-file record of a person detection: ``result`` over ``box`` (4,) XYXY image px."""
    return result_records(image_id, [1], np.asarray(box)[None], np.array([score]), [result])[0]


def dataset(people: list[dict], image_size: tuple[int, int] = (240, 320), num_images: int | None = None) -> dict:
    ids = sorted({p["image_id"] for p in people}) if num_images is None else list(range(1, num_images + 1))
    return {
        "images": [{"id": i, "height": image_size[0], "width": image_size[1], "file_name": f"{i}.jpg"} for i in ids],
        "annotations": people,
        "categories": [{"id": 1, "name": "person"}],
    }
