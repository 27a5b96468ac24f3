"""The model computes the same DensePose outputs and losses on a GPU as on the CPU (skipped without one)."""
import copy

import numpy as np
import pytest
import torch
from detectron2.modeling import build_model

from densepose_ext.modeling.losses import densepose_chart_losses

from .tiny import blob_dataset, gt_boxes_as_detections, tiny_cfg

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a GPU")


@pytest.fixture
def exact_cuda_float32():
    """TF32 matrix products and convolutions round to 10 mantissa bits: off for a like-for-like comparison."""
    saved = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = False
    yield
    torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = saved


def _models():
    torch.manual_seed(0)
    cpu = build_model(tiny_cfg()).eval()
    cfg = tiny_cfg()
    cfg.MODEL.DEVICE = "cuda"
    gpu = build_model(cfg).eval()
    gpu.load_state_dict(copy.deepcopy(cpu.state_dict()))
    return cpu, gpu


def test_densepose_results_match_on_gpu_and_cpu(exact_cuda_float32):
    cpu, gpu = _models()
    inputs = blob_dataset(3, seed=4)
    with torch.no_grad():
        on_cpu = cpu.inference(inputs, detected_instances=gt_boxes_as_detections(inputs, "cpu"))
        on_gpu = gpu.inference(inputs, detected_instances=gt_boxes_as_detections(inputs, "cuda"))
    for a, b in zip(on_cpu, on_gpu):
        results_a = a["instances"].pred_densepose.to_results(a["instances"].pred_boxes.tensor)
        results_b = b["instances"].to("cpu").pred_densepose.to_results(a["instances"].pred_boxes.tensor)
        for ra, rb in zip(results_a, results_b):
            labels_a, labels_b = ra.labels.numpy(), rb.labels.cpu().numpy()
            assert (labels_a > 0).any()  # a comparison of all-background results would prove little
            # arg-max ties may flip on a handful of pixels; U/V must agree where the part does
            same = labels_a == labels_b
            assert same.mean() > 0.99
            np.testing.assert_allclose(ra.uv.numpy()[:, same], rb.uv.cpu().numpy()[:, same], atol=1e-4)


def test_densepose_losses_match_on_gpu_and_cpu(exact_cuda_float32):
    cpu, gpu = _models()
    inputs = blob_dataset(2, seed=5)
    losses = {}
    for name, model, device in (("cpu", cpu, "cpu"), ("cuda", gpu, "cuda")):
        images = model.preprocess_image(inputs)
        features = model.backbone(images.tensor)
        boxes = [x["instances"].gt_boxes.to(device) for x in inputs]
        feats = [features[f] for f in model.roi_heads.densepose_in_features]
        outputs = model.roi_heads.densepose_predictor(
            model.roi_heads.densepose_head(model.roi_heads.densepose_pooler(feats, boxes)))
        targets = [t for x in inputs for t in x["instances"].gt_densepose]
        losses[name] = densepose_chart_losses(
            outputs, torch.cat([b.tensor for b in boxes]), targets, **model.roi_heads.densepose_loss_weights)
    assert losses["cpu"].keys() == losses["cuda"].keys()
    for key in losses["cpu"]:
        assert losses["cuda"][key].item() == pytest.approx(losses["cpu"][key].item(), rel=1e-4, abs=1e-6), key
