"""The reference evaluator's matching of detections to ground truth (its ``DensePoseCocoEval.evaluateImg``).

It differs from pycocotools' keypoint matching in two ignore rules, both kept here for comparable numbers:

1. When every ground truth of an image is ignored (or it has none), every detection of the image is ignored.
2. After the greedy matching at each threshold, a detection left unmatched at the last threshold (0.95) takes, at
   every threshold, the ignore flag of the ground truth still unmatched there (crowds always eligible) with the
   largest box IoU >= 0.8 (the later one on ties); when that ground truth is ignored, the two are also matched at
   the last threshold.

Otherwise as pycocotools: detections in score order take the not yet matched ground truth (a crowd any number of
times) with the highest similarity >= the threshold (and > 0), non-ignored first, and take its ignore flag; an
unmatched detection whose area is outside the area range is ignored. Ground truth is ignored when the reference
ignores it (no ``dp_x``) or its area is outside the range. Accumulation is pycocotools'.
"""

from __future__ import annotations

import numpy as np
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from densepose_ext.evaluation.cocoeval import SimilarityTable

BOX_IOU_RULE = 0.8


def reference_match(
    similarity: np.ndarray,
    box_iou: np.ndarray,
    gt_ignore: np.ndarray,
    iscrowd: np.ndarray,
    thresholds: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Match D detections (score order) with G ground truth (ignored last) at T thresholds.

    Args:
        similarity, box_iou: (D, G).
        gt_ignore, iscrowd: (G,) bool.
        thresholds: (T,) increasing.
    Returns:
        dt_match (T, D) matched ground-truth index or -1; gt_match (T, G) detection index or -1; dt_ignore (T, D).
    """
    num_dt, num_gt = similarity.shape
    num_t = len(thresholds)
    dt_match = np.full((num_t, num_dt), -1)
    gt_match = np.full((num_t, num_gt), -1)
    dt_ignore = np.full((num_t, num_dt), bool(np.all(gt_ignore)))  # rule 1 (np.all of nothing is True)
    if num_dt == 0 or num_gt == 0:
        return dt_match, gt_match, dt_ignore
    for t, threshold in enumerate(thresholds):
        for d in range(num_dt):
            best, m = min(threshold, 1 - 1e-10), -1
            for g in range(num_gt):
                if gt_match[t, g] >= 0 and not iscrowd[g]:
                    continue
                if m > -1 and not gt_ignore[m] and gt_ignore[g]:
                    break
                if similarity[d, g] < best or similarity[d, g] == 0.0:
                    continue
                best, m = similarity[d, g], g
            if m > -1:
                dt_ignore[t, d], dt_match[t, d], gt_match[t, m] = gt_ignore[m], m, d
    last = num_t - 1
    for d in range(num_dt):  # rule 2
        if dt_match[last, d] >= 0:
            continue
        best, m = BOX_IOU_RULE, -1
        for g in range(num_gt):
            if gt_match[last, g] >= 0 and not iscrowd[g]:
                continue
            if box_iou[d, g] >= best:
                best, m = box_iou[d, g], g
        if m > -1:
            dt_ignore[:, d] = gt_ignore[m]
            if gt_ignore[m]:
                dt_match[last, d], gt_match[last, m] = m, d
    return dt_match, gt_match, dt_ignore


class ReferenceCOCOeval(COCOeval):
    """pycocotools' COCOeval (keypoint parameters: thresholds 0.50:0.05:0.95, 20 detections, areas all / medium /
    large) with the reference's matching over precomputed tables.

    Ground truth needs ``id``, ``area``, ``iscrowd``, ``num_keypoints`` and ``dp_ignore``; detections ``id``,
    ``score`` and ``area`` (w * h). ``similarity`` and ``box_iou`` hold every detection and ground truth of an image.
    """

    def __init__(self, coco_gt: COCO, coco_dt: COCO, similarity: SimilarityTable, box_iou: SimilarityTable) -> None:
        super().__init__(coco_gt, coco_dt, iouType="keypoints")
        self._similarity, self._box_iou = similarity, box_iou

    def computeOks(self, imgId: int, catId: int) -> None:  # noqa: N802 - called by COCOeval.evaluate
        return None  # evaluateImg reads the tables itself

    def evaluateImg(self, imgId: int, catId: int, aRng: list, maxDet: int):  # noqa: N802, N803 - pycocotools' API
        gts, dts = self._gts[imgId, catId], self._dts[imgId, catId]
        if not gts and not dts:
            return None
        ignore = np.array([bool(g["dp_ignore"]) or not aRng[0] <= g["area"] <= aRng[1] for g in gts], dtype=bool)
        gt_order = np.argsort(ignore, kind="mergesort")
        gts, ignore = [gts[k] for k in gt_order], ignore[gt_order]
        dts = [dts[k] for k in np.argsort([-d["score"] for d in dts], kind="mergesort")[:maxDet]]
        dt_ids, gt_ids = [d["id"] for d in dts], [g["id"] for g in gts]
        shape = (len(dts), len(gts))
        similarity = self._similarity.lookup(imgId, dt_ids, gt_ids) if all(shape) else np.zeros(shape)
        box_iou = self._box_iou.lookup(imgId, dt_ids, gt_ids) if all(shape) else np.zeros(shape)
        iscrowd = np.array([bool(g["iscrowd"]) for g in gts], dtype=bool)
        dt_match, gt_match, dt_ignore = reference_match(similarity, box_iou, ignore, iscrowd, self.params.iouThrs)
        outside = np.array([not aRng[0] <= d["area"] <= aRng[1] for d in dts], dtype=bool)
        dt_ignore |= (dt_match < 0) & outside[None, :]
        return {
            "image_id": imgId,
            "category_id": catId,
            "aRng": aRng,
            "maxDet": maxDet,
            "dtIds": dt_ids,
            "gtIds": gt_ids,
            "dtMatches": np.where(dt_match >= 0, np.array(gt_ids + [0])[dt_match], 0),
            "gtMatches": np.where(gt_match >= 0, np.array(dt_ids + [0])[gt_match], 0),
            "dtScores": [d["score"] for d in dts],
            "gtIgnore": ignore,
            "dtIgnore": dt_ignore,
        }
