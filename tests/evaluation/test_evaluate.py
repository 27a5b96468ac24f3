"""End-to-end evaluation of hand-made detections whose AP/AR, GPS and AUC are known (toy geodesic metric)."""

import copy
import math

import numpy as np
import pytest
import torch
from pycocotools import mask as mask_utils

from densepose_ext.evaluation.evaluate import evaluate_densepose, score_image
from densepose_ext.evaluation.ground_truth import DensePoseGroundTruth
from densepose_ext.evaluation.results_file import decode_arrays
from densepose_ext.structures.results import DensePoseResult
from densepose_ext.utils.cli_errors import UserInputError

from .synthetic import ann_box, chart_distance, dataset, make_person, perfect_result, record, reference_kappa

METRICS = ("GPS", "GPSm", "IoU")


@pytest.fixture(scope="module")
def people():
    return [
        make_person(1, 1, [20, 30, 64, 128], 100, seed=0),
        make_person(2, 1, [150, 40, 128, 128], 120, seed=1),
        make_person(3, 2, [10, 10, 64, 64], 60, seed=2),
    ]


def run(people, records, **kw):
    return evaluate_densepose(DensePoseGroundTruth(dataset(people)), records, distance_fn=chart_distance, **kw)


def shifted(result: DensePoseResult, shift_255: int) -> DensePoseResult:
    """Move every foreground U by shift/255 (towards the chart centre): a known distance in the toy metric."""
    uv = result.uv.clone()
    fg = result.labels > 0
    sign = torch.where(uv[0] < 0.5, 1.0, -1.0)
    uv[0] = torch.where(fg, uv[0] + sign * shift_255 / 255, uv[0])
    return DensePoseResult(result.labels, uv)


def test_perfect_predictions_score_100(people):
    rep = run(people, [record(p["image_id"], perfect_result(p), ann_box(p), 0.9) for p in people])
    for name in METRICS:
        assert rep[name] == pytest.approx({k: 100.0 for k in rep[name]}), name
    assert rep["num_people"] == 3 and rep["num_detections"] == 3 and rep["kappa"]["mode"] == "global"
    assert rep["pointwise"]["num_points"] == 280
    assert rep["pointwise"]["AUC10"] == pytest.approx(1.0, abs=1e-6)


@pytest.mark.parametrize("mode", ["global", "per-part"])
def test_displaced_prediction_scores_exp_of_distance(people, mode):
    d = 46 / 255
    person = people[0]
    result = shifted(perfect_result(person), 46)
    scores = score_image([person], [record(1, result, ann_box(person), 1.0)], (240, 320), mode, chart_distance, "gt")
    kappa = np.array([reference_kappa(int(p), mode) for p in person["dp_I"]])
    expected = np.mean(np.exp(-d * d / (2 * kappa * kappa)))
    assert scores["GPS"][0, 0] == pytest.approx(expected, abs=1e-6)
    assert scores["IoU"][0, 0] == 1.0 and scores["GPSm"][0, 0] == pytest.approx(math.sqrt(expected), abs=1e-6)
    np.testing.assert_allclose(scores["dist"], d, atol=1e-6)


def test_displaced_prediction_ap_counts_the_thresholds_it_passes(people):
    # Global κ: GPS = exp(-(46/255)^2 / (2 .255^2)) = 0.7787 passes 0.50..0.75 (6 of 10 thresholds).
    gps = math.exp(-((46 / 255) ** 2) / (2 * 0.255**2))
    assert 0.75 < gps < 0.8
    rep = run(people, [record(p["image_id"], shifted(perfect_result(p), 46), ann_box(p), 0.9) for p in people])
    assert rep["GPS"]["AP"] == pytest.approx(60.0) and rep["GPS"]["AR"] == pytest.approx(60.0)
    assert rep["GPS"]["AP50"] == pytest.approx(100.0) and rep["GPS"]["AP75"] == pytest.approx(100.0)
    # GPSm = sqrt(0.7787) = 0.882 passes 0.50..0.85 (8 of 10); mask IoU is untouched.
    assert rep["GPSm"]["AP"] == pytest.approx(80.0) and rep["IoU"]["AP"] == pytest.approx(100.0)
    # Pointwise: every error is 18 cm -> AUC10 = 0, AUC30 = 1 - 0.18/0.3.
    assert rep["pointwise"]["AUC10"] == 0.0
    assert rep["pointwise"]["AUC30"] == pytest.approx(1 - (46 / 255) / 0.3, abs=1e-6)


def test_wrong_part_collapses_gps_but_not_iou(people):
    def wrong_part(result):
        labels = torch.where(result.labels > 0, result.labels % 24 + 1, result.labels)
        return DensePoseResult(labels, result.uv)

    rep = run(people, [record(p["image_id"], wrong_part(perfect_result(p)), ann_box(p), 0.9) for p in people])
    assert rep["GPS"]["AP"] == 0.0 and rep["GPS"]["AR"] == 0.0 and rep["GPSm"]["AP"] == 0.0
    assert rep["IoU"]["AP"] == pytest.approx(100.0)
    assert rep["pointwise"]["AUC30"] == 0.0


def test_missing_detection_lowers_recall_exactly(people):
    rep = run(people, [record(p["image_id"], perfect_result(p), ann_box(p), 0.9) for p in people[:2]])
    for name in METRICS:
        assert rep[name]["AR"] == pytest.approx(200 / 3), name
        # Precision 1 at the 67 recall points 0.00..0.66 reached, 0 at the 34 beyond 2/3.
        assert rep[name]["AP"] == pytest.approx(6700 / 101), name
    assert rep["pointwise"]["AUC10"] == pytest.approx(220 / 280, abs=1e-6)


def test_points_outside_the_box_count_zero(people):
    person = people[0]
    full = perfect_result(person)
    cropped = DensePoseResult(full.labels[:, :48].contiguous(), full.uv[:, :, :48].contiguous())
    cropped_box = ann_box(person) - [0.0, 0.0, 16.0, 0.0]
    inside = np.asarray(person["dp_x"]) * 64 / 255 < 48  # the reference's point frame (the default)
    assert 0 < inside.sum() < len(inside)
    scores = score_image([person], [record(1, cropped, cropped_box, 1.0)], (240, 320), "global", chart_distance, "gt")
    assert scores["GPS"][0, 0] == pytest.approx(inside.mean(), abs=1e-6)
    assert np.all(np.isinf(scores["dist"][0, ~inside]))
    rep = run([person], [record(1, cropped, cropped_box, 1.0)])  # box IoU 0.75: matched for the pointwise protocol
    assert rep["pointwise"]["AUC10"] == pytest.approx(inside.mean(), abs=1e-6)


def test_detection_on_unannotated_person_is_ignored_not_false_positive(people):
    unannotated = {k: v for k, v in people[1].items() if not k.startswith("dp_")}
    stray = record(1, perfect_result(people[1]), ann_box(people[1]), 0.99)  # highest score, on the unannotated person
    records = [record(p["image_id"], perfect_result(p), ann_box(p), 0.9) for p in (people[0], people[2])] + [stray]
    rep = run([people[0], unannotated, people[2]], records)
    assert rep["num_people"] == 2 and rep["GPS"]["AP"] == pytest.approx(100.0)
    # Without the ignore region the same detection is the top-ranked false positive.
    rep = run([people[0], people[2]], records)
    assert rep["GPS"]["AP"] < 90.0


def test_false_positive_ranked_first_halves_precision_at_first_recall(people):
    # One person detected once correctly (score .5) and once on empty background (score .9):
    # precision 1/2 at every recall point -> AP 50.
    person = people[2]
    fp = record(2, perfect_result(person), ann_box(person) + [200.0, 100.0, 200.0, 100.0], 0.9)
    rep = run([person], [record(2, perfect_result(person), ann_box(person), 0.5), fp])
    for name in METRICS:
        assert rep[name]["AP"] == pytest.approx(50.0) and rep[name]["AR"] == pytest.approx(100.0)


def test_report_is_invariant_to_record_order(people):
    records = [
        record(p["image_id"], shifted(perfect_result(p), 10 * k), ann_box(p), 0.5 + 0.1 * k)
        for k, p in enumerate(people)
    ]
    a, b = run(people, records), run(people, records[::-1])
    assert a == b


def test_bad_inputs_name_file_record_and_field(people):
    gt = DensePoseGroundTruth(dataset(people), "gt.json")
    bad = record(1, perfect_result(people[0]), ann_box(people[0]), 0.9)
    bad["image_id"] = 99
    with pytest.raises(UserInputError,
                       match=r"res.json: record 0: field 'image_id': expected an image id of gt.json, found 99"):
        evaluate_densepose(gt, [bad], distance_fn=chart_distance, source="res.json")
    broken = copy.deepcopy(people[0])
    broken["dp_I"][3] = 0.0
    with pytest.raises(
        ValueError, match=r"(?s)gt.json.*annotation 1: dp_I: expected integer-valued part labels in 1..24"
    ):
        DensePoseGroundTruth(dataset([broken]), "gt.json")
    with pytest.raises(ValueError, match="kappa mode"):
        evaluate_densepose(gt, [], kappa_mode="paper", distance_fn=chart_distance)


def test_repeated_annotation_ids_are_evaluated_as_distinct_people(people):
    # The official COCO 2014 minival repeats annotation ids; each person must still be matched on its own.
    twins = [dict(p, id=5) for p in people]
    rep = run(twins, [record(p["image_id"], perfect_result(p), ann_box(p), 0.9) for p in people[:2]])
    assert rep["num_people"] == 3
    assert rep["GPS"]["AR"] == pytest.approx(200 / 3) and rep["GPS"]["AP"] == pytest.approx(6700 / 101)


def test_no_detections_at_all(people):
    rep = run(people, [])
    assert rep["GPS"]["AP"] == 0.0 and rep["GPS"]["AR"] == 0.0 and rep["pointwise"]["AUC30"] == 0.0


def score_image_reference(annotated, records, kappa_mode, distance, frame):
    """GPS straight from the definitions, one detection, person and point at a time."""
    gps = np.zeros((len(records), len(annotated)))
    for d, rec in enumerate(records):
        (x0, y0, x1, y1), labels, uv = decode_arrays(rec["densepose"])
        dx, dy, dw, dh = rec["bbox"]
        h, w = labels.shape
        for g, ann in enumerate(annotated):
            bx, by, bw, bh = ann["bbox"]
            total = 0.0
            for p in range(len(ann["dp_x"])):
                if frame == "cell-centre":
                    x, y = bx + ann["dp_x"][p] * bw / 256, by + ann["dp_y"][p] * bh / 256
                    if not (x0 <= x < x1 and y0 <= y < y1):
                        continue  # outside the detection: 0
                    r, c = int((y - y0) / (y1 - y0) * h), int((x - x0) / (x1 - x0) * w)
                else:  # the reference's computeOgps: truncated pixel offsets from the bbox corner
                    c = int(ann["dp_x"][p] * bw / 255.0 + bx - dx)
                    r = int(ann["dp_y"][p] * bh / 255.0 + by - dy)
                    if not (0 <= c < int(dw) and 0 <= r < int(dh)):
                        continue
                    r, c = r * h // int(dh), c * w // int(dw)
                if labels[r, c] == 0:
                    continue  # predicted background: 0
                part = int(ann["dp_I"][p])
                g_m = distance(
                    np.array([part]),
                    np.array([ann["dp_U"][p]]),
                    np.array([ann["dp_V"][p]]),
                    np.array([labels[r, c]]),
                    np.array([uv[0, r, c]]),
                    np.array([uv[1, r, c]]),
                )[0]
                kappa = reference_kappa(part, kappa_mode)
                total += math.exp(-(g_m**2) / (2 * kappa**2))
            gps[d, g] = total / len(ann["dp_x"])
    return gps


@pytest.mark.parametrize("mode", ["global", "per-part"])
@pytest.mark.parametrize("frame", ["reference", "cell-centre"])
def test_vectorised_image_scoring_equals_per_point_reference(people, mode, frame):
    rng = np.random.default_rng(9)
    annotated = people[:2]
    records = []
    for ann in annotated * 2:  # two noisy detections per person, boxes off by several pixels
        x, y, w, h = ann["bbox"]
        box = np.array([x, y, x + w, y + h]) + rng.normal(0, 6, 4)
        # Grids of the box's size in the reference's frame (as its results are), of another size in ours.
        size = (int(box[3] - box[1]), int(box[2] - box[0])) if frame == "reference" else (
            int(np.ceil(box[3] - box[1])) + 3, int(np.ceil(box[2] - box[0])) - 2)
        labels = rng.integers(0, 25, size).astype(np.uint8)
        labels[rng.random(size) < 0.3] = 0
        result = DensePoseResult(torch.from_numpy(labels), torch.from_numpy(rng.random((2,) + size).astype(np.float32)))
        records.append(record(1, result, box, 1.0))
    fast = score_image(annotated, records, (240, 320), mode, chart_distance, "gt", points=frame)["GPS"]
    np.testing.assert_allclose(
        fast, score_image_reference(annotated, records, mode, chart_distance, frame), rtol=1e-12, atol=1e-15
    )
    assert (fast > 0).sum() >= 4


def test_only_the_20_best_detections_of_an_image_count(people):
    person = people[2]
    far_box = ann_box(person) + [200.0, 100.0, 200.0, 100.0]
    decoys = [record(2, perfect_result(person), far_box, 0.5 + k / 100) for k in range(20)]
    rep = run([person], decoys + [record(2, perfect_result(person), ann_box(person), 0.4)])
    assert rep["num_detections"] == 20 and rep["GPS"]["AR"] == 0.0
    rep = run([person], decoys[1:] + [record(2, perfect_result(person), ann_box(person), 0.4)])
    assert rep["num_detections"] == 20 and rep["GPS"]["AR"] == pytest.approx(100.0)


def test_whole_dataset_costs_one_distance_call(people):
    calls = []

    def counting(*args):
        calls.append(len(args[0]))
        return chart_distance(*args)

    evaluate_densepose(
        DensePoseGroundTruth(dataset(people)),
        [record(p["image_id"], perfect_result(p), ann_box(p), 0.9) for p in people],
        distance_fn=counting,
    )
    assert calls == [280]  # every annotated point is predicted by exactly one (its own) detection


def test_detections_inside_a_crowd_are_ignored(people):
    # A crowd region over the right half of image 1; a confident detection inside it is neither TP nor FP.
    region = np.zeros((240, 320), np.uint8)
    region[40:168, 150:278] = 1
    rle = mask_utils.encode(np.asfortranarray(region))
    crowd = {
        "id": 9,
        "image_id": 1,
        "category_id": 1,
        "iscrowd": 1,
        "bbox": [150.0, 40.0, 128.0, 128.0],
        "area": 128.0 * 128.0,
        "segmentation": {"size": rle["size"], "counts": rle["counts"].decode("ascii")},
    }
    full = perfect_result(people[1])
    inside = DensePoseResult(full.labels[:64, :64].contiguous(), full.uv[:, :64, :64].contiguous())
    inside_box = ann_box(people[1]) - [0.0, 0.0, 64.0, 64.0]  # a quarter of the crowd box
    records = [record(1, perfect_result(people[0]), ann_box(people[0]), 0.5), record(1, inside, inside_box, 0.99)]
    rep = run([people[0], crowd], records)
    assert rep["num_people"] == 1 and rep["GPS"]["AP"] == pytest.approx(100.0)


def test_records_of_other_categories_are_counted_not_scored(people):
    other = record(1, perfect_result(people[1]), ann_box(people[1]), 0.99)
    other["category_id"] = 2
    ds = dataset(people[:1])
    ds["categories"].append({"id": 2, "name": "dog"})
    records = [record(1, perfect_result(people[0]), ann_box(people[0]), 0.5), other]
    rep = evaluate_densepose(DensePoseGroundTruth(ds), records, distance_fn=chart_distance)
    assert rep["num_detections"] == 1 and rep["num_other_category_records"] == 1
    assert rep["GPS"]["AP"] == pytest.approx(100.0)


def test_mask_iou_falls_back_to_the_coco_segmentation(people):
    # Without dp_masks the ground-truth foreground is the COCO segmentation: here the whole box, of which the
    # synthetic prediction covers the central rectangle (rows 64:192, cols 32:224 of 256): IoU = 0.375.
    person = {k: v for k, v in people[0].items() if k != "dp_masks"}
    x, y, w, h = (int(v) for v in person["bbox"])
    person["segmentation"] = [[x, y, x + w, y, x + w, y + h, x, y + h]]
    scores = score_image(
        [person],
        [record(1, perfect_result(people[0]), ann_box(people[0]), 1.0)],
        (240, 320),
        "global",
        chart_distance,
        "gt",
    )
    assert scores["IoU"][0, 0] == pytest.approx(0.5 * 0.75, abs=0.02)


def test_detection_on_an_image_without_people_is_ignored(people):
    # The reference's rule: an image whose ground truth is all ignored (here: none) has all its detections ignored.
    # pycocotools would rank this FP first (AP 75); the reference scores it as if it were not there.
    fp = record(3, perfect_result(people[0]), ann_box(people[0]), 0.95)
    records = [record(p["image_id"], perfect_result(p), ann_box(p), 0.9) for p in people] + [fp]
    rep = evaluate_densepose(DensePoseGroundTruth(dataset(people, num_images=3)), records, distance_fn=chart_distance)
    assert rep["num_images"] == 3
    for name in METRICS:
        assert rep[name]["AP"] == pytest.approx(100.0) and rep[name]["AR"] == pytest.approx(100.0), name


def test_pointwise_pairs_a_person_with_its_own_detection_not_an_unannotated_neighbours(people):
    # B (no points) stands just below A; B's detection overlaps A by box IoU 0.86 and scores higher.
    a = people[0]
    b = {"id": 8, "image_id": 1, "category_id": 1, "iscrowd": 0, "bbox": [20.0, 40.0, 64.0, 128.0], "area": 8192.0}
    full = perfect_result(a)
    wrong = DensePoseResult(torch.where(full.labels > 0, full.labels % 24 + 1, 0).to(torch.uint8), full.uv)
    wrong_box = ann_box(a) + [0.0, 10.0, 0.0, 10.0]
    rep = run([a, b], [record(1, wrong, wrong_box, 0.99), record(1, perfect_result(a), ann_box(a), 0.9)])
    assert rep["pointwise"]["AUC10"] == pytest.approx(1.0, abs=1e-6)
    assert rep["GPS"]["AP"] == pytest.approx(100.0)  # B's detection is absorbed by its ignore region
