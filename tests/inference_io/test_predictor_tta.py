"""apply_net's predictor with TEST.AUG.ENABLED: it runs modeling/test_time_augmentation.py on the original image."""
import numpy as np
import torch
from detectron2.checkpoint import DetectionCheckpointer
from detectron2.modeling import build_model

from densepose_ext.inference_io.predictor import BatchPredictor, setup_inference_cfg
from densepose_ext.modeling.test_time_augmentation import DensePoseRCNNWithTTA


def test_apply_net_predictor_runs_tta_and_one_plain_view_equals_the_plain_model(tmp_path):
    config = "configs/synth/densepose_rcnn_R_18ish_FPN_cpu.yaml"
    opts = ["TEST.DETECTIONS_PER_IMAGE", "3", "INPUT.MIN_SIZE_TEST", "64", "INPUT.MAX_SIZE_TEST", "128"]
    torch.manual_seed(0)
    DetectionCheckpointer(build_model(setup_inference_cfg(config, "", device="cpu")), save_dir=str(tmp_path)).save("w")
    weights = str(tmp_path / "w.pth")
    image = np.random.default_rng(0).integers(0, 255, (48, 64, 3), dtype=np.uint8)
    (plain,) = BatchPredictor(setup_inference_cfg(config, weights, opts, "cpu", 0.0)).predict_batch([image])
    one_view = opts + ["TEST.AUG.ENABLED", "True", "TEST.AUG.MIN_SIZES", "(64,)", "TEST.AUG.MAX_SIZE", "128",
                       "TEST.AUG.FLIP", "False"]
    predictor = BatchPredictor(setup_inference_cfg(config, weights, one_view, "cpu", 0.0))
    assert isinstance(predictor.tta, DensePoseRCNNWithTTA)
    (single,) = predictor.predict_batch([image])
    # One view, no flip: the plain model's boxes (to 0.05 px: TTA maps boxes back through the inverse resize,
    # the plain path through detector_postprocess) and results (the mean of one view's probabilities is itself).
    torch.testing.assert_close(single.pred_boxes.tensor, plain.pred_boxes.tensor, atol=0.05, rtol=0)
    # Compared as probabilities: random weights leave near-ties, which the 0.01 px box shift may flip as labels.
    ours, theirs = single.pred_densepose.outputs, plain.pred_densepose.outputs
    for name in ("coarse_segm", "fine_segm"):
        torch.testing.assert_close(getattr(ours, name).softmax(1), getattr(theirs, name).softmax(1), atol=1e-2, rtol=0)
    torch.testing.assert_close(ours.u, theirs.u, atol=0.05, rtol=0)  # random U reach +-1.4, sensitive to the shift
    flipped = BatchPredictor(setup_inference_cfg(config, weights, one_view[:-1] + ["True"], "cpu", 0.0))
    (both,) = flipped.predict_batch([image])
    assert both.image_size == (48, 64) and len(both) > 0
    assert not torch.equal(both.pred_densepose.outputs.u, single.pred_densepose.outputs.u[:len(both)])
