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

# The demo recipe on small images so that 2 iterations take seconds (the accuracy floor is not checked here;
# tests/model_zoo checks the shipped model's).
SHORT = ["INPUT.MIN_SIZE_TRAIN", "(120,)", "INPUT.MIN_SIZE_TEST", "120", "DATALOADER.NUM_WORKERS", "0",
         "SOLVER.IMS_PER_BATCH", "2", "SOLVER.MAX_ITER", "2", "SOLVER.WARMUP_ITERS", "1"]


@pytest.fixture(scope="module")
def first_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    argv = ["--out", str(out), "--num-train", "3", "--num-val", "2", "--size", "160x120", "--workers", "1",
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
    for key in ("AUC10", "AUC30"):
        assert metrics["pointwise"][key] is None or 0.0 <= metrics["pointwise"][key] <= 1.0
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
