import json
import math

import numpy as np
import pytest
from pycocotools import mask as mask_utils

from densepose_ext.data.validate import (
    DensePoseFormatError,
    check_densepose_coco,
    densepose_annotation_problems,
    main,
    validate_densepose_coco,
)

from .helpers import tiny_densepose_coco


def _ann(data: dict, ann_id: int) -> dict:
    return next(a for a in data["annotations"] if a["id"] == ann_id)


def test_good_file_has_no_problems():
    assert validate_densepose_coco(tiny_densepose_coco()) == []


def _set(ann_id, field, value):
    def mutate(data):
        _ann(data, ann_id)[field] = value
    return mutate


def _set_point(ann_id, field, index, value):
    def mutate(data):
        _ann(data, ann_id)[field][index] = value
    return mutate


def _delete(ann_id, field):
    def mutate(data):
        del _ann(data, ann_id)[field]
    return mutate


def _set_mask(ann_id, part, value):
    def mutate(data):
        _ann(data, ann_id)["dp_masks"][part] = value
    return mutate


def _duplicate_image_id(data):
    data["images"][1]["id"] = 1
    _ann(data, 21)["image_id"] = 1


def _drop_images(data):
    del data["images"]


def _densepose_on_a_dog(data):
    data["categories"].append({"id": 2, "name": "dog"})
    _ann(data, 11)["category_id"] = 2


# A 256x256 mask with a rectangle, compressed by pycocotools.
_RECTANGLE = np.zeros((256, 256), np.uint8, order="F")
_RECTANGLE[40:200, 60:90] = 1
_RECTANGLE_COUNTS = mask_utils.encode(_RECTANGLE)["counts"].decode()
# Cut after a complete number (a character without the continuation bit 0x20): runs are lost, no number is broken.
_CUT = next(_RECTANGLE_COUNTS[:k] for k in range(len(_RECTANGLE_COUNTS) // 2, 0, -1)
            if not (ord(_RECTANGLE_COUNTS[k - 1]) - 48) & 0x20)


# (mutation, expected (image_id, annotation_id, field), text that must appear in the message)
BROKEN = {
    "missing dp_U": (_delete(11, "dp_U"), (1, 11, "dp_U"), "missing"),
    "unequal lengths": (
        lambda d: _ann(d, 11)["dp_V"].append(0.5), (1, 11, "dp_x/dp_y/dp_I/dp_U/dp_V"), "dp_V=5"),
    "dp_x at 256": (_set_point(11, "dp_x", 2, 256.0), (1, 11, "dp_x"), "first 256.0 at index 2"),
    "negative dp_y": (_set_point(21, "dp_y", 1, -0.5), (2, 21, "dp_y"), "first -0.5 at index 1"),
    "dp_I zero": (_set_point(11, "dp_I", 0, 0.0), (1, 11, "dp_I"), "1..24"),
    "dp_I fractional": (_set_point(21, "dp_I", 1, 2.5), (2, 21, "dp_I"), "first 2.5 at index 1"),
    "dp_I 25": (_set_point(21, "dp_I", 0, 25.0), (2, 21, "dp_I"), "first 25.0 at index 0"),
    "dp_U above 1": (_set_point(11, "dp_U", 3, 1.5), (1, 11, "dp_U"), "values in [0, 1]"),
    "dp_V NaN": (_set_point(11, "dp_V", 1, math.nan), (1, 11, "dp_V"), "first nan"),
    "dp_x string": (_set_point(21, "dp_x", 0, "12"), (2, 21, "dp_x"), "numbers only"),
    "dp_x not a list": (_set(21, "dp_x", 3.0), (2, 21, "dp_x"), "got float"),
    "13 masks": (lambda d: _ann(d, 11)["dp_masks"].pop(), (1, 11, "dp_masks"), "14 entries, got 13 entries"),
    "mask size": (_set_mask(11, 4, {"size": [128, 256], "counts": "abc"}), (1, 11, "dp_masks[4].size"), "[256, 256]"),
    "mask size not a list": (_set_mask(11, 4, {"size": 256, "counts": "abc"}), (1, 11, "dp_masks[4].size"), "got 256"),
    "masks not a list": (_set(11, "dp_masks", {"0": []}), (1, 11, "dp_masks"), "got dict"),
    "mask not RLE": (_set_mask(11, 5, [[1, 2, 3, 4, 5, 6]]), (1, 11, "dp_masks[5]"), "RLE dict"),
    "mask short runs": (_set_mask(11, 6, {"size": [256, 256], "counts": [10, 20]}), (1, 11, "dp_masks[6].counts"),
                        "summing to 65536"),
    "bbox outside": (_set(12, "bbox", [50.0, 30.0, 40.0, 25.0]), (1, 12, "bbox"), "inside the 80x60 image"),
    "bbox negative width": (_set(12, "bbox", [50.0, 30.0, -1.0, 25.0]), (1, 12, "bbox"), "w, h > 0"),
    "bbox zero width": (_set(12, "bbox", [50.0, 30.0, 0.0, 25.0]), (1, 12, "bbox"), "w, h > 0"),
    "mask counts cut short": (_set_mask(11, 7, {"size": [256, 256], "counts": _CUT}),
                              (1, 11, "dp_masks[7].counts"), "covering 65536 pixels"),
    "mask counts cut in a number": (_set_mask(11, 7, {"size": [256, 256], "counts": _RECTANGLE_COUNTS[:2] + "o"}),
                                    (1, 11, "dp_masks[7].counts"), "cut inside a number"),
    "mask counts foreign characters": (_set_mask(11, 7, {"size": [256, 256], "counts": "0~1"}),
                                       (1, 11, "dp_masks[7].counts"), "alphabet '0'..'o' only, got '~'"),
    "repeated annotation id": (_set(21, "id", 11), (2, 11, "id"), "unique annotation ids"),
    "DensePose on another category": (_densepose_on_a_dog, (1, 11, "category_id"), "the person category [1]"),
    "bbox missing": (_delete(21, "bbox"), (2, 21, "bbox"), "missing"),
    "unknown image": (_set(21, "image_id", 7), (7, 21, "image_id"), "the id of a listed image"),
    "unknown category": (_set(21, "category_id", 2), (2, 21, "category_id"), "one of [1]"),
    "iscrowd 2": (_set(12, "iscrowd", 2), (1, 12, "iscrowd"), "0 or 1"),
    "keypoints length": (_set(12, "keypoints", [1, 2]), (1, 12, "keypoints"), "x, y, visibility"),
    "duplicate image id": (_duplicate_image_id, (1, None, "id"), "unique image ids"),
    "no images": (_drop_images, (None, None, "images"), "missing"),
    "annotation not an object": (lambda d: d["annotations"].append([1, 2]), (None, None, "annotations[4]"),
                                 "an object"),
}


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_broken_copy_reports_the_right_problem(name):
    mutate, (image_id, ann_id, field), text = BROKEN[name]
    data = tiny_densepose_coco()
    mutate(data)
    problems = validate_densepose_coco(data)
    matching = [p for p in problems if (p.image_id, p.annotation_id, p.field) == (image_id, ann_id, field)]
    assert len(matching) == 1, [str(p) for p in problems]
    assert text in str(matching[0])
    assert len(problems) == 1, [str(p) for p in problems]


def test_repeated_annotation_ids_are_tolerated_like_detectron2_does_for_coco_minival():
    data = tiny_densepose_coco()
    _set(21, "id", 11)(data)
    assert validate_densepose_coco(data, allow_duplicate_ids=True) == []
    check_densepose_coco(data, "densepose_minival2014.json")  # detectron2's own rule: tolerated in *minival*
    with pytest.raises(DensePoseFormatError, match="annotation 11: id: expected unique annotation ids"):
        check_densepose_coco(data, "densepose_train2014.json")


def test_a_whole_compressed_mask_passes():
    data = tiny_densepose_coco()
    _set_mask(11, 7, {"size": [256, 256], "counts": _RECTANGLE_COUNTS})(data)
    assert validate_densepose_coco(data) == []


def test_what_training_ignores_is_warned_by_name(tmp_path, capsys):
    data = tiny_densepose_coco()
    _set(11, "iscrowd", 1)(data)
    empty = dict(tiny_densepose_coco(), annotations=[])
    for name, content in (("crowd.json", data), ("empty.json", empty)):
        (tmp_path / name).write_text(json.dumps(content))
    assert main([str(tmp_path / "crowd.json"), str(tmp_path / "empty.json")]) == 0
    out = capsys.readouterr().out
    assert "WARNING: " in out and "crowd.json: 1 crowd annotation(s) with DensePose points, ids [11]" in out
    assert "empty.json: annotations: an empty list" in out


def test_every_problem_is_reported_and_named_in_the_error():
    data = tiny_densepose_coco()
    _set_point(11, "dp_x", 0, 300.0)(data)
    _set_point(11, "dp_x", 1, 400.0)(data)  # same annotation and field: one problem, counting both values
    _set_point(21, "dp_U", 0, -1.0)(data)
    with pytest.raises(DensePoseFormatError) as info:
        check_densepose_coco(data, "some/file.json")
    message = str(info.value)
    assert message.startswith("some/file.json: 2 DensePose-COCO format problem(s)")
    assert ("image 1, annotation 11: dp_x: expected values in [0, 256) (box-256 frame), "
            "got 2 bad value(s), first 300.0 at index 0") in message
    assert ("image 2, annotation 21: dp_U: expected values in [0, 1], "
            "got 1 bad value(s), first -1.0 at index 0") in message


def test_error_pickles_with_its_problems():
    import pickle

    data = tiny_densepose_coco()
    _set_point(11, "dp_I", 0, 0.0)(data)
    with pytest.raises(DensePoseFormatError) as info:
        check_densepose_coco(data, "f.json")
    back = pickle.loads(pickle.dumps(info.value))
    assert str(back) == str(info.value) and back.problems == info.value.problems


def test_dataset_dict_annotations_use_the_same_checks():
    # The mapper's form: detectron2 annotations without image_id, the image id passed beside them.
    ann = _ann(tiny_densepose_coco(), 21)
    del ann["image_id"]
    ann["dp_I"][0] = 0.0
    problems = densepose_annotation_problems([ann], [2])
    assert [(p.image_id, p.annotation_id, p.field) for p in problems] == [(2, 21, "dp_I")]


def test_cli_passes_good_and_fails_broken_files(tmp_path, capsys):
    good = tmp_path / "good.json"
    good.write_text(json.dumps(tiny_densepose_coco()))
    bad_data = tiny_densepose_coco()
    _set_point(21, "dp_y", 0, 256.0)(bad_data)
    _set(12, "bbox", [70.0, 30.0, 20.0, 25.0])(bad_data)
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(bad_data))

    assert main([str(good)]) == 0
    assert "good.json: OK (2 images, 4 annotations, 2 with DensePose points (6 points))" in capsys.readouterr().out

    assert main([str(good), str(bad)]) == 1
    out = capsys.readouterr().out
    assert "bad.json: image 2, annotation 21: dp_y:" in out
    assert "bad.json: image 1, annotation 12: bbox:" in out
    assert "bad.json: FAILED with 2 problem(s)" in out

    (tmp_path / "truncated.json").write_text("{\"images\": [")
    assert main([str(tmp_path / "truncated.json")]) == 1
    assert "cannot read JSON" in capsys.readouterr().out


def _reference_point_problems(data: dict) -> dict:
    """Slow reference: point by point, (image id, annotation id, field) -> (bad count, first bad index)."""
    ok = {
        "dp_x": lambda v: 0 <= v < 256, "dp_y": lambda v: 0 <= v < 256,
        "dp_I": lambda v: 1 <= v <= 24 and v == int(v),
        "dp_U": lambda v: 0 <= v <= 1, "dp_V": lambda v: 0 <= v <= 1,
    }
    found = {}
    for ann in data["annotations"]:
        for field, is_ok in ok.items():
            bad = [n for n, v in enumerate(ann.get(field, [])) if not (is_ok(v) and not math.isnan(v))]
            if bad:
                found[(ann["image_id"], ann["id"], field)] = (len(bad), bad[0])
    return found


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_vectorised_point_checks_equal_the_pointwise_reference(seed):
    rng = np.random.default_rng(seed)
    data = tiny_densepose_coco()
    template = _ann(data, 21)
    for k in range(40):  # 40 people on image 2 with 0..30 random points each
        n = int(rng.integers(0, 31))
        ann = dict(template, id=100 + k, dp_x=(rng.random(n) * 255).tolist(), dp_y=(rng.random(n) * 255).tolist(),
                   dp_I=rng.integers(1, 25, n).astype(float).tolist(), dp_U=rng.random(n).tolist(),
                   dp_V=rng.random(n).tolist())
        data["annotations"].append(ann)
    bad_values = {"dp_x": [-1e-3, 256.0, math.nan], "dp_y": [300.0, -5.0], "dp_I": [0.0, 25.0, 3.5],
                  "dp_U": [1.0001, -0.1], "dp_V": [math.inf, 2.0]}
    with_points = [a for a in data["annotations"] if a.get("dp_x")]
    for _ in range(60):
        ann = with_points[int(rng.integers(len(with_points)))]
        field = sorted(bad_values)[int(rng.integers(5))]
        ann[field][int(rng.integers(len(ann[field])))] = bad_values[field][int(rng.integers(len(bad_values[field])))]

    expected = _reference_point_problems(data)
    problems = validate_densepose_coco(data)
    assert len(problems) == len(expected) > 10
    for p in problems:
        count, first = expected[(p.image_id, p.annotation_id, p.field)]
        assert p.actual.startswith(f"{count} bad value(s), first ") and p.actual.endswith(f" at index {first}")
