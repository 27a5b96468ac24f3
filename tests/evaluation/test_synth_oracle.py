"""Cross-module check on rendered data: predictions copied from DensePose-Synth's dense truth must score as perfect.

The synthetic annotations (box-256 points, box-frame dp_masks), the dense IUV/INDS images, the result encoding
and the evaluator's frames all have to agree for this to hold."""

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from densepose_ext.evaluation.dense_truth import DenseTruth, read_dense_truth
from densepose_ext.evaluation.evaluate import evaluate_densepose, surface_distance
from densepose_ext.evaluation.ground_truth import DensePoseGroundTruth
from densepose_ext.evaluation.results_file import result_records
from densepose_ext.structures.results import DensePoseResult
from densepose_ext.surface.source import SurfaceSource

generate = pytest.importorskip("densepose_ext.synth.generate").generate


@pytest.fixture(scope="module")
def synth(tmp_path_factory):
    out = tmp_path_factory.mktemp("synth_oracle")
    generate(out, 4, seed=3, size=(240, 320), workers=1, progress=False)
    return out, json.loads((out / "annotations.json").read_text())


def oracle_records(root: Path, dataset: dict) -> list[dict]:
    """One detection per person: its bbox, with labels/UV read from the dense truth where INDS shows it."""
    records = []
    for img in dataset["images"]:
        stem = Path(img["file_name"]).stem
        iuv, inds = read_dense_truth(root, stem)
        people = [a for a in dataset["annotations"] if a["image_id"] == img["id"]]
        for k, ann in enumerate(people, start=1):  # INDS = position among the image's annotations
            x, y, w, h = (int(v) for v in ann["bbox"])
            crop, mine = iuv[y : y + h, x : x + w], inds[y : y + h, x : x + w] == k
            labels = np.where(mine, crop[..., 0], 0).astype(np.uint8)
            uv = np.where(mine[None], crop[..., 1:].transpose(2, 0, 1) / 255.0, 0).astype(np.float32)
            box = [x, y, x + w, y + h]
            result = DensePoseResult(torch.from_numpy(labels), torch.from_numpy(uv))
            records += result_records(img["id"], [ann["category_id"]], np.array([box]), np.array([1.0]), [result])
    return records


def test_dense_truth_as_prediction_is_perfect(synth):
    root, dataset = synth
    gt = DensePoseGroundTruth(dataset, str(root / "annotations.json"))
    assert gt.annotated, "the rendered scenes should hold people with DensePose points"
    # DensePose-Synth writes its points at box-256 cell centres: our "cell-centre" convention reads them exactly.
    rep = evaluate_densepose(gt, oracle_records(root, dataset), dense_truth=DenseTruth(root, dataset),
                             distance_fn=surface_distance(SurfaceSource("anny")),  # DensePose-Synth's surface
                             points="cell-centre")
    for name in ("GPS", "GPSm", "IoU"):
        assert rep[name]["AP"] == pytest.approx(100.0) and rep[name]["AR"] == pytest.approx(100.0), name
    # Dense truth against itself: errors are 0. Sparse points carry exact UV, the PNG round(255 U): a few points
    # on chart seams land a little further away on the surface.
    assert rep["pointwise_dense"]["AUC10"] == pytest.approx(1.0, abs=1e-6)
    assert rep["pointwise"]["AUC10"] > 0.98 and rep["pointwise"]["rcp"]["ratio"][2] > 0.98  # < 1 cm
