"""DensePose-COCO ground truth as the evaluator needs it: the person category, image sizes, and per image the
people annotated with DensePose points versus the ones that are only ignore regions.

Input is the DensePose-COCO JSON (FORMATS.md) already parsed into a dict. A person counts ("annotated") when it
is not a crowd and carries at least one dp point; crowds and people without points are ignore regions:
a detection on them is neither a true nor a false positive.
"""
from __future__ import annotations

from collections import defaultdict
from typing import Any, Sequence

import numpy as np

from densepose_ext.evaluation.sampling import box256_to_image
from densepose_ext.surface.parts import NUM_FINE_PARTS

_POINT_FIELDS = ("dp_x", "dp_y", "dp_I", "dp_U", "dp_V")


def _fail(where: str, field: str, expected: str, actual: Any) -> None:
    raise ValueError(f"{where}: field {field}: expected {expected}, got {actual!r}")


class DensePoseGroundTruth:
    """Validated view of a DensePose-COCO dataset dict.

    Attributes:
        source: name of the file (for error messages).
        category_id: id of the person category.
        image_sizes: image id -> (height, width).
        annotated: image id -> annotations of people with DensePose points (sorted by annotation id).
        ignored: image id -> crowd annotations and people without points.
    """

    def __init__(self, dataset: dict[str, Any], source: str = "<ground truth>") -> None:
        self.source = source
        for key in ("images", "annotations", "categories"):
            if not isinstance(dataset.get(key), list):
                _fail(source, key, "a list", type(dataset.get(key)).__name__)
        self.dataset = dataset
        self.category_id = self._person_category(dataset["categories"])
        self.image_sizes: dict[int, tuple[int, int]] = {}
        for img in dataset["images"]:
            if not all(isinstance(img.get(k), int) for k in ("id", "height", "width")):
                _fail(f"{source} image {img.get('id')!r}", "id/height/width", "integers", {k: img.get(k) for k in ("id", "height", "width")})
            self.image_sizes[img["id"]] = (img["height"], img["width"])
        self.annotated: dict[int, list[dict]] = defaultdict(list)
        self.ignored: dict[int, list[dict]] = defaultdict(list)
        for ann in sorted(dataset["annotations"], key=lambda a: a.get("id", -1)):
            if ann.get("category_id") != self.category_id:
                continue
            where = f"{source} annotation {ann.get('id')!r}"
            if ann.get("image_id") not in self.image_sizes:
                _fail(where, "image_id", "the id of an entry in images", ann.get("image_id"))
            bbox = ann.get("bbox")
            if not (isinstance(bbox, Sequence) and len(bbox) == 4):
                _fail(where, "bbox", "[x, y, w, h]", bbox)
            group = self.annotated if self._check_points(ann, where) else self.ignored
            group[ann["image_id"]].append(ann)

    @staticmethod
    def _person_category(categories: list[dict]) -> int:
        persons = [c["id"] for c in categories if c.get("name") == "person"]
        if len(persons) == 1:
            return persons[0]
        if len(categories) == 1:
            return categories[0]["id"]
        raise ValueError(f"categories: expected one category named 'person' (or a single category), got {categories!r}")

    @staticmethod
    def _check_points(ann: dict, where: str) -> bool:
        """True if ``ann`` is a non-crowd person with DensePose points (checked), False for an ignore region."""
        if ann.get("iscrowd", 0) or "dp_x" not in ann:
            return False
        lengths = {f: len(ann.get(f) or []) for f in _POINT_FIELDS}
        if len(set(lengths.values())) != 1:
            _fail(where, "dp_x/dp_y/dp_I/dp_U/dp_V", "lists of equal length", lengths)
        if lengths["dp_x"] == 0:
            return False
        parts = np.asarray(ann["dp_I"], dtype=np.float64)
        if np.any(parts != np.round(parts)) or parts.min() < 1 or parts.max() > NUM_FINE_PARTS:
            _fail(where, "dp_I", f"integers in 1..{NUM_FINE_PARTS}", sorted(set(parts.tolist())))
        for f in ("dp_U", "dp_V"):
            values = np.asarray(ann[f], dtype=np.float64)
            if values.min() < 0 or values.max() > 1:
                _fail(where, f, "values in [0, 1]", (values.min(), values.max()))
        if ann["bbox"][2] <= 0 or ann["bbox"][3] <= 0:
            _fail(where, "bbox", "positive width and height", ann["bbox"])
        return True

    def image_ids(self) -> list[int]:
        return sorted(self.image_sizes)

    def coco_annotations(self) -> list[dict]:
        """Light annotations for pycocotools: ``num_keypoints`` = number of dp points (0 = ignore region)."""
        return [
            {
                "id": ann["id"],
                "image_id": ann["image_id"],
                "category_id": ann["category_id"],
                "bbox": list(ann["bbox"]),
                "area": float(ann.get("area", ann["bbox"][2] * ann["bbox"][3])),
                "iscrowd": int(ann.get("iscrowd", 0)),
                "num_keypoints": len(ann["dp_x"]) if group is self.annotated else 0,
            }
            for group in (self.annotated, self.ignored)
            for anns in group.values()
            for ann in anns
        ]


def annotation_points(anns: list[dict]) -> dict[str, np.ndarray]:
    """The dp points of several people, concatenated, in the image px frame.

    Returns:
        dict of (N,) arrays: x, y (float64 image px), i (int64 1..24), u, v (float64 chart), owner (int64 index
        into ``anns``).
    """
    xs, ys = zip(*(box256_to_image(a["dp_x"], a["dp_y"], a["bbox"]) for a in anns)) if anns else ((), ())
    cat = lambda parts, dtype: np.concatenate(parts).astype(dtype) if parts else np.zeros(0, dtype)  # noqa: E731
    return {
        "x": cat(xs, np.float64),
        "y": cat(ys, np.float64),
        "i": cat([np.asarray(a["dp_I"]) for a in anns], np.int64),
        "u": cat([np.asarray(a["dp_U"]) for a in anns], np.float64),
        "v": cat([np.asarray(a["dp_V"]) for a in anns], np.float64),
        "owner": cat([np.full(len(a["dp_x"]), k) for k, a in enumerate(anns)], np.int64),
    }
