"""Evaluate DensePose detections against DensePose-COCO ground truth: one function shared by the detectron2
evaluator and the command line.

Per instance: GPS, GPSm and mask IoU between every detection and every ground truth of an image (GPS is 0 for
ignored ground truth, as in the reference), fed to the reference evaluator's matching (reference_matching.py) and
pycocotools' accumulation. The conventions where the reference and ours differ are named options
(conventions.py), stated in every report.

Pointwise: every annotated person takes the detection that COCO matching pairs it with by box IoU >= 0.5
(all people competing, annotated or not); the geodesic errors at its points feed RCP / AUC (pointwise.py). Points of
unmatched people, points predicted as background or outside the detection box have infinite error.

Everything is float64 numpy on the host: results do not depend on the device the model ran on.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from typing import Any, NamedTuple, Optional

import numpy as np
from pycocotools import mask as mask_utils

from densepose_ext.evaluation.cocoeval import (SimilarityCOCOeval, SimilarityTable, make_coco, run_cocoeval,
                                               stats_dict)
from densepose_ext.evaluation.conventions import POINT_FRAMES, check_choice, describe_conventions, surface_geodesic
from densepose_ext.evaluation.dense_truth import DenseTruth
from densepose_ext.evaluation.ground_truth import DensePoseGroundTruth, annotation_points
from densepose_ext.evaluation.distances import BatchedDistance, DistanceFn, submit_pair_distances
from densepose_ext.evaluation.gps import gps_from_distances, gpsm
from densepose_ext.evaluation.kappa import check_kappa_mode
from densepose_ext.evaluation.masks import PixelMask, box_mask, gt_foreground, mask_iou, paste_cells
from densepose_ext.evaluation.pointwise import PointwiseAccumulator
from densepose_ext.evaluation.reference_matching import ReferenceCOCOeval
from densepose_ext.evaluation.reference_results import GRID_KEY, reference_grid_arrays
from densepose_ext.evaluation.results_file import decode_arrays
from densepose_ext.evaluation.sampling import sample_results
from densepose_ext.surface.source import SurfaceSource
from densepose_ext.utils.cli_errors import UserInputError

logger = logging.getLogger(__name__)

POINTWISE_MATCH_IOU = 0.5
MAX_DETECTIONS_PER_IMAGE = 20
INSTANCE_METRICS = ("GPS", "GPSm", "IoU")


class Detection(NamedTuple):
    """One decoded detection: bbox (4,) XYWH image px (the record's), box (4,) XYXY image px (the result's frame),
    labels (H, W) uint8 0..24, uv (2, H, W) float64 multiples of 1/255 (results_file.decode_arrays)."""

    bbox: np.ndarray
    box: np.ndarray
    labels: np.ndarray
    uv: np.ndarray


def decode_detection(record: dict[str, Any]) -> Detection:
    """A results-file record as a Detection: ours (an encoded result) or the reference's (a uint8 grid)."""
    bbox = np.asarray(record["bbox"], dtype=np.float64)
    densepose = record["densepose"]
    if GRID_KEY in densepose:
        return Detection(bbox, *reference_grid_arrays(bbox, densepose[GRID_KEY]))
    return Detection(bbox, *decode_arrays(densepose))


def surface_distance(source: SurfaceSource, geodesic: Optional[str] = None) -> DistanceFn:
    """Geodesics of the body surface ``source`` names (the one the ground truth's U/V are on; there is no default),
    in the convention ``geodesic`` ("chart-vertex": the reference's, SMPL files only; "exact": ours; None: the
    surface's own, conventions.surface_geodesic). Imported here because the surface loads files on first use."""
    if surface_geodesic(source.backend, geodesic) == "chart-vertex":
        from densepose_ext.surface.chart_vertex_geodesic import ChartVertexGeodesic

        return ChartVertexGeodesic.from_files(source.data_dir)
    return source.load().geodesic


def _top_detections(gt: DensePoseGroundTruth, records: list[dict], source: str) -> dict[int, list[tuple[int, dict]]]:
    """Per image, its person detections as (detection id, record), best score first, at most 20 (COCO keeps no
    more; a stable sort as COCOeval's). Detection ids are 1 + the record's index in ``records``. Records of other
    categories are no DensePose detections: warned, and counted in the report as ``num_other_category_records``."""
    by_image: dict[int, list[tuple[int, dict]]] = defaultdict(list)
    others = []
    for k, rec in enumerate(records):
        if rec["image_id"] not in gt.image_sizes:
            raise UserInputError(source, f"an image id of {gt.source}", str(rec["image_id"]),
                                 item=f"record {k}: field 'image_id'")
        if rec["category_id"] == gt.category_id:
            by_image[rec["image_id"]].append((k + 1, rec))
        else:
            others.append(k)
    if others:
        logger.warning("%s: %d detection(s) of category %s, not the ground truth's person category %d (first: "
                       "record %d): not evaluated", source, len(others),
                       sorted({records[k]["category_id"] for k in others}), gt.category_id, others[0])
    return {
        image_id: [
            dets[j] for j in np.argsort([-d[1]["score"] for d in dets], kind="mergesort")[:MAX_DETECTIONS_PER_IMAGE]
        ]
        for image_id, dets in by_image.items()
    }


def _pointwise_matches(gt: DensePoseGroundTruth, coco_dt, dets_by_image) -> dict[int, int]:
    """eval_id -> detection id for the annotated people, by COCO matching on box IoU >= 0.5.

    Here people without points compete like the others (only crowds are ignore regions): COCO would otherwise
    pair a detection of an unannotated neighbour with an annotated person it overlaps less than its own."""
    people = [dict(a, num_keypoints=1) for a in gt.coco_annotations()]
    coco_gt = make_coco([{"id": i} for i in gt.image_ids()], [{"id": gt.category_id}], people)
    table = SimilarityTable()
    for image_id, dets in dets_by_image.items():
        anns = gt.people(image_id)
        boxes = _box_iou([d["bbox"] for _, d in dets], anns)
        table.set_image(image_id, [d for d, _ in dets], [a["eval_id"] for a in anns], boxes)
    ev = run_cocoeval(SimilarityCOCOeval(coco_gt, coco_dt, table), match_only_at=POINTWISE_MATCH_IOU)
    annotated = {a["eval_id"] for anns in gt.annotated.values() for a in anns}
    matches = {}
    for e in ev.evalImgs:
        if e is not None:
            matches.update({g: int(d) for g, d in zip(e["gtIds"], e["gtMatches"][0]) if d and g in annotated})
    return matches


def _sample(x: np.ndarray, y: np.ndarray, dets: list[Detection], frame: str, det: Optional[np.ndarray] = None):
    """sampling.sample_results over detections, in their ``frame`` (conventions.POINT_FRAMES)."""
    boxes = np.array([d.bbox if frame == "reference" else d.box for d in dets], dtype=np.float64).reshape(-1, 4)
    return sample_results(x, y, boxes, [d.labels for d in dets], [d.uv for d in dets], det=det, frame=frame)


def _detection_mask(det: Detection, frame: str, image_size: tuple[int, int]) -> PixelMask:
    """Foreground of a detection in the image: its cells pasted from (int(x), int(y)) in the reference's frame (a
    grid of another size first read at the cells sample_results reads), resampled over its box in ours."""
    if frame == "cell-centre":
        return box_mask(det.labels > 0, det.box, image_size)
    rows, cols = int(det.bbox[3]), int(det.bbox[2])
    height, width = det.labels.shape
    fg = det.labels > 0
    if (height, width) != (rows, cols):
        fg = fg[np.arange(rows) * height // max(rows, 1)][:, np.arange(cols) * width // max(cols, 1)]
    return paste_cells(fg, det.bbox, image_size)


def _box_iou(bboxes: list, people: list[dict]) -> np.ndarray:
    """(D, G) IoU of D boxes [x, y, w, h] with G annotations; for crowds the share of the box inside them
    (pycocotools' rule)."""
    if not len(bboxes) or not people:
        return np.zeros((len(bboxes), len(people)))
    return np.asarray(
        mask_utils.iou([list(b) for b in bboxes], [list(p["bbox"]) for p in people],
                       [int(p.get("iscrowd", 0)) for p in people]),
        dtype=np.float64,
    )


def _prepare_image(
    people: list[dict], dets: list[Detection], image_size: tuple[int, int], frame: str, batch: BatchedDistance,
    source: str,
) -> dict[str, Any]:
    """Everything about one image but the GPS: points of its annotated people, the predictions at them (distances
    queued on ``batch``, written into "dist" when it runs), mask and box IoU with all its people (file order)."""
    annotated = [k for k, p in enumerate(people) if "dp_x" in p]
    pts = annotation_points([people[k] for k in annotated], frame)
    pred = _sample(pts["x"], pts["y"], dets, frame)
    dist = np.full(pred[0].shape, np.inf)
    submit_pair_distances(batch, (pts["i"], pts["u"], pts["v"]), pred, dist)
    gt_masks = [gt_foreground(p, image_size, f"{source} annotation {p['id']}") for p in people]
    dt_masks = [_detection_mask(d, frame, image_size) for d in dets]
    iscrowd = [int(p.get("iscrowd", 0)) for p in people]
    return {"points": pts, "dist": dist, "annotated": np.array(annotated, dtype=np.int64),
            "IoU": mask_iou(dt_masks, gt_masks, iscrowd), "box_iou": _box_iou([d.bbox for d in dets], people)}


def _finish_image(prepared: dict[str, Any], kappa_mode: str) -> dict[str, Any]:
    """Add GPS and GPSm (D, G) once the distances have arrived; 0 in the columns of ignored ground truth."""
    pts, annotated = prepared["points"], prepared["annotated"]
    gps = np.zeros(prepared["IoU"].shape)
    gps[:, annotated] = gps_from_distances(prepared["dist"], pts["i"], pts["owner"], len(annotated), kappa_mode)
    return dict(prepared, GPS=gps, GPSm=gpsm(gps, prepared["IoU"]))


def score_image(
    people: list[dict],
    records: list[dict],
    image_size: tuple[int, int],
    kappa_mode: str,
    distance_fn: DistanceFn,
    source: str,
    points: str = "reference",
) -> dict[str, Any]:
    """Similarities of D detections with the G ground-truth annotations of one image.

    Args:
        people: G DensePose-COCO annotations, file order; those with ``dp_x`` are scored by GPS, the others not.
        records: the image's D detection records (results_file.py), in score order.
        image_size: (height, width).
        points: the points convention (conventions.POINT_FRAMES).
        source: ground-truth file name for error messages.
    Returns:
        {"GPS", "GPSm", "IoU", "box_iou": (D, G) float64, "dist": (D, N) geodesic error (metres, inf = no prediction)
        at the N points of "points" (annotation_points of the annotated people), "annotated": their columns}.
    """
    batch = BatchedDistance(distance_fn)
    prepared = _prepare_image(people, [decode_detection(r) for r in records], image_size, points, batch, source)
    batch.flush()
    return _finish_image(prepared, kappa_mode)


def _pick_rows(dist: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """(D, N) errors -> (N,): column n's entry in row ``rows[n]``, inf where rows[n] = -1."""
    errors = np.full(rows.shape, np.inf)
    (cols,) = np.nonzero(rows >= 0)
    errors[cols] = dist[rows[cols], cols]
    return errors


def _submit_dense(
    pts: dict[str, np.ndarray], rows: np.ndarray, dets: list[Detection], frame: str, batch: BatchedDistance,
    acc: PointwiseAccumulator,
) -> None:
    """Queue the errors of dense ground-truth points against their matched detection ``rows[n]`` (-1: none, inf);
    they go into ``acc`` when computed (dense points are many: nothing is kept per image)."""
    pred = _sample(pts["x"], pts["y"], dets, frame, det=rows)
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
    points: str = "reference",
    geodesic: Optional[str] = "exact",
) -> dict[str, Any]:
    """Per-instance AP/AR for GPS, GPSm and IoU plus the pointwise RCP/AUC report.

    Args:
        gt: the ground truth.
        records: detection records (results_file.py), checked.
        kappa_mode: "global" (paper, κ = 0.255) or "per-part" (reference); stated in the report.
        distance_fn: geodesic distance (distances.DistanceFn) on the ground truth's body surface, e.g.
            ``surface_distance(SurfaceSource("smpl"))``; required (None is refused: U/V measured on another
            surface than they were annotated on give meaningless scores).
        source: name of the results in error messages.
        dense_truth: when given, pointwise evaluation is repeated over every labelled pixel ("pointwise_dense").
        points: where ground-truth points land (conventions.POINT_FRAMES).
        geodesic: the convention ``distance_fn`` follows, for the report (conventions.GEODESICS; None: unknown).
    Returns:
        JSON-safe report: {"kappa", "conventions", "num_images", "num_people", "num_detections", "GPS", "GPSm",
        "IoU" (each {AP, AP50, AP75, APm, APl, AR, AR50, AR75, ARm, ARl} in percent), "pointwise" (and
        "pointwise_dense") as in pointwise.PointwiseAccumulator.report}.
    """
    check_kappa_mode(kappa_mode)
    conventions = describe_conventions(kappa_mode, check_choice("points", points, POINT_FRAMES), geodesic)
    if distance_fn is None:
        raise ValueError(
            f"evaluate_densepose({source}): distance_fn: expected the geodesic distance of the body surface the "
            "ground truth's U/V are on (e.g. surface_distance(SurfaceSource('smpl')) for DensePose-COCO, "
            "SurfaceSource('anny') for DensePose-Synth, or data.dataset_surface(name)), got None; there is no "
            "default surface"
        )
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
        people = gt.people(image_id)
        records_here = dets_by_image.get(image_id, [])
        dets = [decode_detection(rec) for _, rec in records_here]
        prepared[image_id] = image = _prepare_image(people, dets, gt.image_sizes[image_id], points, batch, gt.source)
        # Row of each annotated person's matched detection (-1: unmatched) for the pointwise protocol.
        row_of_det = {d: k for k, (d, _) in enumerate(records_here)}
        image["matched_row"] = np.array(
            [row_of_det.get(matches.get(people[k]["eval_id"]), -1) for k in image["annotated"]], dtype=np.int64
        )
        if dense is not None and len(image["annotated"]):
            dense_pts = dense_truth.points(image_id, [people[k] for k in image["annotated"]])
            _submit_dense(dense_pts, image["matched_row"][dense_pts["owner"]], dets, points, batch, dense)
    batch.flush()

    tables = {name: SimilarityTable() for name in INSTANCE_METRICS + ("box_iou",)}
    for image_id, image in prepared.items():
        scores = _finish_image(image, kappa_mode)
        det_ids = [d for d, _ in dets_by_image.get(image_id, [])]
        gt_ids = [p["eval_id"] for p in gt.people(image_id)]
        for name, table in tables.items():
            table.set_image(image_id, det_ids, gt_ids, scores[name])
        pts = scores["points"]
        sparse.add(_pick_rows(scores["dist"], image["matched_row"][pts["owner"]]), pts["i"])

    report: dict[str, Any] = {
        "kappa": conventions["kappa"],
        "conventions": conventions,
        "num_images": len(gt.image_sizes),
        "num_people": sum(len(a) for a in gt.annotated.values()),
        "num_detections": sum(len(d) for d in dets_by_image.values()),
        "num_other_category_records": sum(rec["category_id"] != gt.category_id for rec in records),
    }
    for name in INSTANCE_METRICS:
        report[name] = stats_dict(run_cocoeval(ReferenceCOCOeval(coco_gt, coco_dt, tables[name], tables["box_iou"])))
    report["pointwise"] = sparse.report()
    if dense is not None:
        report["pointwise_dense"] = dict(dense.report(), pixel_stride=dense_truth.stride)
    return report
