"""DensePoseROIHeads: reference checkpoint names, graph connectivity, inference fields."""
import pytest
import torch
from detectron2.layers import ShapeSpec
from detectron2.modeling import build_roi_heads
from detectron2.structures import Boxes, Instances
from detectron2.utils.events import EventStorage

from densepose_ext.modeling.inference import DensePoseChartPredictions
from densepose_ext.structures.targets import DensePoseList

from .tiny import blob_dataset, densepose_cfg

torch.set_num_threads(1)

FPN_SHAPES = {f"p{k}": ShapeSpec(channels=256, stride=2**k) for k in range(2, 7)}


def reference_densepose_state_shapes(decoder: bool):
    """Names and shapes of the reference project's DensePose parameters for its R-50-FPN recipe:
    `DensePoseV1ConvXHead` (8 x conv3x3, 512 channels), `DensePoseChartPredictor` (deconv 4x4 to 2
    coarse, 25 fine, 25 U, 25 V channels) and, when DECODER_ON, its FPN decoder (256 channels)."""
    shapes = {}
    in_channels = 256
    for k in range(1, 9):
        shapes[f"densepose_head.body_conv_fcn{k}.weight"] = (512, in_channels, 3, 3)
        shapes[f"densepose_head.body_conv_fcn{k}.bias"] = (512,)
        in_channels = 512
    for name, out in (("ann_index_lowres", 2), ("index_uv_lowres", 25), ("u_lowres", 25), ("v_lowres", 25)):
        shapes[f"densepose_predictor.{name}.weight"] = (512, out, 4, 4)  # ConvTranspose2d: (in, out, k, k)
        shapes[f"densepose_predictor.{name}.bias"] = (out,)
    if decoder:
        for level, blocks in (("p2", 1), ("p3", 1), ("p4", 2), ("p5", 3)):
            for b in range(blocks):  # conv blocks at even indices, upsampling between them
                shapes[f"decoder.{level}.{2 * b}.weight"] = (256, 256, 3, 3)
                shapes[f"decoder.{level}.{2 * b}.bias"] = (256,)
        shapes["decoder.predictor.weight"] = (256, 256, 1, 1)
        shapes["decoder.predictor.bias"] = (256,)
    return shapes


def _dp_state(heads):
    return {k: v for k, v in heads.state_dict().items() if k.startswith(("densepose_", "decoder."))}


@pytest.mark.parametrize("decoder", [False, True])
def test_reference_checkpoint_names_and_shapes_load(decoder):
    cfg = densepose_cfg("configs/densepose_rcnn_R_50_FPN_s1x.yaml")
    cfg.MODEL.ROI_DENSEPOSE_HEAD.DECODER_ON = decoder
    heads = build_roi_heads(cfg, FPN_SHAPES)
    ours = {k: tuple(v.shape) for k, v in _dp_state(heads).items()}
    expected = reference_densepose_state_shapes(decoder)
    assert ours == expected
    checkpoint = {k: torch.full(s, 0.5) for k, s in expected.items()}
    result = heads.load_state_dict({**heads.state_dict(), **checkpoint}, strict=True)
    assert not result.missing_keys and not result.unexpected_keys
    assert all(torch.equal(v, checkpoint[k]) for k, v in _dp_state(heads).items())


def _proposals(inputs):
    return [
        Instances(x["instances"].image_size, proposal_boxes=Boxes(x["instances"].gt_boxes.tensor.clone()),
                  objectness_logits=torch.ones(1))
        for x in inputs
    ]


def _features(inputs, channels=256):
    g = torch.Generator().manual_seed(0)
    h, w = inputs[0]["image"].shape[-2:]
    return {f"p{k}": torch.randn(len(inputs), channels, h // 2**k, w // 2**k, generator=g) for k in range(2, 7)}


def test_batch_without_densepose_targets_gives_zero_losses_with_all_parameters_in_graph():
    cfg = densepose_cfg("configs/synth/densepose_rcnn_R_18ish_FPN_cpu.yaml")
    heads = build_roi_heads(cfg, {f"p{k}": ShapeSpec(channels=64, stride=2**k) for k in range(2, 7)})
    heads.train()
    inputs = blob_dataset(2)
    targets = [x["instances"] for x in inputs]
    for t in targets:
        t.gt_densepose = DensePoseList([None])
    with EventStorage(0):
        _, losses = heads(None, _features(inputs, 64), _proposals(inputs), targets)
    dp_losses = {k: v for k, v in losses.items() if "densepose" in k}
    assert sorted(dp_losses) == ["loss_densepose_I", "loss_densepose_S", "loss_densepose_U", "loss_densepose_V"]
    assert all(v.item() == 0.0 for v in dp_losses.values())
    sum(dp_losses.values()).backward()
    for name, p in heads.named_parameters():
        if name.startswith("densepose_"):
            assert p.grad is not None, name


def test_training_selects_high_iou_proposals_with_targets():
    cfg = densepose_cfg("configs/synth/densepose_rcnn_R_18ish_FPN_cpu.yaml")
    heads = build_roi_heads(cfg, {f"p{k}": ShapeSpec(channels=64, stride=2**k) for k in range(2, 7)})
    heads.train()
    inputs = blob_dataset(2)
    with EventStorage(0):
        _, losses = heads(None, _features(inputs, 64), _proposals(inputs), [x["instances"] for x in inputs])
    assert all(losses[k].item() > 0 for k in ("loss_densepose_I", "loss_densepose_U", "loss_densepose_S"))


def test_inference_attaches_one_result_per_detection():
    cfg = densepose_cfg("configs/synth/densepose_rcnn_R_18ish_FPN_cpu.yaml")
    heads = build_roi_heads(cfg, {f"p{k}": ShapeSpec(channels=64, stride=2**k) for k in range(2, 7)})
    heads.eval()
    inputs = blob_dataset(2)
    detections = []
    for x, n in zip(inputs, (3, 0)):
        d = Instances(x["instances"].image_size)
        d.pred_boxes = Boxes(torch.tensor([[10.0, 12.0, 40.0, 70.0]]).repeat(n, 1))
        d.pred_classes = torch.zeros(n, dtype=torch.long)
        d.scores = torch.ones(n)
        detections.append(d)
    with torch.no_grad():
        out = heads.forward_with_given_boxes(_features(inputs, 64), detections)
    assert [len(d.pred_densepose) for d in out] == [3, 0]
    assert isinstance(out[0].pred_densepose, DensePoseChartPredictions)
    assert out[0].pred_densepose.outputs.fine_segm.shape == (3, 25, 56, 56)  # raw S x S outputs
    r = out[0].pred_densepose.to_results(out[0].pred_boxes.tensor)[0]
    assert r.labels.shape == (58, 30) and r.uv.shape == (2, 58, 30)
    # Instances indexing keeps the field aligned (as detectron2's postprocessing does).
    assert len(out[0][torch.tensor([True, False, True])].pred_densepose) == 2


def test_keypoint_multitask_branch_trains_beside_densepose():
    # Paper Sec. 3.3: DensePose + keypoints in one model; StandardROIHeads' keypoint branch is kept.
    from detectron2.structures import Keypoints

    cfg = densepose_cfg("configs/synth/densepose_rcnn_R_18ish_FPN_cpu.yaml")
    cfg.MODEL.KEYPOINT_ON = True
    cfg.MODEL.ROI_KEYPOINT_HEAD.CONV_DIMS = (32, 32)
    heads = build_roi_heads(cfg, {f"p{k}": ShapeSpec(channels=64, stride=2**k) for k in range(2, 7)})
    heads.train()
    inputs = blob_dataset(2)
    targets = [x["instances"] for x in inputs]
    for t in targets:
        x0, y0, x1, y1 = t.gt_boxes.tensor[0].tolist()
        g = torch.Generator().manual_seed(3)
        kp = torch.stack([x0 + torch.rand(17, generator=g) * (x1 - x0), y0 + torch.rand(17, generator=g) * (y1 - y0),
                          torch.full((17,), 2.0)], dim=1)
        t.gt_keypoints = Keypoints(kp[None])
    with EventStorage(0):
        _, losses = heads(None, _features(inputs, 64), _proposals(inputs), targets)
    assert losses["loss_keypoint"].item() > 0 and losses["loss_densepose_I"].item() > 0


def test_select_densepose_proposals_by_iou_class_and_annotation():
    from densepose_ext.modeling.roi_heads import select_densepose_proposals

    inputs = blob_dataset(1)
    (t,) = list(inputs[0]["instances"].gt_densepose)
    gt = torch.tensor([0.0, 0.0, 10.0, 10.0])
    p = Instances((96, 96))
    # IoU with the GT box: 1.0, 0.81 (9x9 inside), 0.64 (8x8 inside), 1.0 but background, 1.0 without targets.
    p.proposal_boxes = Boxes(torch.tensor([[0, 0, 10, 10], [0, 0, 9, 9], [0, 0, 8, 8], [0, 0, 10, 10], [0, 0, 10, 10]],
                                          dtype=torch.float32))
    p.gt_boxes = Boxes(gt.repeat(5, 1))
    p.gt_classes = torch.tensor([0, 0, 0, 1, 0])
    p.gt_densepose = DensePoseList([t, t, t, t, None])
    (selected,) = select_densepose_proposals([p], num_classes=1, iou_threshold=0.7)
    assert selected.proposal_boxes.tensor[:, 2].tolist() == [10.0, 9.0]
    # An image whose targets carry no DensePose field contributes nothing (and no error).
    p.remove("gt_densepose")
    assert len(select_densepose_proposals([p], num_classes=1, iou_threshold=0.7)[0]) == 0


def test_densepose_off_is_a_plain_standard_roi_heads():
    cfg = densepose_cfg("configs/synth/densepose_rcnn_R_18ish_FPN_cpu.yaml")
    cfg.MODEL.DENSEPOSE_ON = False
    heads = build_roi_heads(cfg, {f"p{k}": ShapeSpec(channels=64, stride=2**k) for k in range(2, 7)})
    assert not any(k.startswith(("densepose", "decoder")) for k in heads.state_dict())
    heads.eval()
    d = Instances((96, 96), pred_boxes=Boxes(torch.tensor([[1.0, 2.0, 30.0, 40.0]])),
                  pred_classes=torch.zeros(1, dtype=torch.long), scores=torch.ones(1))
    (out,) = heads.forward_with_given_boxes(_features(blob_dataset(1), 64), [d])
    assert not out.has("pred_densepose")
