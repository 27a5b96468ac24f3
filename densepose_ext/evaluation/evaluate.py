"""Evaluate DensePose detections against DensePose-COCO ground truth: one function shared by the detectron2
evaluator and the command line.

Per instance: GPS, GPSm and mask IoU between every detection and every annotated person of an image, fed to
COCO matching/accumulation (cocoeval.py). Ignore regions (crowds, people without dp points) take a box rule:
a detection whose box covers one (IoU >= 0.7; for crowds, share of the detection box inside it) is matched to it
and so neither counts as a true nor as a false positive, like the reference evaluator's ignore boxes.

Pointwise: every annotated person takes the detection that COCO matching pairs it with by box IoU >= 0.5
(all people competing, annotated or not); the geodesic errors at its points feed RCP / AUC (pointwise.py). Points of unmatched people, points predicted
as background or outside the detection box have infinite error.

Everything is float64 numpy on the host: results do not depend on the device the model ran on.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any, Optional

import numpy as np
from pycocotools import mask as mask_utils

from densepose_ext.evaluation.cocoeval import SimilarityTable, make_coco, run_cocoeval, stats_dict
from densepose_ext.evaluation.dense_truth import DenseTruth
from densepose_ext.evaluation.ground_truth import DensePoseGroundTruth, annotation_points
from densepose_ext.evaluation.distances import BatchedDistance, DistanceFn, submit_pair_distances
from densepose_ext.evaluation.gps import gps_from_distances, gpsm
from densepose_ext.evaluation.kappa import check_kappa_mode, describe_kappa
from densepose_ext.evaluation.masks import box_mask, gt_foreground, mask_iou
from densepose_ext.evaluation.pointwise import PointwiseAccumulator
from densepose_ext.evaluation.results_file import decode_arrays
from densepose_ext.evaluation.sampling import sample_results

IGNORE_REGION_OVERLAP = 0.7
POINTWISE_MATCH_IOU = 0.5
MAX_DETECTIONS_PER_IMAGE = 20
INSTANCE_METRICS = ("GPS", "GPSm", "IoU")

# One image's decoded detections: D (box (4,) XYXY image px, labels (H, W) uint8 0..24, uv (2, H, W)), each grid
# laid over its box (results_file.decode_arrays).
Decoded = list[tuple[np.ndarray, np.ndarray, np.ndarray]]


def surface_distance(backend: Optional[str] = None, data_dir: Optional[str] = None) -> DistanceFn:
    """Geodesics of a body surface: the default one, or ``backend`` (e.g. "smpl") read from ``data_dir``.
    Imported here because the surface loads its asset on first use."""
    from densepose_ext.surface import get_surface

    surface = get_surface() if backend is None else get_surface(backend, data_dir=data_dir)
    return surface.geodesic


def _top_detections(gt: DensePoseGroundTruth, records: list[dict], source: str) -> dict[int, list[tuple[int, dict]]]:
    """Per image, its person detections as (detection id, record), best score first, at most 20 (COCO keeps no
    more; a stable sort as COCOeval's). Detection ids are 1 + the record's index in ``records``. Records of other
    categories are no DensePose detections; the report counts them as ``num_other_category_records``."""
    by_image: dict[int, list[tuple[int, dict]]] = defaultdict(list)
    for k, rec in enumerate(records):
        if rec["image_id"] not in gt.image_sizes:
            raise ValueError(
                f"{source}: record {k}: field 'image_id': {rec['image_id']} is not an image of {gt.source}"
            )
        if rec["category_id"] == gt.category_id:
            by_image[rec["image_id"]].append((k + 1, rec))
    return {
        image_id: [
            dets[j] for j in np.argsort([-d[1]["score"] for d in dets], kind="mergesort")[:MAX_DETECTIONS_PER_IMAGE]
        ]
        for image_id, dets in by_image.items()
    }


def _box_overlaps(dets: list[tuple[int, dict]], anns: list[dict]) -> np.ndarray:
    """(D, G) box IoU; for crowd annotations the share of the detection box inside them (pycocotools' rule)."""
    if not dets or not anns:
        return np.zeros((len(dets), len(anns)))
    return np.asarray(
        mask_utils.iou(
            [d["bbox"] for _, d in dets], [a["bbox"] for a in anns], [int(a.get("iscrowd", 0)) for a in anns]
        ),
        dtype=np.float64,
    )


def _ignore_columns(dets: list[tuple[int, dict]], ignored: list[dict]) -> np.ndarray:
    """Similarity of detections with ignore regions: 1 where the box rule absorbs the detection, else 0."""
    return (_box_overlaps(dets, ignored) >= IGNORE_REGION_OVERLAP).astype(np.float64)


def _pointwise_matches(gt: DensePoseGroundTruth, coco_dt, dets_by_image) -> dict[int, int]:
    """eval_id -> detection id for the annotated people, by COCO matching on box IoU >= 0.5.

    Here people without points compete like the others (only crowds are ignore regions): COCO would otherwise
    pair a detection of an unannotated neighbour with an annotated person it overlaps less than its own."""
    people = [dict(a, num_keypoints=1) for a in gt.coco_annotations()]
    coco_gt = make_coco([{"id": i} for i in gt.image_ids()], [{"id": gt.category_id}], people)
    table = SimilarityTable()
    for image_id, dets in dets_by_image.items():
        anns = gt.annotated.get(image_id, []) + gt.ignored.get(image_id, [])
        table.set_image(image_id, [d for d, _ in dets], [a["eval_id"] for a in anns], _box_overlaps(dets, anns))
    ev = run_cocoeval(coco_gt, coco_dt, table, match_only_at=POINTWISE_MATCH_IOU)
    annotated = {a["eval_id"] for anns in gt.annotated.values() for a in anns}
    matches = {}
    for e in ev.evalImgs:
        if e is not None:
            matches.update({g: int(d) for g, d in zip(e["gtIds"], e["gtMatches"][0]) if d and g in annotated})
    return matches


def _sample(x: np.ndarray, y: np.ndarray, decoded: Decoded, det: Optional[np.ndarray] = None):
    """sampling.sample_results over decoded detections."""
    boxes = np.array([box for box, _, _ in decoded], dtype=np.float64).reshape(-1, 4)
    return sample_results(x, y, boxes, [lab for _, lab, _ in decoded], [uv for _, _, uv in decoded], det=det)


def _prepare_image(
    annotated: list[dict], decoded: Decoded, image_size: tuple[int, int], batch: BatchedDistance, source: str
) -> dict[str, Any]:
    """Everything about one image but the GPS: points, predictions at them (distances queued on ``batch``, written
    into "dist" when it runs) and the mask IoU."""
    pts = annotation_points(annotated)
    pred = _sample(pts["x"], pts["y"], decoded)
    dist = np.full(pred[0].shape, np.inf)
    submit_pair_distances(batch, (pts["i"], pts["u"], pts["v"]), pred, dist)
    gt_masks = [gt_foreground(ann, image_size, f"{source} annotation {ann['id']}") for ann in annotated]
    dt_masks = [box_mask(labels > 0, box, image_size) for box, labels, _ in decoded]
    return {"points": pts, "dist": dist, "IoU": mask_iou(dt_masks, gt_masks), "num_people": len(annotated)}


def _finish_image(prepared: dict[str, Any], kappa_mode: str) -> dict[str, Any]:
    """Add GPS and GPSm (D, G) once the distances have arrived."""
    pts = prepared["points"]
    gps = gps_from_distances(prepared["dist"], pts["i"], pts["owner"], prepared["num_people"], kappa_mode)
    return dict(prepared, GPS=gps, GPSm=gpsm(gps, prepared["IoU"]))


def score_image(
    annotated: list[dict],
    decoded: Decoded,
    image_size: tuple[int, int],
    kappa_mode: str,
    distance_fn: DistanceFn,
    source: str,
) -> dict[str, Any]:
    """Similarities of D detections with the G annotated people of one image.

    Args:
        annotated: G DensePose-COCO annotations with dp points.
        decoded: the image's D detections (``Decoded``).
        image_size: (height, width).
        source: ground-truth file name for error messages.
    Returns:
        {"GPS", "GPSm", "IoU": (D, G) float64, "dist": (D, N) geodesic error (metres, inf = no prediction) at the
        N points of "points" (annotation_points(annotated))}.
    """
    batch = BatchedDistance(distance_fn)
    prepared = _prepare_image(annotated, decoded, image_size, batch, source)
    batch.flush()
    return _finish_image(prepared, kappa_mode)


def _pick_rows(dist: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """(D, N) errors -> (N,): column n's entry in row ``rows[n]``, inf where rows[n] = -1."""
    errors = np.full(rows.shape, np.inf)
    (cols,) = np.nonzero(rows >= 0)
    errors[cols] = dist[rows[cols], cols]
    return errors


def _submit_dense(
    pts: dict[str, np.ndarray], rows: np.ndarray, decoded: Decoded, batch: BatchedDistance, acc: PointwiseAccumulator
) -> None:
    """Queue the errors of dense ground-truth points against their matched detection ``rows[n]`` (-1: none, inf);
    they go into ``acc`` when computed (dense points are many: nothing is kept per image)."""
    pred = _sample(pts["x"], pts["y"], decoded, det=rows)
    errors = np.full((1, len(rows)), np.inf)
    submit_pair_distances(
        batch,
        (pts["i"], pts["u"], pts["v"]),
        tuple(p[None] for p in pred),
        errors,
        then=lambda: acc.add(errors[0], pts["i"]),
    )


def evaluate_densepose(
    gt: DensePoseGroundTruth,
    records: list[dict[str, Any]],
    kappa_mode: str = "global",
    distance_fn: Optional[DistanceFn] = None,
    source: str = "<results>",
    dense_truth: Optional[DenseTruth] = None,
) -> dict[str, Any]:
    """Per-instance AP/AR for GPS, GPSm and IoU plus the pointwise RCP/AUC report.

    Args:
        gt: the ground truth.
        records: detection records (results_file.py), checked.
        kappa_mode: "global" (paper, κ = 0.255) or "per-part" (reference); stated in the report.
        distance_fn: geodesic distance (gps.DistanceFn); default: the default body surface.
        source: name of the results in error messages.
        dense_truth: when given, pointwise evaluation is repeated over every labelled pixel ("pointwise_dense").
    Returns:
        JSON-safe report: {"kappa", "num_images", "num_people", "num_detections", "GPS", "GPSm", "IoU"
        (each {AP, AP50, AP75, APm, APl, AR, AR50, AR75, ARm, ARl} in percent), "pointwise" (and
        "pointwise_dense") as in pointwise.PointwiseAccumulator.report}.
    """
    check_kappa_mode(kappa_mode)
    distance_fn = distance_fn or surface_distance()
    dets_by_image = _top_detections(gt, records, source)
    images = [{"id": i} for i in gt.image_ids()]
    categories = [{"id": gt.category_id}]
    coco_gt = make_coco(images, categories, gt.coco_annotations())
    coco_dt = make_coco(
        images,
        categories,
        [
            {
                "id": det_id,
                "image_id": image_id,
                "category_id": gt.category_id,
                "bbox": rec["bbox"],
                "score": rec["score"],
                "area": rec["bbox"][2] * rec["bbox"][3],
                "iscrowd": 0,
            }
            for image_id, dets in dets_by_image.items()
            for det_id, rec in dets
        ],
    )
    matches = _pointwise_matches(gt, coco_dt, dets_by_image)

    # Pass 1: per image, sample the predictions and queue their geodesics (run in large batches: the distance
    # function's per-call cost dominates otherwise). Pass 2: GPS, COCO tables and pointwise errors.
    batch = BatchedDistance(distance_fn)
    sparse = PointwiseAccumulator()
    dense = PointwiseAccumulator() if dense_truth is not None else None
    prepared = {}
    for image_id in gt.image_ids():
        annotated = gt.annotated.get(image_id, [])
        dets = dets_by_image.get(image_id, [])
        decoded = [decode_arrays(rec["densepose"]) for _, rec in dets]
        prepared[image_id] = _prepare_image(annotated, decoded, gt.image_sizes[image_id], batch, gt.source)
        # Row of each annotated person's matched detection (-1: unmatched) for the pointwise protocol.
        row_of_det = {d: k for k, (d, _) in enumerate(dets)}
        prepared[image_id]["matched_row"] = np.array(
            [row_of_det.get(matches.get(a["eval_id"]), -1) for a in annotated], dtype=np.int64
        )
        if dense is not None and annotated:
            dense_pts = dense_truth.points(image_id, annotated)
            _submit_dense(dense_pts, prepared[image_id]["matched_row"][dense_pts["owner"]], decoded, batch, dense)
    batch.flush()

    tables = {name: SimilarityTable() for name in INSTANCE_METRICS}
    for image_id, image in prepared.items():
        scores = _finish_image(image, kappa_mode)
        dets, ignored = dets_by_image.get(image_id, []), gt.ignored.get(image_id, [])
        gt_ids = [a["eval_id"] for a in gt.annotated.get(image_id, []) + ignored]
        ignore = _ignore_columns(dets, ignored)
        for name in INSTANCE_METRICS:
            tables[name].set_image(
                image_id, [d for d, _ in dets], gt_ids, np.concatenate([scores[name], ignore], axis=1)
            )
        pts = scores["points"]
        sparse.add(_pick_rows(scores["dist"], image["matched_row"][pts["owner"]]), pts["i"])

    report: dict[str, Any] = {
        "kappa": describe_kappa(kappa_mode),
        "num_images": len(gt.image_sizes),
        "num_people": sum(len(a) for a in gt.annotated.values()),
        "num_detections": sum(len(d) for d in dets_by_image.values()),
        "num_other_category_records": sum(rec["category_id"] != gt.category_id for rec in records),
    }
    for name, table in tables.items():
        report[name] = stats_dict(run_cocoeval(coco_gt, coco_dt, table))
    report["pointwise"] = sparse.report()
    if dense is not None:
        report["pointwise_dense"] = dict(dense.report(), pixel_stride=dense_truth.stride)
    return report
