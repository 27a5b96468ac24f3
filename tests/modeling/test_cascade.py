"""Multi-task heads and the cross-task cascade (paper Sec. 3.3, Table 1): configs, validation, training
of every cascade variant, gradients into both stages, inference from the second stage."""
import glob
import os

import pytest
import torch
from detectron2.layers import ShapeSpec
from detectron2.modeling import build_model, build_roi_heads
from detectron2.structures import BitMasks, Keypoints
from detectron2.utils.events import EventStorage

from densepose_ext.modeling.cascade import (
    DensePoseCascadeStage,
    relative_heatmaps,
    resize_to_roi,
    validate_cascade_config,
)
from densepose_ext.modeling.inference import densepose_chart_inference_per_box

from .tiny import REPO, blob_dataset, densepose_cfg, gt_boxes_as_detections, tiny_cfg

torch.set_num_threads(1)

TABLE1 = sorted(glob.glob(os.path.join(REPO, "configs", "table1", "*", "*.yaml")))
ROWS = ("base", "masks", "keypoints", "st_cascade", "cascade_masks", "cascade_keypoints")
# row -> (MASK_ON, KEYPOINT_ON, CASCADE.ENABLED, USE_MASKS, USE_KEYPOINTS)
EXPECTED = {
    "base": (False, False, False, False, False),
    "masks": (True, False, False, False, False),
    "keypoints": (False, True, False, False, False),
    "st_cascade": (False, False, True, False, False),
    "cascade_masks": (True, False, True, True, False),
    "cascade_keypoints": (False, True, True, False, True),
}
CASCADE_VARIANTS = {"st": (False, False), "masks": (True, False), "keypoints": (False, True)}


def test_table1_has_every_row_in_both_recipes():
    names = {os.path.relpath(p, os.path.join(REPO, "configs", "table1")) for p in TABLE1}
    assert names == {f"{recipe}/{row}.yaml" for recipe in ("paper", "cpu") for row in ROWS}


def _first_stage_channels(cfg):
    h = cfg.MODEL.ROI_DENSEPOSE_HEAD
    return h.NUM_COARSE_SEGM_CHANNELS + 3 * (h.NUM_PATCHES + 1)


@pytest.mark.parametrize("path", TABLE1, ids=lambda p: os.path.relpath(p, REPO))
def test_table1_config_builds_the_row(path):
    cfg = densepose_cfg(os.path.relpath(path, REPO))
    row = os.path.splitext(os.path.basename(path))[0]
    c = cfg.MODEL.ROI_DENSEPOSE_HEAD.CASCADE
    assert (cfg.MODEL.MASK_ON, cfg.MODEL.KEYPOINT_ON, c.ENABLED, c.USE_MASKS, c.USE_KEYPOINTS) == EXPECTED[row]
    channels = cfg.MODEL.FPN.OUT_CHANNELS
    heads = build_roi_heads(cfg, {f"p{k}": ShapeSpec(channels=channels, stride=2**k) for k in range(2, 7)})
    assert heads.mask_on == cfg.MODEL.MASK_ON and heads.keypoint_on == cfg.MODEL.KEYPOINT_ON
    if not c.ENABLED:
        assert heads.densepose_cascade is None
        return
    extra = c.USE_MASKS * cfg.MODEL.ROI_HEADS.NUM_CLASSES + c.USE_KEYPOINTS * 17
    first_conv = heads.densepose_cascade.head.body_conv_fcn1
    assert first_conv.in_channels == channels + _first_stage_channels(cfg) + extra
    assert heads.densepose_cascade.head.num_convs == c.NUM_STACKED_CONVS


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"CASCADE.ENABLED": True, "CASCADE.USE_KEYPOINTS": True}, "USE_KEYPOINTS needs MODEL.KEYPOINT_ON"),
        ({"CASCADE.ENABLED": True, "CASCADE.USE_MASKS": True}, "USE_MASKS needs MODEL.MASK_ON"),
        ({"CASCADE.USE_MASKS": True, "MASK_ON": True}, "ENABLED is False"),
        ({"CASCADE.ENABLED": True, "CASCADE.NUM_STACKED_CONVS": 0}, "NUM_STACKED_CONVS must be >= 1"),
        ({"CASCADE.ENABLED": True, "DENSEPOSE_ON": False}, "needs MODEL.DENSEPOSE_ON"),
    ],
)
def test_impossible_cascade_settings_are_refused_by_name(overrides, message):
    cfg = densepose_cfg("configs/synth/densepose_rcnn_R_18ish_FPN_cpu.yaml")
    for key, value in overrides.items():
        node = cfg.MODEL if key in ("MASK_ON", "DENSEPOSE_ON") else cfg.MODEL.ROI_DENSEPOSE_HEAD
        *parents, leaf = key.split(".")
        for p in parents:
            node = node[p]
        node[leaf] = value
    with pytest.raises(ValueError, match=message):
        validate_cascade_config(cfg)
    with pytest.raises(ValueError, match=message):  # and the model build runs the check
        build_roi_heads(cfg, {f"p{k}": ShapeSpec(channels=64, stride=2**k) for k in range(2, 7)})


def test_resize_to_roi_keeps_the_roi_frame():
    # A left/right step over the ROI at 8x8 becomes the same step at 4x4 (cells stay aligned), constants stay.
    step = torch.zeros(2, 1, 8, 8)
    step[..., 4:] = 1.0
    small = resize_to_roi(step, 4)
    assert torch.allclose(small[..., :2], torch.zeros(1)) and torch.allclose(small[..., 2:], torch.ones(1))
    assert torch.allclose(resize_to_roi(torch.full((1, 3, 56, 56), 2.5), 14), torch.full((1, 3, 14, 14), 2.5))
    assert resize_to_roi(torch.zeros(0, 5, 56, 56), 14).shape == (0, 5, 14, 14)
    # Upsampling a 2x2 map to 4x4: the centre of each 2x2 block of output cells keeps its input value.
    ramp = torch.tensor([[0.0, 1.0], [2.0, 3.0]])[None, None]
    big = resize_to_roi(ramp, 4)
    assert big.shape == (1, 1, 4, 4) and torch.allclose(big[0, 0, 1:3, 1:3].mean(), ramp.mean())
    assert torch.allclose(big[0, 0, 0, 0], torch.tensor(0.0)) and torch.allclose(big[0, 0, 3, 3], torch.tensor(3.0))


def test_relative_heatmaps_peak_at_one_and_ignore_offsets():
    logits = torch.randn(3, 17, 8, 8, generator=torch.Generator().manual_seed(0))
    maps = relative_heatmaps(logits)
    assert torch.allclose(maps.amax(dim=(2, 3)), torch.ones(3, 17))
    assert (maps > 0).all() and (maps <= 1).all()
    assert torch.allclose(relative_heatmaps(logits + 100.0), maps)  # a constant shift does not change the softmax
    peak = logits.flatten(2).argmax(dim=2)
    assert torch.equal(maps.flatten(2).argmax(dim=2), peak)


def multitask_blob_dataset(num_images, seed=0, size=(64, 64)):
    """blob_dataset inputs plus what the mask and keypoint heads train on: the person's box as its instance
    mask and 17 visible keypoints spread over the box (image px)."""
    inputs = blob_dataset(num_images, seed=seed, size=size)
    g = torch.Generator().manual_seed(seed)
    for x in inputs:
        inst = x["instances"]
        x0, y0, x1, y1 = inst.gt_boxes.tensor[0].tolist()
        mask = torch.zeros(1, *size, dtype=torch.bool)
        mask[0, int(y0) : int(y1) + 1, int(x0) : int(x1) + 1] = True
        inst.gt_masks = BitMasks(mask)
        t = torch.rand(17, 2, generator=g)
        kp = torch.stack([x0 + t[:, 0] * (x1 - x0), y0 + t[:, 1] * (y1 - y0), torch.full((17,), 2.0)], dim=1)
        inst.gt_keypoints = Keypoints(kp[None])
    return inputs


def tiny_multitask_cfg(use_masks, use_keypoints, cascade=True):
    cfg = tiny_cfg()
    cfg.MODEL.MASK_ON, cfg.MODEL.KEYPOINT_ON = use_masks, use_keypoints
    cfg.MODEL.ROI_MASK_HEAD.NUM_CONV, cfg.MODEL.ROI_MASK_HEAD.CONV_DIM = 1, 16
    cfg.MODEL.ROI_MASK_HEAD.POOLER_RESOLUTION = 7
    cfg.MODEL.ROI_KEYPOINT_HEAD.CONV_DIMS = (16,)
    cfg.MODEL.ROI_KEYPOINT_HEAD.POOLER_RESOLUTION = 7
    c = cfg.MODEL.ROI_DENSEPOSE_HEAD.CASCADE
    c.ENABLED, c.NUM_STACKED_CONVS = cascade, 2
    c.USE_MASKS, c.USE_KEYPOINTS = cascade and use_masks, cascade and use_keypoints
    return cfg


def _grad_norm(module):
    return sum(p.grad.abs().sum().item() for p in module.parameters() if p.grad is not None)


@pytest.mark.parametrize("variant", sorted(CASCADE_VARIANTS))
def test_cascade_variant_trains_and_both_stages_get_gradients(variant):
    use_masks, use_keypoints = CASCADE_VARIANTS[variant]
    torch.manual_seed(0)
    model = build_model(tiny_multitask_cfg(use_masks, use_keypoints))
    heads = model.roi_heads
    inputs = multitask_blob_dataset(2)
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-3)
    model.train()
    with EventStorage(0) as storage:
        for _ in range(3):
            losses = model(inputs)
            assert all(torch.isfinite(v) for v in losses.values()), losses
            optimizer.zero_grad()
            sum(losses.values()).backward()
            optimizer.step()
            storage.step()
        stage_names = {"loss_densepose_I", "loss_densepose_U", "loss_densepose_V", "loss_densepose_S"}
        assert stage_names | {n + "_stage2" for n in stage_names} <= set(losses)
        assert ("loss_mask" in losses) == use_masks and ("loss_keypoint" in losses) == use_keypoints
        grads = {}
        for stage in ("first", "second"):  # each stage's loss alone, to see where its gradients go
            optimizer.zero_grad(set_to_none=True)
            losses = model(inputs)
            is_second = [k.endswith("_stage2") for k in losses]
            sum(v for k, v in zip(is_second, losses.values()) if k == (stage == "second")).backward()
            grads[stage] = {
                name: _grad_norm(getattr(heads, name))
                for name in ("densepose_head", "densepose_predictor", "densepose_cascade", "mask_head", "keypoint_head")
                if hasattr(heads, name)
            }
    # First-stage losses train the first stage only; the second-stage loss trains the second stage and, through
    # its inputs, the first stage and the auxiliary heads it reads (end to end).
    assert grads["first"]["densepose_head"] > 0 and grads["first"]["densepose_predictor"] > 0
    assert grads["first"]["densepose_cascade"] == 0
    assert all(grads["second"][name] > 0 for name in ("densepose_head", "densepose_predictor", "densepose_cascade"))
    if use_masks:
        assert grads["second"]["mask_head"] > 0
    if use_keypoints:
        assert grads["second"]["keypoint_head"] > 0


def test_multitask_without_cascade_has_single_stage_losses():
    torch.manual_seed(0)
    model = build_model(tiny_multitask_cfg(True, True, cascade=False))
    model.train()
    with EventStorage(0):
        losses = model(multitask_blob_dataset(2))
    assert model.roi_heads.densepose_cascade is None
    assert {"loss_mask", "loss_keypoint", "loss_densepose_I"} <= set(losses)
    assert not any(k.endswith("_stage2") for k in losses)


def _given_box_inference(model, inputs):
    model.eval()
    with torch.no_grad():
        return model.inference(inputs, detected_instances=gt_boxes_as_detections(inputs), do_postprocess=False)


@pytest.mark.parametrize("variant", sorted(CASCADE_VARIANTS))
def test_inference_returns_the_second_stage(variant):
    torch.manual_seed(0)
    model = build_model(tiny_multitask_cfg(*CASCADE_VARIANTS[variant]))
    inputs = multitask_blob_dataset(2)
    # Known answer: a second-stage predictor with zero weights and biases voting person / part 7 / U=0.25 /
    # V=0.75 everywhere; the (random) first stage must not show through.
    predictor = model.roi_heads.densepose_cascade.predictor
    with torch.no_grad():
        for name, value in (("ann_index_lowres", 1), ("index_uv_lowres", 7)):
            layer = getattr(predictor, name)
            layer.weight.zero_()
            layer.bias.fill_(-10.0)
            layer.bias[value] = 10.0
        for name, value in (("u_lowres", 0.25), ("v_lowres", 0.75)):
            getattr(predictor, name).weight.zero_()
            getattr(predictor, name).bias.fill_(value)
    for out in _given_box_inference(model, inputs):
        (r,) = out.pred_densepose.to_results(out.pred_boxes.tensor)
        assert torch.all(r.labels == 7)
        assert torch.allclose(r.uv[0], torch.tensor(0.25)) and torch.allclose(r.uv[1], torch.tensor(0.75))
        if variant == "masks":
            assert out.has("pred_masks")
        if variant == "keypoints":
            assert out.has("pred_keypoints")


def test_second_stage_output_equals_its_predictor_output():
    """With trained-looking random weights, results equal the chart conversion of the cascade's output."""
    torch.manual_seed(1)
    model = build_model(tiny_multitask_cfg(False, True))
    captured = []
    model.roi_heads.densepose_cascade.register_forward_hook(lambda m, i, o: captured.append(o))
    inputs = multitask_blob_dataset(1)
    (out,) = _given_box_inference(model, inputs)
    assert torch.equal(out.pred_densepose.outputs.fine_segm, captured[-1].fine_segm)
    (expected,) = densepose_chart_inference_per_box(captured[-1], out.pred_boxes.tensor, out.pred_densepose.rule)
    (result,) = out.pred_densepose.to_results(out.pred_boxes.tensor)
    assert torch.equal(result.labels, expected.labels) and torch.equal(result.uv, expected.uv)


def test_cascade_parameters_live_beside_the_reference_names():
    """Enabling the cascade adds only `densepose_cascade.*` parameters: the first stage keeps the reference
    project's names, so a single-stage checkpoint initialises it (only the new stage is missing)."""
    cfg = densepose_cfg("configs/table1/paper/st_cascade.yaml")
    shapes = {f"p{k}": ShapeSpec(channels=256, stride=2**k) for k in range(2, 7)}
    with_cascade = build_roi_heads(cfg, shapes).state_dict()
    cfg.MODEL.ROI_DENSEPOSE_HEAD.CASCADE.ENABLED = False
    single = build_roi_heads(cfg, shapes)
    extra = set(with_cascade) - set(single.state_dict())
    assert extra and all(k.startswith("densepose_cascade.") for k in extra)
    assert {k: v.shape for k, v in with_cascade.items() if k not in extra} == {
        k: v.shape for k, v in single.state_dict().items()
    }
    assert isinstance(build_roi_heads(densepose_cfg("configs/table1/paper/st_cascade.yaml"), shapes)
                      .densepose_cascade, DensePoseCascadeStage)
