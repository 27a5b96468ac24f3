"""COCO matching and AP/AR accumulation (pycocotools' COCOeval) over any precomputed instance similarity.

GPS, GPSm and mask IoU all follow the COCO keypoint protocol with their similarity in place of OKS
(docs/evaluation.md): thresholds 0.50:0.05:0.95, 101 recall points, at most 20 detections per image, areas
all / medium / large. pycocotools does the greedy matching, crowd/ignore handling and accumulation; we only
hand it the (detections x ground truth) similarity of each image.
"""

from __future__ import annotations

import contextlib
import io
from typing import Optional

import numpy as np
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

# Order of COCOeval.stats for the keypoint protocol (its `_summarizeKps`).
METRIC_NAMES = ("AP", "AP50", "AP75", "APm", "APl", "AR", "AR50", "AR75", "ARm", "ARl")


class SimilarityTable:
    """Similarity of detections and ground-truth annotations, one matrix per image, addressed by annotation ids."""

    def __init__(self) -> None:
        self._by_image: dict[int, tuple[dict[int, int], dict[int, int], np.ndarray]] = {}

    def set_image(self, image_id: int, dt_ids: list[int], gt_ids: list[int], matrix: np.ndarray) -> None:
        """matrix: (len(dt_ids), len(gt_ids)) similarity in [0, 1]."""
        matrix = np.asarray(matrix, dtype=np.float64)
        if matrix.shape != (len(dt_ids), len(gt_ids)):
            raise ValueError(f"image {image_id}: expected a {len(dt_ids)}x{len(gt_ids)} similarity, got {matrix.shape}")
        rows = {d: k for k, d in enumerate(dt_ids)}
        cols = {g: k for k, g in enumerate(gt_ids)}
        self._by_image[image_id] = (rows, cols, matrix)

    def lookup(self, image_id: int, dt_ids: list[int], gt_ids: list[int]) -> np.ndarray:
        """(len(dt_ids), len(gt_ids)) sub-matrix in the given order; KeyError if an id was never set."""
        rows, cols, matrix = self._by_image[image_id]
        return matrix[np.ix_([rows[d] for d in dt_ids], [cols[g] for g in gt_ids])]


class SimilarityCOCOeval(COCOeval):
    """COCOeval with the keypoint protocol whose per-image similarity is read from a ``SimilarityTable``.

    Ground truth annotations must carry ``num_keypoints`` (0 makes pycocotools ignore the person, as it does for
    unannotated people in keypoint evaluation), ``area``, ``iscrowd``; detections ``score`` and ``area``.
    """

    def __init__(self, coco_gt: COCO, coco_dt: COCO, table: SimilarityTable) -> None:
        super().__init__(coco_gt, coco_dt, iouType="keypoints")
        self._table = table

    def computeOks(self, imgId: int, catId: int):  # noqa: N802 - the name COCOeval.evaluate calls
        dts = self._dts[imgId, catId]
        gts = self._gts[imgId, catId]
        if not dts or not gts:
            return []
        # Same detection order and truncation as COCOeval.computeOks: evaluateImg indexes rows that way.
        order = np.argsort([-d["score"] for d in dts], kind="mergesort")[: self.params.maxDets[-1]]
        return self._table.lookup(imgId, [dts[k]["id"] for k in order], [g["id"] for g in gts])


def make_coco(images: list[dict], categories: list[dict], annotations: list[dict]) -> COCO:
    """A pycocotools COCO object from in-memory lists, without its console chatter."""
    coco = COCO()
    coco.dataset = {"images": images, "categories": categories, "annotations": annotations}
    with contextlib.redirect_stdout(io.StringIO()):
        coco.createIndex()
    return coco


def run_cocoeval(ev: COCOeval, match_only_at: Optional[float] = None) -> COCOeval:
    """Match and accumulate ``ev`` (a COCOeval with the keypoint protocol), or with ``match_only_at`` only match
    (``evalImgs``), at that single threshold and for the area range "all"."""
    summarize = match_only_at is None
    if not summarize:
        ev.params.iouThrs = np.array([match_only_at], dtype=np.float64)
        ev.params.areaRng, ev.params.areaRngLbl = ev.params.areaRng[:1], ev.params.areaRngLbl[:1]
    with contextlib.redirect_stdout(io.StringIO()):
        ev.evaluate()
        if summarize:
            ev.accumulate()
            ev.summarize()
    return ev


def stats_dict(ev: COCOeval) -> dict[str, Optional[float]]:
    """COCOeval.stats as percentages by name; None where COCO reports -1 (nothing to evaluate)."""
    return {name: (float(v) * 100.0 if v >= 0 else None) for name, v in zip(METRIC_NAMES, ev.stats)}
