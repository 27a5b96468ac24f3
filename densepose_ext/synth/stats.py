"""Dataset statistics of a DensePose-COCO dict: people per image, points per person, areas, parts."""
from __future__ import annotations

import numpy as np

# COCO area ranges (px^2): small < 32^2 <= medium < 96^2 <= large.
_COCO_AREAS = {"small": (0, 32 ** 2), "medium": (32 ** 2, 96 ** 2), "large": (96 ** 2, np.inf)}


def _summary(values) -> dict:
    v = np.asarray(values, dtype=np.float64)
    if not len(v):
        return {"count": 0}
    q = np.percentile(v, [5, 50, 95])
    return {"count": int(len(v)), "mean": round(float(v.mean()), 2), "p5": round(float(q[0]), 2),
            "median": round(float(q[1]), 2), "p95": round(float(q[2]), 2), "max": round(float(v.max()), 2)}


def dataset_statistics(coco: dict) -> dict:
    """Counts and distributions over `coco` (a loaded annotations.json); areas are the COCO `area` field."""
    anns = coco["annotations"]
    per_image = np.bincount([a["image_id"] for a in anns], minlength=max([i["id"] for i in coco["images"]] + [0]) + 1)
    image_ids = [i["id"] for i in coco["images"]]
    dp = [a for a in anns if "dp_x" in a]
    areas = np.array([a["area"] for a in anns], dtype=np.float64)
    per_part = [c for a in dp for c in np.unique(a["dp_I"], return_counts=True)[1]]
    return {
        "images": len(coco["images"]),
        "annotations": len(anns),
        "annotations_with_densepose": len(dp),
        "people_per_image": _summary(per_image[image_ids]),
        "points_per_densepose_person": _summary([len(a["dp_x"]) for a in dp]),
        "points_per_visible_part": _summary(per_part),
        "area_px": _summary(areas),
        "area_ranges": {k: int(((areas >= lo) & (areas < hi)).sum()) for k, (lo, hi) in _COCO_AREAS.items()},
        "area_ranges_with_densepose": {
            k: int(sum(lo <= a["area"] < hi for a in dp)) for k, (lo, hi) in _COCO_AREAS.items()},
        "visible_keypoints_per_person": _summary([sum(v == 2 for v in a["keypoints"][2::3]) for a in anns]),
    }
