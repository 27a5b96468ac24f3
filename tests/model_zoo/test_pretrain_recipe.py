"""tools/pretrain.py, the recipe of the shipped weights, on a shortened path: tiny synthetic data, 2 iterations per
stage. Stage 2 must continue from stage 1's weights (not from random ones) on the dense-truth labels, the exported
pair must load into the network its config builds, and checkpoints of an earlier run are never overwritten without
--resume."""
import os
import sys

import pytest
import torch
import yaml
from detectron2.checkpoint import DetectionCheckpointer
from detectron2.config import get_cfg
from detectron2.modeling import build_model

from densepose_ext.config import add_densepose_config

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, "tools"))
import pretrain  # noqa: E402

# 2 iterations of 2 small images per stage, a checkpoint after each: seconds instead of hours.
SHORT = ["INPUT.MIN_SIZE_TRAIN", "(120,)", "DATALOADER.NUM_WORKERS", "0", "SOLVER.IMS_PER_BATCH", "2",
         "SOLVER.MAX_ITER", "2", "SOLVER.STEPS", "()", "SOLVER.WARMUP_ITERS", "1", "SOLVER.CHECKPOINT_PERIOD", "1"]


@pytest.fixture(scope="module")
def recipe_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("pretrain")
    argv = ["--out", str(out), "--num-train", "3", "--num-val", "2", "--workers", "1",
            "--export", str(out / "zoo"), *SHORT]
    metrics = pretrain.main(argv)
    return out, argv, metrics


def _model_state(path):
    return torch.load(path, map_location="cpu", weights_only=False)["model"]


def test_stage2_continues_from_stage1(recipe_run):
    out, _, metrics = recipe_run
    stage1, stage2 = _model_state(out / "model" / "model_final.pth"), _model_state(out / "stage2" / "model_final.pth")
    assert stage1.keys() == stage2.keys()
    # 2 AdamW steps of at most lr 1e-3 each move a weight by ~2e-3; a fresh random initialisation (what stage 2
    # would train from if MODEL.WEIGHTS were lost) differs by the scale of the weights themselves
    conv = "backbone.bottom_up.res2.0.conv1.weight"
    moved = (stage2[conv] - stage1[conv]).abs().max().item()
    assert 0.0 < moved < 5e-3
    assert (out / "stage2" / "last_checkpoint").is_file()
    # stage 2 trained on the dense-truth labels written for the training split
    labels = out / "dense_truth_labels"
    assert len(list((labels / "labels").glob("*.png"))) > 0
    trained = yaml.safe_load((out / "stage2" / "config.yaml").read_text())
    assert trained["DENSEPOSE_TEACHER"]["DENSE_LABELS_DIR"] == str(labels)
    # the evaluation is the stage-2 model's
    assert (out / "metrics.json").stat().st_mtime >= (out / "stage2" / "model_final.pth").stat().st_mtime
    assert metrics["num_images"] == 2


def test_exported_pair_loads_with_every_key(recipe_run):
    out, _, _ = recipe_run
    weights, config = out / "zoo" / f"{pretrain.SHIPPED_STEM}.pth", out / "zoo" / f"{pretrain.SHIPPED_STEM}.yaml"
    shipped = _model_state(weights)
    final = _model_state(out / "stage2" / "model_final.pth")
    assert shipped.keys() == final.keys()
    for key, value in final.items():
        torch.testing.assert_close(shipped[key], value, rtol=0, atol=0)  # float32 as trained
    cfg = get_cfg()
    add_densepose_config(cfg)
    cfg.merge_from_file(str(config))
    # the stage-2 recipe, without the run's paths
    assert cfg.MODEL.WEIGHTS == "" and cfg.DENSEPOSE_TEACHER.DENSE_LABELS_DIR == "" and cfg.SOLVER.STEPS == ()
    model = build_model(cfg)
    loaded = DetectionCheckpointer(model).load(str(weights))
    assert loaded is not None
    assert set(model.state_dict()) == set(shipped)


def test_checkpoints_of_an_earlier_run_are_refused_without_resume(recipe_run):
    out, argv, _ = recipe_run
    final = out / "stage2" / "model_final.pth"
    kept = final.read_bytes()
    final.unlink()  # an interrupted stage 2: checkpoints, no final model
    try:
        with pytest.raises(SystemExit, match="--resume"):
            pretrain.main(argv)
    finally:
        final.write_bytes(kept)
