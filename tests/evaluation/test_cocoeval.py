"""SimilarityCOCOeval fed with box IoU must reproduce pycocotools' own box evaluation (same matching and
accumulation), whatever the order of detections and ids."""

import contextlib
import io

import numpy as np
from pycocotools import mask as mask_utils
from pycocotools.cocoeval import COCOeval

from densepose_ext.evaluation.cocoeval import (METRIC_NAMES, SimilarityCOCOeval, SimilarityTable, make_coco,
                                               run_cocoeval, stats_dict)


def random_scene(seed):
    rng = np.random.default_rng(seed)
    images = [{"id": i} for i in range(1, 9)]
    gts, dts = [], []
    for img in images:
        for _ in range(rng.integers(0, 4)):
            x, y, w, h = rng.uniform(0, 300), rng.uniform(0, 300), rng.uniform(20, 200), rng.uniform(20, 200)
            gts.append(
                {
                    "id": len(gts) + 1,
                    "image_id": img["id"],
                    "category_id": 1,
                    "bbox": [x, y, w, h],
                    "area": w * h,
                    "iscrowd": 0,
                    "num_keypoints": 1,
                }
            )
            for _ in range(rng.integers(0, 3)):  # detections jittered around the person
                jitter = rng.normal(0, 0.15, 4) * [w, h, w, h]
                box = [x + jitter[0], y + jitter[1], max(5.0, w + jitter[2]), max(5.0, h + jitter[3])]
                dts.append({"image_id": img["id"], "bbox": box, "score": float(rng.random())})
        for _ in range(rng.integers(0, 3)):  # false positives
            box = list(rng.uniform(0, 300, 2)) + list(rng.uniform(20, 150, 2))
            dts.append({"image_id": img["id"], "bbox": box, "score": float(rng.random())})
    order = rng.permutation(len(dts))  # ids unrelated to score order
    dts = [
        dict(dts[k], id=int(j) + 1, category_id=1, area=dts[k]["bbox"][2] * dts[k]["bbox"][3], iscrowd=0)
        for j, k in enumerate(order)
    ]
    return images, gts, dts


def test_box_iou_similarity_reproduces_pycocotools_bbox_eval():
    for seed in range(3):
        images, gts, dts = random_scene(seed)
        cats = [{"id": 1}]
        coco_gt, coco_dt = make_coco(images, cats, gts), make_coco(images, cats, dts)
        table = SimilarityTable()
        for img in images:
            d = [a for a in dts if a["image_id"] == img["id"]]
            g = [a for a in gts if a["image_id"] == img["id"]]
            # Shuffled column/row order: lookups must go by id.
            d, g = d[::-1], g[::-1]
            sim = (
                mask_utils.iou([a["bbox"] for a in d], [a["bbox"] for a in g], [0] * len(g))
                if d and g
                else np.zeros((len(d), len(g)))
            )
            table.set_image(img["id"], [a["id"] for a in d], [a["id"] for a in g], sim)
        ours = run_cocoeval(SimilarityCOCOeval(coco_gt, coco_dt, table))

        ref = COCOeval(coco_gt, coco_dt, iouType="bbox")
        ref.params.maxDets = [20]
        ref.params.areaRng, ref.params.areaRngLbl = ours.params.areaRng, ours.params.areaRngLbl
        with contextlib.redirect_stdout(io.StringIO()):
            ref.evaluate()
            ref.accumulate()
        np.testing.assert_array_equal(ours.eval["precision"], ref.eval["precision"])
        np.testing.assert_array_equal(ours.eval["recall"], ref.eval["recall"])
        stats = stats_dict(ours)
        assert list(stats) == list(METRIC_NAMES) and 0 < stats["AP"] < 100


def test_match_only_pairs_each_person_with_its_best_detection():
    images = [{"id": 1}]
    gts = [
        {
            "id": 7,
            "image_id": 1,
            "category_id": 1,
            "bbox": [0, 0, 10, 10],
            "area": 100,
            "iscrowd": 0,
            "num_keypoints": 1,
        }
    ]
    dts = [
        {"id": k, "image_id": 1, "category_id": 1, "bbox": [0, 0, 10, 10], "score": s, "area": 100, "iscrowd": 0}
        for k, s in ((1, 0.2), (2, 0.9), (3, 0.5))
    ]
    table = SimilarityTable()
    table.set_image(1, [1, 2, 3], [7], np.array([[0.9], [0.6], [0.4]]))
    ev = run_cocoeval(
        SimilarityCOCOeval(make_coco(images, [{"id": 1}], gts), make_coco(images, [{"id": 1}], dts), table),
        match_only_at=0.5,
    )
    (e,) = [e for e in ev.evalImgs if e is not None]
    # Greedy by score: detection 2 (score .9, similarity .6 >= .5) takes the person first.
    assert e["gtIds"] == [7] and e["gtMatches"].tolist() == [[2.0]]
