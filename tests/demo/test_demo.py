"""tools/demo.py end to end on a shortened path: real synthetic data (tiny), 2 fine-tuning iterations of the
shipped model (its real architecture: the shipped weights must load into the demo's network), evaluation with
both kappa modes, apply_net on val images and the astronaut; then a rerun that must reuse every step."""
import json
import os
import sys

import cv2
import numpy as np
import pytest
from detectron2.config import get_cfg

from densepose_ext.config import add_densepose_config

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, "tools"))
import demo  # noqa: E402

# The demo recipe with 2 iterations on small training images, so that fine-tuning takes seconds. Evaluation keeps
# the pretraining's 240 px on 320x240 images: at 160x120 no synthetic person is large enough to be given DensePose
# points (synth/annotate.py MIN_DP_AREA), and pointwise AUC would be None, checking nothing. The demo's own floor
# (100 val images) is not checked here; tests/model_zoo checks the shipped model's.
SHORT = ["INPUT.MIN_SIZE_TRAIN", "(120,)", "INPUT.MIN_SIZE_TEST", "240", "DATALOADER.NUM_WORKERS", "0",
         "SOLVER.IMS_PER_BATCH", "2", "SOLVER.MAX_ITER", "2", "SOLVER.WARMUP_ITERS", "1"]
# Pointwise AUC30 the 2-iteration fine-tune must reach on the 2 val images (1 person with DensePose points, 103
# points). Measured under these settings: the shipped weights 0.394 (2026-12-05; the stage-1 weights before them
# 0.303-0.310 with SEED 0, 1, unset); the stage-1 detector with a randomly initialised DensePose head (its keys
# dropped from the checkpoint) 0.062-0.065; MODEL.WEIGHTS "" 0.0 (no detection matches the person). The floor
# sits between the shipped weights and a DensePose head that did not load.
MIN_AUC30 = 0.2


@pytest.fixture(scope="module")
def first_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    argv = ["--out", str(out), "--num-train", "3", "--num-val", "2", "--size", "320x240", "--workers", "1",
            # an untrained model's scores are about 0.5: keep its boxes so that the pictures show detections
            "--min-score", "0.0", *SHORT]
    metrics = demo.main(argv)
    return out, argv, metrics


def test_outputs_and_metrics(first_run):
    out, _, metrics = first_run
    on_disk = json.loads((out / "metrics.json").read_text())
    assert on_disk == metrics
    # both kappa modes are named: the paper's global value and the reference's per-part table
    assert metrics["kappa"]["global"]["kappa"]["mode"] == "global"
    assert metrics["kappa"]["global"]["kappa"]["value"] == pytest.approx(0.255)
    assert metrics["kappa"]["per-part"]["kappa"]["mode"] == "per-part"
    assert set(metrics["bbox"]) == {"AP", "AP50", "AP75"}
    assert metrics["num_images"] == 2
    # the evaluator scored the model's person detections (their category mapped to the dataset's person id)
    assert metrics["num_detections"] > 0
    # the shipped weights loaded into the demo's network, DensePose head included: see MIN_AUC30
    pointwise = metrics["pointwise"]
    assert pointwise["num_points"] > 0
    assert MIN_AUC30 < pointwise["AUC30"] <= 1.0
    assert 0.0 <= pointwise["AUC10"] <= pointwise["AUC30"]  # a 10 cm hit is also a 30 cm hit
    assert metrics["kappa"]["global"]["GPS"]["AP"] is not None  # a person with points was scored
    assert cv2.imread(str(out / "rcp.png")) is not None

    # apply_net saw the 2 held-out val images and the astronaut, under stable names
    names = sorted(p.stem for p in (out / "inputs").iterdir())
    assert names == ["astronaut", "val_000000", "val_000001"]
    for name in names:
        source = cv2.imread(str(out / "inputs" / f"{name}{'.png' if name == 'astronaut' else '.jpg'}"))
        shown = cv2.imread(str(out / "vis" / f"{name}.png"))
        # the picture holds the image (plus a legend panel beside it)
        assert shown.shape[0] >= source.shape[0] and shown.shape[1] > source.shape[1]
        iuv = cv2.imread(str(out / "iuv" / f"{name}_IUV.png"))
        assert iuv.shape == source.shape and iuv[..., 0].max() <= 24
        record = np.load(out / "dump" / f"{name}.npz")
        assert len(record["boxes"]) > 0 and record["boxes"].shape[1] == 4
        # people were drawn into the IUV image: some pixels carry a part label
        assert (iuv[..., 0] > 0).any()
    # the astronaut is scikit-image's photograph
    assert cv2.imread(str(out / "inputs" / "astronaut.png")).shape == (512, 512, 3)


def test_rerun_reuses_every_step(first_run, capsys):
    out, argv, metrics = first_run
    watched = [out / "model" / "model_final.pth", out / "metrics.json", out / "iuv" / "astronaut_IUV.png",
               out / "data" / "densepose_synth" / "train" / "annotations.json"]
    before = [p.stat().st_mtime_ns for p in watched]
    again = demo.main(argv)
    assert again == metrics
    assert [p.stat().st_mtime_ns for p in watched] == before
    printed = capsys.readouterr().out
    assert printed.count("reused") == 5  # train split, val split, model, metrics, pictures


def test_demo_fine_tunes_the_shipped_model_unless_scratch_is_asked():
    default = demo.parse_args([])
    assert default.config == demo.DEFAULT_CONFIG and default.out == demo.REPO / "demo_output"
    scratch = demo.parse_args(["--scratch"])
    assert scratch.config == demo.SCRATCH_CONFIG and scratch.out == demo.REPO / "demo_output_scratch"

    def initial_weights(config):
        cfg = get_cfg()
        add_densepose_config(cfg)
        cfg.merge_from_file(str(config))
        return cfg.MODEL.WEIGHTS

    assert initial_weights(demo.DEFAULT_CONFIG) == "densepose_ext://densepose_synth_R18ish_FPN.pth"
    assert initial_weights(demo.SCRATCH_CONFIG) == ""


def test_check_floor_known_answers():
    def metrics(ap, auc30):
        return {"kappa": {"global": {"GPS": {"AP": ap}}}, "pointwise": {"AUC30": auc30}}

    assert demo.check_floor(metrics(20.0, 0.4)) == []
    assert demo.check_floor(metrics(35.0, 0.6)) == []
    missed = demo.check_floor(metrics(19.9, 0.5))
    assert len(missed) == 1 and missed[0].startswith("GPS AP")
    assert len(demo.check_floor(metrics(None, None))) == 2
