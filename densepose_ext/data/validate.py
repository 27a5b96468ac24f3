"""Checks DensePose-COCO annotation files (the synthetic ones and the real DensePose-COCO release).

    python -m densepose_ext.data.validate FILE.json [FILE.json ...]

prints every problem (image id, annotation id, field, expected, actual) and exits with status 1 if any file has
one. The dataset loader (datasets.py) and the mapper (dataset_mapper.py) run the same checks: the loader calls
`check_densepose_coco` on the whole file, the mapper calls `densepose_annotation_problems` on the annotations
of one image, so a dataset registered from a user's own loader fails just as clearly.

Format (docs/DATA.md): `dp_x`, `dp_y` are point positions in the box-256 frame, [0, 256) relative to the
top-left of `bbox`; `dp_I` fine part labels 1..24 (integer-valued floats); `dp_U`, `dp_V` chart coordinates
in [0, 1]; `dp_masks` 14 coarse-part entries, each empty or a COCO RLE of size [256, 256].

The per-point checks run on all annotations at once (one concatenated array per field), so a file with
40k annotations and 5M points validates in seconds.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys
from dataclasses import dataclass
from itertools import chain
from typing import Any, Callable, Dict, Hashable, List, Optional, Sequence

import numpy as np

from densepose_ext.surface.parts import NUM_COARSE_PARTS, NUM_FINE_PARTS

from densepose_ext.utils.cli_errors import UserInputError, run_cli

from .rle_counts import rle_string_problems

DP_POINT_FIELDS = ("dp_x", "dp_y", "dp_I", "dp_U", "dp_V")
DP_MASK_SIZE = 256
# A box may stick out of its image by this many pixels: COCO boxes are rounded to 0.01 px and some
# real annotations overshoot the border by a fraction of a pixel.
BBOX_TOLERANCE_PX = 1.0
# Python types json.load gives numbers (bool is excluded on purpose: true/false are not coordinates).
_JSON_NUMBER_TYPES = {int, float}
# How many problems an exception message lists (the CLI always prints all of them).
MAX_PROBLEMS_IN_MESSAGE = 20


@dataclass(frozen=True)
class Problem:
    """One violation of the DensePose-COCO format. `image_id`/`annotation_id` are None where not applicable."""

    image_id: Optional[Hashable]
    annotation_id: Optional[Hashable]
    field: str
    expected: str
    actual: str

    def __str__(self) -> str:
        where = []
        if self.image_id is not None:
            where.append(f"image {self.image_id}")
        if self.annotation_id is not None:
            where.append(f"annotation {self.annotation_id}")
        prefix = ", ".join(where) or "file"
        return f"{prefix}: {self.field}: expected {self.expected}, got {self.actual}"


class DensePoseFormatError(UserInputError):
    """Raised for a DensePose-COCO file or dataset dict that breaks the format; lists the problems (the first one
    gives the UserInputError fields)."""

    def __init__(self, source: str, problems: Sequence[Problem]):
        self.problems = list(problems)
        shown = "\n  ".join(str(p) for p in self.problems[:MAX_PROBLEMS_IN_MESSAGE])
        more = len(self.problems) - MAX_PROBLEMS_IN_MESSAGE
        tail = f"\n  ... and {more} more (run `python -m densepose_ext.data.validate` on the file)" if more > 0 else ""
        first = self.problems[0]
        super().__init__(source, first.expected, first.actual, item=str(first).split(": expected")[0],
                         message=f"{source}: {len(self.problems)} DensePose-COCO format problem(s):\n  {shown}{tail}")

    def __reduce__(self):
        # Rebuilt from its own arguments when pickled (multiprocessing), not from the formatted message.
        return type(self), (self.source, self.problems)


def _is_number(value: Any) -> bool:
    return type(value) in _JSON_NUMBER_TYPES and math.isfinite(value)


def _all_numbers(values: Any) -> bool:
    # The sum of finite numbers is finite; NaN or infinity anywhere makes it non-finite.
    return isinstance(values, list) and set(map(type, values)) <= _JSON_NUMBER_TYPES and math.isfinite(sum(values))


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _short(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _concatenated(annotations: Sequence[dict], kept: List[int]) -> Optional[Dict[str, np.ndarray]]:
    """field -> float64 array of the values of annotations `kept`, concatenated; None if any is not a number."""
    values = {}
    for f in DP_POINT_FIELDS:
        flat = np.array(list(chain.from_iterable(annotations[k][f] for k in kept)))
        if flat.ndim != 1 or flat.dtype.kind not in "biuf":
            return None
        values[f] = flat.astype(np.float64, copy=False)
    return values


def _point_arrays(
    annotations: Sequence[dict], image_ids: Sequence[Hashable], problems: List[Problem]
) -> Optional[tuple]:
    """Structure checks of the dp_* point lists; returns the concatenated values of the well-formed annotations.

    Returns (values: dict field -> float64 array [total points], lengths: int64 array [A'], kept: index list
    of the A' well-formed annotations) or None when none has points.
    """
    kept: List[int] = []
    for k, ann in enumerate(annotations):
        present = [f for f in DP_POINT_FIELDS if f in ann]
        if not present:
            continue
        where = (image_ids[k], ann.get("id"))
        missing = [f for f in DP_POINT_FIELDS if f not in ann]
        if missing:
            problems.append(Problem(*where, ",".join(missing), f"present like {present[0]}", "missing"))
            continue
        not_lists = [f for f in DP_POINT_FIELDS if not isinstance(ann[f], list)]
        if not_lists:
            problems.extend(
                Problem(*where, f, "a list of numbers", type(ann[f]).__name__) for f in not_lists
            )
            continue
        lengths = [len(ann[f]) for f in DP_POINT_FIELDS]
        if len(set(lengths)) > 1:
            actual = ", ".join(f"{f}={n}" for f, n in zip(DP_POINT_FIELDS, lengths))
            problems.append(Problem(*where, "dp_x/dp_y/dp_I/dp_U/dp_V", "equal lengths", actual))
            continue
        kept.append(k)
    # Fast path: one numpy conversion per field over all annotations. Only when one gives something other
    # than a flat numeric array does the slow search for the offending annotations run. (As in numpy,
    # true/false mixed into numbers read as 1/0.)
    values = _concatenated(annotations, kept)
    if values is None:
        numeric = []
        for k in kept:
            bad = next(((f, v) for f in DP_POINT_FIELDS for v in annotations[k][f]
                        if type(v) not in _JSON_NUMBER_TYPES), None)
            if bad is None:
                numeric.append(k)
            else:
                problems.append(Problem(image_ids[k], annotations[k].get("id"), bad[0], "numbers only", _short(bad[1])))
        kept = numeric
        values = _concatenated(annotations, kept)
    if not kept:
        return None
    lengths = np.array([len(annotations[k]["dp_x"]) for k in kept], dtype=np.int64)
    return values, lengths, kept


# NaN fails every comparison, so the range checks report it too.
def _in_box(a: np.ndarray) -> np.ndarray:
    return (a >= 0) & (a < DP_MASK_SIZE)


def _in_unit_interval(a: np.ndarray) -> np.ndarray:
    return (a >= 0) & (a <= 1)


def _is_fine_part(a: np.ndarray) -> np.ndarray:
    return (a >= 1) & (a <= NUM_FINE_PARTS) & (a == np.round(a))


# field -> (vectorised predicate, what the message says was expected)
_POINT_CHECKS: Dict[str, tuple] = {
    "dp_x": (_in_box, f"values in [0, {DP_MASK_SIZE}) (box-256 frame)"),
    "dp_y": (_in_box, f"values in [0, {DP_MASK_SIZE}) (box-256 frame)"),
    "dp_I": (_is_fine_part, f"integer-valued part labels in 1..{NUM_FINE_PARTS}"),
    "dp_U": (_in_unit_interval, "values in [0, 1]"),
    "dp_V": (_in_unit_interval, "values in [0, 1]"),
}


def _value_problems(
    annotations: Sequence[dict], image_ids: Sequence[Hashable], problems: List[Problem]
) -> None:
    """Range checks of all points at once; one problem per (annotation, field) with the first bad value."""
    arrays = _point_arrays(annotations, image_ids, problems)
    if arrays is None:
        return
    values, lengths, kept = arrays
    owner = np.repeat(np.arange(len(kept)), lengths)  # annotation (index into kept) of each point
    start = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    for field, (is_ok, expected) in _POINT_CHECKS.items():
        bad = ~is_ok(values[field])
        if not bad.any():
            continue
        bad_points = np.flatnonzero(bad)
        bad_owner = owner[bad_points]
        owners, first, counts = np.unique(bad_owner, return_index=True, return_counts=True)
        for a, f, c in zip(owners.tolist(), first.tolist(), counts.tolist()):
            point = int(bad_points[f])
            k = kept[a]
            problems.append(
                Problem(
                    image_ids[k],
                    annotations[k].get("id"),
                    field,
                    expected,
                    f"{c} bad value(s), first {values[field][point]!r} at index {point - int(start[a])}",
                )
            )


def _mask_problems(annotations: Sequence[dict], image_ids: Sequence[Hashable], problems: List[Problem]) -> None:
    """dp_masks: NUM_COARSE_PARTS entries, each empty ([] or {}) or an RLE dict of size [256, 256] whose run
    lengths (a list, or a compressed string decoded by rle_counts.py) cover the mask exactly."""
    full = DP_MASK_SIZE * DP_MASK_SIZE
    compressed: List[tuple] = []  # (where, field, counts string) of every compressed RLE
    for k, ann in enumerate(annotations):
        if "dp_masks" not in ann:
            continue
        masks = ann["dp_masks"]
        where = (image_ids[k], ann.get("id"))
        if not isinstance(masks, list) or len(masks) != NUM_COARSE_PARTS:
            actual = f"{len(masks)} entries" if isinstance(masks, list) else type(masks).__name__
            problems.append(Problem(*where, "dp_masks", f"a list of {NUM_COARSE_PARTS} entries", actual))
            continue
        for part, rle in enumerate(masks):
            field = f"dp_masks[{part}]"
            if isinstance(rle, (list, dict)) and len(rle) == 0:
                continue
            if not isinstance(rle, dict) or "size" not in rle or "counts" not in rle:
                problems.append(Problem(*where, field, "empty or an RLE dict with 'size' and 'counts'", _short(rle)))
            elif not isinstance(rle["size"], list) or rle["size"] != [DP_MASK_SIZE, DP_MASK_SIZE]:
                expected = f"[{DP_MASK_SIZE}, {DP_MASK_SIZE}]"
                problems.append(Problem(*where, field + ".size", expected, _short(rle["size"])))
            elif isinstance(rle["counts"], list):
                # Uncompressed RLE: run lengths must cover the mask exactly.
                if not all(_is_int(c) and c >= 0 for c in rle["counts"]) or sum(rle["counts"]) != full:
                    problems.append(
                        Problem(*where, field + ".counts", f"non-negative run lengths summing to {full}",
                                _short(rle["counts"]))
                    )
            elif not isinstance(rle["counts"], (str, bytes)):
                problems.append(
                    Problem(*where, field + ".counts", "a compressed RLE string or a list of run lengths",
                            type(rle["counts"]).__name__)
                )
            else:
                compressed.append((where, field + ".counts", rle["counts"]))
    # pycocotools reads a string cut short as a smaller mask and foreign characters as garbage: decode all counts.
    found = rle_string_problems([c for _, _, c in compressed], full)
    for (where, field, _), problem in zip(compressed, found):
        if problem is not None:
            expected, actual = problem.split(", found ", 1)
            problems.append(Problem(*where, field, expected, actual))


def densepose_annotation_problems(annotations: Sequence[dict], image_ids: Sequence[Hashable]) -> List[Problem]:
    """Problems of the DensePose fields (dp_x, dp_y, dp_I, dp_U, dp_V, dp_masks) of annotations.

    Args:
        annotations: COCO annotation dicts (JSON form or detectron2 dataset-dict form); `id` names them.
        image_ids: the image id of each annotation (same length), used in the messages.
    Annotations without any dp_* field are fine (people without DensePose supervision).
    """
    if len(image_ids) != len(annotations):
        raise ValueError(f"image_ids: expected {len(annotations)} entries (one per annotation), got {len(image_ids)}")
    problems: List[Problem] = []
    _value_problems(annotations, image_ids, problems)
    _mask_problems(annotations, image_ids, problems)
    return problems


def _field_problem(
    record: dict, field: str, is_ok: Callable[[Any], bool], expected: str, where: tuple
) -> Optional[Problem]:
    if field not in record:
        return Problem(*where, field, expected, "missing")
    if not is_ok(record[field]):
        return Problem(*where, field, expected, _short(record[field]))
    return None


def _image_problems(images: list, problems: List[Problem]) -> Dict[Hashable, tuple]:
    """Checks images; returns id -> (width, height) of the images whose id and size are valid."""
    sizes: Dict[Hashable, tuple] = {}
    seen = set()
    for n, img in enumerate(images):
        if not isinstance(img, dict):
            problems.append(Problem(None, None, f"images[{n}]", "an object", _short(img)))
            continue
        image_id = img.get("id")
        where = (image_id if image_id is not None else f"#{n} (no id)", None)
        found = [
            _field_problem(img, "id", _is_int, "an integer id", where),
            _field_problem(img, "file_name", lambda v: isinstance(v, str) and v != "", "a file name", where),
            _field_problem(img, "width", lambda v: _is_int(v) and v > 0, "a positive integer", where),
            _field_problem(img, "height", lambda v: _is_int(v) and v > 0, "a positive integer", where),
        ]
        problems.extend(p for p in found if p is not None)
        if found[0] is None:
            if image_id in seen:
                problems.append(Problem(image_id, None, "id", "unique image ids", "duplicate"))
                continue  # boxes are checked against the first image with this id
            seen.add(image_id)
            if found[2] is None and found[3] is None:
                sizes[image_id] = (img["width"], img["height"])
    return sizes


def _bbox_ok(value: Any) -> bool:
    # A box of width or height 0 holds no pixel: detectron2 drops it with its DensePose points.
    return _all_numbers(value) and len(value) == 4 and value[2] > 0 and value[3] > 0


def _bbox_inside_problems(annotations: list, sizes: Dict[Hashable, tuple], problems: List[Problem]) -> None:
    """Boxes (XYWH image px) inside their image, up to BBOX_TOLERANCE_PX; vectorised over annotations."""
    rows = [
        (k, ann["bbox"], sizes[ann["image_id"]])
        for k, ann in enumerate(annotations)
        if isinstance(ann, dict) and _bbox_ok(ann.get("bbox")) and ann.get("image_id") in sizes
    ]
    if not rows:
        return
    boxes = np.array([r[1] for r in rows], dtype=np.float64)
    wh = np.array([r[2] for r in rows], dtype=np.float64)
    tol = BBOX_TOLERANCE_PX
    inside = (boxes[:, 0] >= -tol) & (boxes[:, 1] >= -tol)
    inside &= (boxes[:, 0] + boxes[:, 2] <= wh[:, 0] + tol) & (boxes[:, 1] + boxes[:, 3] <= wh[:, 1] + tol)
    for r in np.flatnonzero(~inside).tolist():
        k, box, (w, h) = rows[r]
        ann = annotations[k]
        problems.append(
            Problem(ann["image_id"], ann.get("id"), "bbox",
                    f"[x, y, w, h] inside the {w}x{h} image (tolerance {tol} px)", _short(box))
        )


def _id_and_category_problems(annotations: list, categories: list, allow_duplicate_ids: bool,
                              problems: List[Problem]) -> None:
    """Annotation ids unique (detectron2's loader asserts it); DensePose fields only on the person category."""
    seen: Dict[Hashable, int] = {}
    person = {c.get("id") for c in categories if isinstance(c, dict) and c.get("name") == "person"}
    known = {c.get("id") for c in categories if isinstance(c, dict)}  # an unknown id is reported as such
    for ann in annotations:
        if not isinstance(ann, dict):
            continue
        ann_id = ann.get("id")
        if _is_int(ann_id) and not allow_duplicate_ids:
            seen[ann_id] = seen.get(ann_id, 0) + 1
            if seen[ann_id] == 2:
                problems.append(Problem(ann.get("image_id"), ann_id, "id", "unique annotation ids", "repeated"))
        has_densepose = any(f in ann for f in DP_POINT_FIELDS + ("dp_masks",))
        if has_densepose and ann.get("category_id") in known - person:
            problems.append(Problem(ann.get("image_id"), ann_id, "category_id",
                                    f"the person category {sorted(person)} on an annotation with dp_* fields",
                                    _short(ann.get("category_id"))))


def densepose_coco_warnings(data: Any, source: str) -> List[str]:
    """What a valid file holds that training will not use, so nobody is surprised: no annotations at all, crowd
    annotations with DensePose points (detectron2 drops crowd annotations)."""
    if not isinstance(data, dict) or not isinstance(data.get("annotations"), list):
        return []
    warnings = []
    if not data["annotations"] and data.get("images"):
        warnings.append(f"{source}: annotations: an empty list: {len(data['images'])} images without any person")
    crowd = [a.get("id") for a in data["annotations"] if isinstance(a, dict) and a.get("iscrowd") == 1
             and a.get("dp_x")]
    if crowd:
        warnings.append(f"{source}: {len(crowd)} crowd annotation(s) with DensePose points, ids "
                        f"{_short(crowd)}: crowd annotations are not trained on, their points are ignored")
    return warnings


def duplicate_ids_allowed(source: str) -> bool:
    """detectron2's load_coco_json tolerates repeated annotation ids in files named *minival* only (the official
    COCO 2014 minival files repeat some); the validator applies the same rule."""
    return "minival" in os.path.basename(source)


def validate_densepose_coco(data: Any, allow_duplicate_ids: bool = False) -> List[Problem]:
    """All format problems of a parsed DensePose-COCO JSON document (empty list: valid).

    Checks: top-level `images`/`annotations`/`categories`; image ids unique with file name and positive size;
    annotations with an integer id, unique unless `allow_duplicate_ids` (`duplicate_ids_allowed`), `image_id` of
    an existing image, known `category_id` (the person category when the annotation has dp_* fields), `bbox`
    [x, y, w, h] with w, h > 0 inside the image, `iscrowd` 0/1, `area` >= 0, `keypoints` a multiple of 3 long;
    and the DensePose fields (`densepose_annotation_problems`).
    """
    if not isinstance(data, dict):
        return [Problem(None, None, "<top level>", "a JSON object", type(data).__name__)]
    problems: List[Problem] = []
    for key in ("images", "annotations", "categories"):
        if not isinstance(data.get(key), list):
            problems.append(Problem(None, None, key, "a list", "missing" if key not in data else _short(data[key])))
    if problems:
        return problems
    sizes = _image_problems(data["images"], problems)
    category_ids = {c.get("id") for c in data["categories"] if isinstance(c, dict)}

    annotations = data["annotations"]
    objects, object_image_ids = [], []  # the annotations that are JSON objects
    for n, ann in enumerate(annotations):
        if not isinstance(ann, dict):
            problems.append(Problem(None, None, f"annotations[{n}]", "an object", _short(ann)))
            continue
        ann_id = ann.get("id", f"#{n} (no id)")
        image_id = ann.get("image_id")
        where = (image_id, ann_id)
        found = [
            _field_problem(ann, "id", _is_int, "an integer id", where),
            _field_problem(ann, "image_id", lambda v: v in sizes, "the id of a listed image", where),
            _field_problem(ann, "category_id", lambda v: v in category_ids, f"one of {sorted(category_ids)}", where),
            _field_problem(ann, "bbox", _bbox_ok, "[x, y, w, h] with 4 finite numbers, w, h > 0", where),
            _field_problem(ann, "iscrowd", lambda v: _is_int(v) and v in (0, 1), "0 or 1", where),
            _field_problem(ann, "area", lambda v: _is_number(v) and v >= 0, "a number >= 0", where),
        ]
        if "keypoints" in ann:
            found.append(_field_problem(
                ann, "keypoints", lambda v: _all_numbers(v) and len(v) % 3 == 0,
                "a list of numbers (x, y, visibility per keypoint)", where,
            ))
        problems.extend(p for p in found if p is not None)
        objects.append(ann)
        object_image_ids.append(image_id)
    _bbox_inside_problems(annotations, sizes, problems)
    _id_and_category_problems(annotations, data["categories"], allow_duplicate_ids, problems)
    problems.extend(densepose_annotation_problems(objects, object_image_ids))
    return problems


def check_densepose_coco(data: Any, source: str, allow_duplicate_ids: Optional[bool] = None) -> None:
    """Raises DensePoseFormatError listing every problem of `data` (parsed from `source`, named in the message).
    Repeated annotation ids are refused as detectron2's loader refuses them (`duplicate_ids_allowed(source)`)
    unless `allow_duplicate_ids` says otherwise (the evaluator matches people, not ids)."""
    if allow_duplicate_ids is None:
        allow_duplicate_ids = duplicate_ids_allowed(source)
    problems = validate_densepose_coco(data, allow_duplicate_ids)
    if problems:
        raise DensePoseFormatError(source, problems)


def _summary(data: dict) -> str:
    annotations = data["annotations"]
    with_points = [a for a in annotations if "dp_x" in a]
    num_points = sum(len(a["dp_x"]) for a in with_points)
    return (
        f"{len(data['images'])} images, {len(annotations)} annotations, "
        f"{len(with_points)} with DensePose points ({num_points} points)"
    )


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m densepose_ext.data.validate",
        description="Check DensePose-COCO annotation files; print every problem; exit 1 if any.",
    )
    parser.add_argument("files", nargs="+", metavar="FILE.json")
    args = parser.parse_args(argv)
    failed = False
    for path in args.files:
        try:
            with open(path) as f:
                data = json.load(f)
        except (OSError, ValueError) as e:
            print(f"{path}: cannot read JSON: {e}")
            failed = True
            continue
        problems = validate_densepose_coco(data, duplicate_ids_allowed(path))
        for warning in densepose_coco_warnings(data, path):
            print(f"WARNING: {warning}")
        for problem in problems:
            print(f"{path}: {problem}")
        if problems:
            print(f"{path}: FAILED with {len(problems)} problem(s)")
            failed = True
        else:
            print(f"{path}: OK ({_summary(data)})")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(run_cli(main, "python -m densepose_ext.data.validate"))
