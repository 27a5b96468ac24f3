"""DensePoseCOCOEvaluator: detectron2's DatasetEvaluator for DensePose (GPS, GPSm, mask IoU AP/AR, RCP/AUC)
plus detectron2's own box AP.

Thin wrapper: ``process`` turns each image's Instances (pred_boxes, scores, pred_classes, pred_densepose)
into results-file records; ``evaluate`` gathers them from all workers, writes ``densepose_results.json``
(the file ``python -m densepose_ext.evaluation`` reads) and ``densepose_report.json`` to the output directory,
and scores them with evaluate.evaluate_densepose against the dataset's DensePose-COCO JSON.
"""

from __future__ import annotations

import copy
import itertools
import json
import logging
import os
from collections import OrderedDict
from typing import Any, Optional

from detectron2.config import configurable
from detectron2.data import MetadataCatalog
from detectron2.evaluation import COCOEvaluator, DatasetEvaluator
from detectron2.utils import comm
from detectron2.utils.file_io import PathManager

from densepose_ext.data.dataset_surface import dataset_surface
from densepose_ext.evaluation.dense_truth import DenseTruth
from densepose_ext.evaluation.conventions import surface_geodesic
from densepose_ext.evaluation.evaluate import evaluate_densepose, surface_distance
from densepose_ext.evaluation.distances import DistanceFn
from densepose_ext.evaluation.ground_truth import DensePoseGroundTruth
from densepose_ext.evaluation.kappa import check_kappa_mode
from densepose_ext.evaluation.report import detectron2_results, format_table
from densepose_ext.evaluation.results_file import result_records, write_json

RESULTS_FILE = "densepose_results.json"
REPORT_FILE = "densepose_report.json"

logger = logging.getLogger(__name__)


class DensePoseCOCOEvaluator(DatasetEvaluator):
    """Evaluate DensePose predictions of a dataset registered with a DensePose-COCO ``json_file``."""

    @configurable
    def __init__(
        self,
        dataset_name: str,
        *,
        output_dir: Optional[str] = None,
        distributed: bool = True,
        kappa_mode: str = "global",
        evaluate_boxes: bool = True,
        dense_truth_stride: int = 0,
        distance_fn: Optional[DistanceFn] = None,
        geodesic: Optional[str] = None,
    ) -> None:
        """
        Args:
            dataset_name: a registered dataset whose metadata has ``json_file`` (the DensePose-COCO ground truth).
            output_dir: where results and report are written (nothing is written if None).
            distributed: gather predictions from all processes; only the main process evaluates.
            kappa_mode: "global" or "per-part" (evaluation/kappa.py).
            evaluate_boxes: also report detectron2's box AP (COCOEvaluator, pure-Python pycocotools).
            dense_truth_stride: if > 0, also evaluate pointwise over one pixel in stride x stride of the dense
                truth next to ``json_file`` when the dataset has it (DensePose-Synth, dense_truth.py). Off by
                default: every pixel is a geodesic, too slow for periodic evaluation.
            distance_fn: geodesic distance; default: the geodesics of the dataset's body surface (its metadata's
                ``densepose_surface``, data/dataset_surface.py), never a process-wide default, in the convention
                ``geodesic``.
            geodesic: without ``distance_fn``, the convention to measure in: "chart-vertex" (the reference's, SMPL
                files only) or "exact"; None: the surface's own protocol (conventions.surface_geodesic: the
                reference's "chart-vertex" on SMPL-based datasets such as densepose_coco_*, "exact" on anny). With
                ``distance_fn``, the convention it follows, for the report (None: "custom"). Reports state it.
        """
        self._dataset_name = dataset_name
        self._metadata = MetadataCatalog.get(dataset_name)
        self._json_file = getattr(self._metadata, "json_file", None)
        if not self._json_file:
            raise ValueError(
                f"dataset {dataset_name!r}: metadata json_file: expected the DensePose-COCO JSON path, got none"
            )
        self._output_dir = output_dir
        self._distributed = distributed
        self._kappa_mode = check_kappa_mode(kappa_mode)
        # Loaded now: a dataset without a surface, or missing SMPL files, fail before inference, not after it.
        if distance_fn is None:
            source = dataset_surface(dataset_name)
            geodesic = surface_geodesic(source.backend, geodesic)
            distance_fn = surface_distance(source, geodesic)
        self._distance_fn = distance_fn
        self._geodesic = geodesic
        self._dense_truth_stride = dense_truth_stride
        # Dataset category ids of the model's contiguous classes (as detectron2's COCOEvaluator maps them).
        to_contiguous = getattr(self._metadata, "thing_dataset_id_to_contiguous_id", None)
        self._category_of_class = {v: k for k, v in to_contiguous.items()} if to_contiguous else None
        self._box_evaluator = (
            COCOEvaluator(
                dataset_name, tasks=("bbox",), distributed=distributed, output_dir=output_dir, use_fast_impl=False
            )
            if evaluate_boxes
            else None
        )
        self._records: list[dict[str, Any]] = []

    @classmethod
    def from_config(cls, cfg, dataset_name: str, output_dir: Optional[str] = None) -> dict[str, Any]:
        """Reads cfg.DENSEPOSE_EVALUATION; refuses the reference's settings this evaluator does not implement."""
        ev = cfg.DENSEPOSE_EVALUATION
        for key, supported, actual in (
            ("TYPE", "iou", ev.TYPE),
            ("MIN_IOU_THRESHOLD", 0.5, ev.MIN_IOU_THRESHOLD),
            ("EVALUATE_MESH_ALIGNMENT", False, ev.EVALUATE_MESH_ALIGNMENT),
        ):
            if actual != supported:
                raise ValueError(
                    f"DENSEPOSE_EVALUATION.{key}: expected {supported!r} (the only setting implemented "
                    f"by DensePoseCOCOEvaluator), got {actual!r}"
                )
        # The dataset's own surface, or the one DATASETS.DENSEPOSE_SURFACE names for it, in the convention
        # DENSEPOSE_EVALUATION.GEODESIC names (empty: the surface's own protocol).
        source = dataset_surface(dataset_name, cfg)
        geodesic = surface_geodesic(source.backend, ev.GEODESIC, field="DENSEPOSE_EVALUATION.GEODESIC")
        return {
            "dataset_name": dataset_name,
            "output_dir": output_dir,
            "distributed": ev.DISTRIBUTED_INFERENCE,
            "kappa_mode": ev.KAPPA,
            "distance_fn": surface_distance(source, geodesic),
            "geodesic": geodesic,
        }

    def reset(self) -> None:
        self._records = []
        if self._box_evaluator is not None:
            self._box_evaluator.reset()

    def process(self, inputs: list[dict], outputs: list[dict]) -> None:
        """inputs: detectron2 dataset dicts (need ``image_id``); outputs: {"instances": Instances} in image px."""
        for inp, out in zip(inputs, outputs):
            instances = out["instances"]
            if instances.has("pred_densepose") and len(instances):
                instances = instances.to("cpu")
                classes = instances.pred_classes.tolist()
                self._records += result_records(
                    inp["image_id"],
                    [self._category_of_class[c] if self._category_of_class else c for c in classes],
                    instances.pred_boxes.tensor.numpy(),
                    instances.scores.numpy(),
                    instances.pred_densepose.to_results(instances.pred_boxes.tensor),
                )
        if self._box_evaluator is not None:
            self._box_evaluator.process(inputs, outputs)

    def evaluate(self) -> dict[str, dict[str, float]]:
        # Every process must take part in the box evaluator's gather, so it runs first.
        results: dict[str, Any] = (
            OrderedDict(self._box_evaluator.evaluate() or {}) if self._box_evaluator else OrderedDict()
        )
        records = self._records
        if self._distributed:
            comm.synchronize()
            records = list(itertools.chain(*comm.gather(records, dst=0)))
            if not comm.is_main_process():
                return {}
        if self._output_dir:  # first, so the predictions survive whatever happens next
            write_json(os.path.join(self._output_dir, RESULTS_FILE), records)
        with PathManager.open(self._json_file) as f:
            dataset = json.load(f)
        dense = (
            DenseTruth.beside(self._json_file, dataset, self._dense_truth_stride) if self._dense_truth_stride else None
        )
        report = evaluate_densepose(
            DensePoseGroundTruth(dataset, self._json_file),
            records,
            self._kappa_mode,
            self._distance_fn,
            source=f"predictions on {self._dataset_name}",
            dense_truth=dense,
            geodesic=self._geodesic,
        )
        report["dataset"] = self._dataset_name
        if self._output_dir:
            write_json(os.path.join(self._output_dir, REPORT_FILE), report)
        logger.info("\n" + format_table(report))
        results.update(detectron2_results(report))
        return copy.deepcopy(results)
