"""train_net.py end to end on a tiny DensePose-Synth-layout dataset written by the test."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch

from tests.modeling.tiny import tiny_train_overrides, write_blob_densepose_coco

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

TINY = tiny_train_overrides(96)


@pytest.fixture(scope="module")
def data_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("dp_data")
    write_blob_densepose_coco(str(root / "densepose_synth" / "train"), 4, seed=0)
    write_blob_densepose_coco(str(root / "densepose_synth" / "val"), 2, seed=1)
    return root


def _train_net(data_root, out_dir, *args):
    env = {**os.environ, "DENSEPOSE_DATA": str(data_root), "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, os.path.join(REPO, "train_net.py"),
           "--config-file", os.path.join(REPO, "configs/synth/densepose_rcnn_R_18ish_FPN_cpu.yaml"),
           *args, *TINY, "OUTPUT_DIR", str(out_dir)]
    proc = subprocess.run(cmd, env=env, cwd=REPO, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc


def _metrics(out_dir):
    with open(os.path.join(out_dir, "metrics.json")) as f:
        return [json.loads(line) for line in f]


def _evaluate_in_process(data_root, weights, out_dir):
    """The model of CONFIG + TINY with `weights`, evaluated here on the val split by DensePoseCOCOEvaluator:
    what train_net.py --eval-only must reproduce. Returns (results records, report)."""
    from detectron2.data import DatasetCatalog, MetadataCatalog, build_detection_test_loader
    from detectron2.evaluation import inference_on_dataset
    from detectron2.modeling import build_model

    from densepose_ext.data import DensePoseDatasetMapper, register_densepose_coco
    from densepose_ext.evaluation import DensePoseCOCOEvaluator
    from densepose_ext.evaluation.evaluator import REPORT_FILE, RESULTS_FILE
    from densepose_ext.modeling.checkpoint import DensePoseCheckpointer
    from densepose_ext.surface.source import SurfaceSource
    from tests.modeling.tiny import densepose_cfg

    cfg = densepose_cfg("configs/synth/densepose_rcnn_R_18ish_FPN_cpu.yaml")
    cfg.merge_from_list([*TINY, "MODEL.DEVICE", "cpu"])
    model = build_model(cfg)
    DensePoseCheckpointer.from_config(cfg, model).load(str(weights))
    model.eval()
    name = "densepose_synth_val_test_train_net"
    val = data_root / "densepose_synth" / "val"
    register_densepose_coco(name, str(val / "annotations.json"), str(val / "images"), SurfaceSource("anny"))
    try:
        loader = build_detection_test_loader(cfg, name, mapper=DensePoseDatasetMapper(cfg, False))
        inference_on_dataset(model, loader, DensePoseCOCOEvaluator(name, output_dir=str(out_dir), distributed=False))
    finally:
        DatasetCatalog.remove(name)
        MetadataCatalog.remove(name)
    with open(out_dir / RESULTS_FILE) as f, open(out_dir / REPORT_FILE) as g:
        return json.load(f), json.load(g)


def _assert_same_records(records, expected):
    from densepose_ext.evaluation.results_file import decode_arrays

    assert [(r["image_id"], r["category_id"]) for r in records] == [(r["image_id"], r["category_id"]) for r in expected]
    np.testing.assert_allclose([r["bbox"] for r in records], [r["bbox"] for r in expected], atol=1e-2)
    np.testing.assert_allclose([r["score"] for r in records], [r["score"] for r in expected], atol=1e-4)
    for r, e in zip(records, expected):
        box, labels, uv = decode_arrays(r["densepose"])
        ref_box, ref_labels, ref_uv = decode_arrays(e["densepose"])
        np.testing.assert_allclose(box, ref_box, atol=1e-2)
        assert labels.shape == ref_labels.shape
        assert (labels == ref_labels).mean() > 0.99  # arg-max ties may fall either way under another thread count
        same = labels == ref_labels
        assert np.abs(uv - ref_uv)[:, same].max(initial=0) <= 2 / 255


def test_train_then_eval_only(data_root, tmp_path):
    out = tmp_path / "run"
    _train_net(data_root, out, "SOLVER.MAX_ITER", "2", "DATASETS.TEST", "()")
    rows = _metrics(out)
    assert rows[-1]["iteration"] == 1
    assert all(rows[-1][k] > 0 for k in ("loss_densepose_I", "loss_densepose_U", "loss_densepose_S"))
    weights = out / "model_final.pth"
    assert weights.exists()
    # The eval-only path loads the checkpoint, runs inference with the DensePose evaluator, and again with
    # flip + two-scale test-time augmentation (results under inference_TTA, tasks named *_TTA).
    proc = _train_net(data_root, tmp_path / "eval", "--eval-only", "MODEL.WEIGHTS", str(weights),
                      "TEST.AUG.ENABLED", "True", "TEST.AUG.MIN_SIZES", "(80, 96)", "TEST.AUG.MAX_SIZE", "160")
    log = proc.stdout + proc.stderr
    assert f"Loading from {weights}" in log
    folder = tmp_path / "eval" / "inference" / "densepose_synth_val"
    with open(folder / "densepose_results.json") as f, open(folder / "densepose_report.json") as g:
        records, report = json.load(f), json.load(g)
    # The evaluator's files hold the trained model's detections on the val images, and the report scores them.
    expected, expected_report = _evaluate_in_process(data_root, weights, tmp_path / "here")
    assert {r["image_id"] for r in records} == {1, 2} and len(records) == len(expected) > 0
    _assert_same_records(records, expected)
    assert report["dataset"] == "densepose_synth_val"
    assert (report["num_images"], report["num_people"], report["num_detections"]) == (2, 2, len(records))
    for key in ("GPS", "GPSm", "IoU"):
        assert report[key] == pytest.approx(expected_report[key], abs=1e-6, nan_ok=True)
    assert report["pointwise"]["num_points"] == expected_report["pointwise"]["num_points"] > 0
    assert report["pointwise"]["AUC10"] == pytest.approx(expected_report["pointwise"]["AUC10"], abs=1e-6)
    with open(folder / "coco_instances_results.json") as f:  # the box evaluator saw the same detections
        boxes = json.load(f)
    np.testing.assert_allclose(sorted(r["score"] for r in boxes), sorted(r["score"] for r in records), atol=1e-6)
    tta = tmp_path / "eval" / "inference_TTA" / "densepose_synth_val"
    with open(tta / "densepose_results.json") as f, open(tta / "densepose_report.json") as g:
        tta_records, tta_report = json.load(f), json.load(g)
    assert {r["image_id"] for r in tta_records} == {1, 2}
    assert tta_report["num_detections"] == len(tta_records) and tta_report["num_images"] == 2
    assert "_TTA" in log


@pytest.mark.slow
def test_two_process_cpu_training(data_root, tmp_path):
    out = tmp_path / "ddp"
    proc = _train_net(data_root, out, "--num-gpus", "2", "MODEL.DEVICE", "cpu", "SOLVER.MAX_ITER", "3",
                      "DATASETS.TEST", "()")
    rows = _metrics(out)
    assert rows[-1]["iteration"] == 2
    assert "World size: 2" in proc.stdout + proc.stderr
    state = torch.load(out / "model_final.pth", map_location="cpu", weights_only=False)["model"]
    assert "roi_heads.densepose_predictor.index_uv_lowres.weight" in state
