"""DensePose-COCO ground truth as the evaluator needs it: the person category, image sizes, and per image the
people annotated with DensePose points versus the ones that are only ignore regions.

Input is the DensePose-COCO JSON (docs/DATA.md) already parsed into a dict; it is checked with the data
module's validator (every problem named with image, annotation, field, expected, actual). As in the reference
evaluator, an annotation counts ("annotated") when it has the field ``dp_x``; the others (people without points,
crowds) are ignored ground truth (reference_matching.py says what a detection on them becomes).

Annotation ids need not be unique (the official COCO 2014 minival repeats some): each person gets its own
evaluation id ``eval_id`` (1-based position in the file), used for matching.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any, Sequence

import numpy as np

from densepose_ext.data.validate import check_densepose_coco
from densepose_ext.evaluation.sampling import gt_points_to_image
from densepose_ext.utils.cli_errors import UserInputError


class DensePoseGroundTruth:
    """Validated view of a DensePose-COCO dataset dict.

    Attributes:
        source: name of the file (for error messages).
        category_id: id of the person category.
        image_sizes: image id -> (height, width).
        annotated: image id -> people with DensePose points, in file order; each a shallow copy of its
            annotation with an added ``eval_id``.
        ignored: image id -> crowds and people without points, likewise.
    """

    def __init__(self, dataset: dict[str, Any], source: str = "<ground truth>") -> None:
        check_densepose_coco(dataset, source, allow_duplicate_ids=True)  # minival repeats ids; people are matched
        self.source = source
        self.category_id = self._person_category(dataset["categories"], source)
        self.image_sizes: dict[int, tuple[int, int]] = {
            img["id"]: (img["height"], img["width"]) for img in dataset["images"]
        }
        self.annotated: dict[int, list[dict]] = defaultdict(list)
        self.ignored: dict[int, list[dict]] = defaultdict(list)
        for k, ann in enumerate(dataset["annotations"]):
            if ann["category_id"] != self.category_id:
                continue
            (self.annotated if "dp_x" in ann else self.ignored)[ann["image_id"]].append(dict(ann, eval_id=k + 1))

    @staticmethod
    def _person_category(categories: list[dict], source: str) -> int:
        persons = [c["id"] for c in categories if c.get("name") == "person"]
        if len(persons) == 1:
            return persons[0]
        if len(categories) == 1:
            return categories[0]["id"]
        raise UserInputError(source, "one category named 'person' (or a single category)", repr(categories)[:200],
                             item="field 'categories'")

    def image_ids(self) -> list[int]:
        return sorted(self.image_sizes)

    def people(self, image_id: int) -> list[dict]:
        """The image's annotations, annotated and ignored, in file order (the reference's column order)."""
        return sorted(self.annotated.get(image_id, []) + self.ignored.get(image_id, []), key=lambda a: a["eval_id"])

    def coco_annotations(self) -> list[dict]:
        """Light annotations for pycocotools, keyed by ``eval_id``; ``num_keypoints`` = number of dp points
        (0 makes pycocotools treat the person as an ignore region); ``dp_ignore``: ignored by the reference (no
        ``dp_x``)."""
        return [
            {
                "id": ann["eval_id"],
                "image_id": ann["image_id"],
                "category_id": ann["category_id"],
                "bbox": list(ann["bbox"]),
                "area": float(ann.get("area", ann["bbox"][2] * ann["bbox"][3])),
                "iscrowd": int(ann.get("iscrowd", 0)),
                "num_keypoints": len(ann["dp_x"]) if group is self.annotated else 0,
                "dp_ignore": group is self.ignored,
            }
            for group in (self.annotated, self.ignored)
            for anns in group.values()
            for ann in anns
        ]


def _concat(parts: Sequence[Sequence[float]], dtype: type) -> np.ndarray:
    return (
        np.concatenate([np.asarray(p, dtype=np.float64) for p in parts]).astype(dtype) if parts else np.zeros(0, dtype)
    )


def annotation_points(anns: list[dict], frame: str) -> dict[str, np.ndarray]:
    """The dp points of several people, concatenated, in the image px frame (``frame``: sampling.gt_points_to_image).

    Returns:
        dict of (N,) arrays: x, y (float64 image px), i (int64 1..24), u, v (float64 chart), owner (int64 index
        into ``anns``).
    """
    xy = [gt_points_to_image(a["dp_x"], a["dp_y"], a["bbox"], frame) for a in anns]
    return {
        "x": _concat([x for x, _ in xy], np.float64),
        "y": _concat([y for _, y in xy], np.float64),
        "i": _concat([a["dp_I"] for a in anns], np.int64),
        "u": _concat([a["dp_U"] for a in anns], np.float64),
        "v": _concat([a["dp_V"] for a in anns], np.float64),
        "owner": _concat([np.full(len(a["dp_x"]), k) for k, a in enumerate(anns)], np.int64),
    }
