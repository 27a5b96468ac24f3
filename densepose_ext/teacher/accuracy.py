"""Accuracy of densified labels against a dataset's ground truth (DensePose-Synth: every person pixel).

The labels of each person become a detection record at its ground-truth box (score 1), so the project's
evaluator (densepose_ext/evaluation) measures them exactly as it measures a model: RCP / AUC10 / AUC30 over the
sparse points ("pointwise") and, with dense truth, over every labelled person pixel ("pointwise_dense").
Only labelled people are scored; GPS AP of such records says nothing about detection and is not reported.
"""
from __future__ import annotations

from typing import Any, Dict, List, Optional

import numpy as np
import torch
from torch.nn import functional as F

from densepose_ext.data.dataset_surface import dataset_surface
from densepose_ext.evaluation import DensePoseGroundTruth, evaluate_densepose
from densepose_ext.evaluation.dense_truth import DenseTruth
from densepose_ext.evaluation.results_file import result_records
from densepose_ext.structures.results import DensePoseResult, box_resolution
from densepose_ext.surface.source import SurfaceSource
from densepose_ext.utils.cli_errors import UserInputError
from densepose_ext.utils.json_file import read_json

from .labels import DenseLabels


def label_result(iuv: np.ndarray, box: List[float]) -> DensePoseResult:
    """(S, S, 3) uint8 IUV crop of `box` (XYXY image px) -> DensePoseResult over that box at box resolution
    (nearest neighbour, so labels and charts stay paired)."""
    h, w = box_resolution(box)
    resized = F.interpolate(torch.from_numpy(np.array(iuv)).permute(2, 0, 1)[None].float(), size=(h, w), mode="nearest")[0]
    labels = resized[0].to(torch.uint8)
    return DensePoseResult(labels, resized[1:] / 255.0)


def dense_label_records(labels: DenseLabels, dataset: Dict[str, Any]) -> List[dict]:
    """One detection record per labelled annotation of the COCO `dataset` dict (JSON as loaded)."""
    records = []
    for ann in dataset["annotations"]:
        iuv = labels.iuv(ann["id"])
        if iuv is None:
            continue
        box = labels.entries[int(ann["id"])]["box"]
        records += result_records(ann["image_id"], [ann["category_id"]], np.array([box]), np.ones(1),
                                  [label_result(iuv, box)])
    return records


def evaluate_dense_labels(
    labels_dir: str, annotations_file: str, surface: Optional[SurfaceSource] = None
) -> Dict[str, Any]:
    """Evaluator report (densepose_ext.evaluation.evaluate_densepose) of the labels in `labels_dir` against the
    dataset in `annotations_file`, with its dense truth when the dataset has one.

    Geodesics are measured on `surface`; by default on the body surface of the dataset the labels were densified
    from (index.json "dataset", a registered dataset: data/dataset_surface.py).
    """
    dataset = read_json(annotations_file, "a DensePose-COCO annotation file (JSON)")
    labels = DenseLabels(labels_dir)
    if surface is None:
        if not labels.dataset:
            raise UserInputError(f"{labels_dir}/index.json", "the registered dataset the labels were densified "
                                 "from (its body surface measures the geodesics), or pass surface=", "''",
                                 item="field 'dataset'")
        surface = dataset_surface(labels.dataset)
    records = dense_label_records(labels, dataset)
    return evaluate_densepose(
        DensePoseGroundTruth(dataset, annotations_file),
        records,
        distance_fn=surface.load().geodesic,
        source=labels_dir,
        dense_truth=DenseTruth.beside(annotations_file, dataset),
    )
