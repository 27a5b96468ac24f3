"""train_net.py end to end on a tiny DensePose-Synth-layout dataset written by the test."""
import json
import os
import subprocess
import sys

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
    produced = [f for _, _, files in os.walk(tmp_path / "eval" / "inference") for f in files]
    assert any(f.endswith(".json") for f in produced), produced
    produced_tta = [f for _, _, files in os.walk(tmp_path / "eval" / "inference_TTA") for f in files]
    assert any(f.endswith(".json") for f in produced_tta), produced_tta
    assert "_TTA" in proc.stdout + proc.stderr


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
