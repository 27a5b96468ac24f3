"""DensePoseROIHeads: reference checkpoint names, proposal selection, graph connectivity, inference fields."""
import os

import pytest
import torch
from detectron2.layers import ShapeSpec
from detectron2.modeling import build_roi_heads
from detectron2.structures import Boxes, Instances
from detectron2.utils.events import EventStorage

from densepose_ext.modeling.inference import DensePoseChartPredictions
from densepose_ext.modeling.losses import densepose_chart_losses
from densepose_ext.structures.targets import DensePoseList, DensePoseTargets

from .tiny import REPO, blob_dataset, densepose_cfg

torch.set_num_threads(1)

FPN_SHAPES = {f"p{k}": ShapeSpec(channels=256, stride=2**k) for k in range(2, 7)}


def reference_densepose_state_shapes(decoder: bool):
    """Names and shapes of the reference project's DensePose parameters for its full-size R-50-FPN recipes:
    `DensePoseV1ConvXHead` (8 x conv3x3, 512 channels), `DensePoseChartPredictor` (deconv 4x4 to 25 fine,
    25 U, 25 V channels and 2 coarse (s1x) or 15 (s1x_legacy)) and, when DECODER_ON (s1x), its FPN decoder
    (256 channels)."""
    shapes = {}
    in_channels = 256
    for k in range(1, 9):
        shapes[f"densepose_head.body_conv_fcn{k}.weight"] = (512, in_channels, 3, 3)
        shapes[f"densepose_head.body_conv_fcn{k}.bias"] = (512,)
        in_channels = 512
    coarse = 2 if decoder else 15
    for name, out in (("ann_index_lowres", coarse), ("index_uv_lowres", 25), ("u_lowres", 25), ("v_lowres", 25)):
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


def _reference_densepose_names(decoder: bool):
    """DensePose parameter names of the reference's own R-50-FPN checkpoint (its golden model.pkl, tests/data/golden;
    s1x with the decoder, s1x_legacy without), without the `roi_heads.` prefix."""
    import pickle

    family = "densepose_rcnn_R_50_FPN_s1x" if decoder else "densepose_rcnn_R_50_FPN_s1x_legacy"
    with open(os.path.join(REPO, "tests", "data", "golden", family, "model.pkl"), "rb") as f:
        state = pickle.load(f)["model"]
    return sorted(k[len("roi_heads."):] for k in state if k.startswith(("roi_heads.densepose_", "roi_heads.decoder.")))


@pytest.mark.parametrize("decoder", [False, True])
def test_reference_checkpoint_names_and_full_size_shapes_load(decoder):
    """Names from the reference's checkpoint (its golden model.pkl, reduced in width); shapes at the full R-50-FPN
    width derived by hand above (tests/golden/test_checkpoint.py loads the reduced checkpoint's values)."""
    cfg = densepose_cfg("configs/densepose_rcnn_R_50_FPN_s1x.yaml")
    cfg.MODEL.ROI_DENSEPOSE_HEAD.DECODER_ON = decoder
    if not decoder:  # the legacy recipe's 15 coarse channels
        cfg.MODEL.ROI_DENSEPOSE_HEAD.NUM_COARSE_SEGM_CHANNELS = 15
    heads = build_roi_heads(cfg, FPN_SHAPES)
    ours = {k: tuple(v.shape) for k, v in _dp_state(heads).items()}
    assert sorted(ours) == _reference_densepose_names(decoder)
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


def _box_with_iou(gt, iou):
    """A box sharing `gt`'s top-left corner, scaled so that its IoU with `gt` is `iou` (nested boxes: area ratio)."""
    x0, y0, x1, y1 = gt.tolist()
    s = iou ** 0.5
    return torch.tensor([x0, y0, x0 + s * (x1 - x0), y0 + s * (y1 - y0)])


def test_training_selects_high_iou_proposals_with_targets(monkeypatch):
    """Proposals at IoU 1, 0.81 (>= FG_IOU_THRESHOLD 0.7), 0.6 (foreground for the box head, < 0.7) and 0 per
    image: the DensePose losses are those of exactly the IoU >= 0.7 boxes (the GT box is appended to the
    proposals, so it counts twice), each scored against its own image's targets."""
    import densepose_ext.modeling.roi_heads as roi_heads_module

    cfg = densepose_cfg("configs/synth/densepose_rcnn_R_18ish_FPN_cpu.yaml")
    assert cfg.MODEL.ROI_DENSEPOSE_HEAD.FG_IOU_THRESHOLD == 0.7 and cfg.MODEL.ROI_HEADS.PROPOSAL_APPEND_GT
    heads = build_roi_heads(cfg, {f"p{k}": ShapeSpec(channels=64, stride=2**k) for k in range(2, 7)})
    heads.train()
    inputs = blob_dataset(2)
    targets = [x["instances"] for x in inputs]
    proposals, expected = [], []
    for t in targets:
        gt = t.gt_boxes.tensor[0]
        boxes = torch.stack([gt, _box_with_iou(gt, 0.81), _box_with_iou(gt, 0.6), torch.tensor([0.0, 0, 3, 3])])
        proposals.append(Instances(t.image_size, proposal_boxes=Boxes(boxes), objectness_logits=torch.ones(4)))
        (dp,) = list(t.gt_densepose)
        expected += [(gt.tolist(), dp), (gt.tolist(), dp), (boxes[1].tolist(), dp)]
    calls = []

    def recording_losses(outputs, boxes, dp_targets, **kwargs):
        calls.append((boxes.clone(), list(dp_targets)))
        return densepose_chart_losses(outputs, boxes, dp_targets, **kwargs)

    monkeypatch.setattr(roi_heads_module, "densepose_chart_losses", recording_losses)
    features = _features(inputs, 64)
    with EventStorage(0):
        _, losses = heads(None, features, proposals, targets)
    ((boxes, dp_targets),) = calls
    got = sorted(((b.tolist(), id(t)) for b, t in zip(boxes, dp_targets)), key=str)
    assert got == sorted(((b, id(t)) for b, t in expected), key=str)
    # The losses are those of the head run on these boxes alone (pooled from the same features).
    maps = [features[f] for f in heads.densepose_in_features]
    per_image = boxes.split([sum(t is u for u in dp_targets) for _, t in expected[::3]])
    pooled = heads.densepose_pooler(maps, [Boxes(b) for b in per_image])
    outputs = heads.densepose_predictor(heads.densepose_head(pooled))
    reference = densepose_chart_losses(outputs, boxes, dp_targets, **heads.densepose_loss_weights)
    assert sorted(reference) == ["loss_densepose_I", "loss_densepose_S", "loss_densepose_U", "loss_densepose_V"]
    for name, value in reference.items():
        assert value.item() > 0, name
        torch.testing.assert_close(losses[name], value, rtol=1e-5, atol=0)


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
    """Paper Sec. 3.3: DensePose + keypoints in one model. With the same weights and sampling, the keypoint
    (and box) losses equal detectron2's StandardROIHeads with keypoints alone, and the DensePose losses equal
    those of the DensePose-only heads: each branch trains as it would without the other."""
    from detectron2.structures import Keypoints

    shapes = {f"p{k}": ShapeSpec(channels=64, stride=2**k) for k in range(2, 7)}

    def build(densepose: bool, keypoints: bool):
        cfg = densepose_cfg("configs/synth/densepose_rcnn_R_18ish_FPN_cpu.yaml")
        cfg.MODEL.KEYPOINT_ON = keypoints
        cfg.MODEL.ROI_KEYPOINT_HEAD.CONV_DIMS = (32, 32)
        cfg.MODEL.DENSEPOSE_ON = densepose
        if not densepose:
            cfg.MODEL.ROI_HEADS.NAME = "StandardROIHeads"
        return build_roi_heads(cfg, shapes).train()

    both = build(True, True)
    keypoints_only, densepose_only = build(False, True), build(True, False)
    for other in (keypoints_only, densepose_only):
        own = other.state_dict()
        other.load_state_dict({k: v for k, v in both.state_dict().items() if k in own}, strict=True)
    inputs = blob_dataset(2)
    targets = [x["instances"] for x in inputs]
    for t in targets:
        x0, y0, x1, y1 = t.gt_boxes.tensor[0].tolist()
        g = torch.Generator().manual_seed(3)
        kp = torch.stack([x0 + torch.rand(17, generator=g) * (x1 - x0), y0 + torch.rand(17, generator=g) * (y1 - y0),
                          torch.full((17,), 2.0)], dim=1)
        t.gt_keypoints = Keypoints(kp[None])
    features = _features(inputs, 64)

    def losses_of(heads):
        torch.manual_seed(0)  # proposal sampling
        with EventStorage(0):
            return heads(None, features, _proposals(inputs), targets)[1]

    got, keypoint_ref, densepose_ref = losses_of(both), losses_of(keypoints_only), losses_of(densepose_only)
    assert sorted(got) == sorted(set(keypoint_ref) | set(densepose_ref))
    assert keypoint_ref["loss_keypoint"].item() > 0 and densepose_ref["loss_densepose_I"].item() > 0
    for name, value in {**keypoint_ref, **densepose_ref}.items():
        torch.testing.assert_close(got[name], value, rtol=1e-6, atol=0, msg=name)


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


def _smooth_feature_field(channels, shift_px, image_size, seed=0):
    """{p2..p6: (1, C, H/s, W/s)}: one smooth random field of image px, sampled at each level's cell centres
    ((c + 1/2) s), of the image translated by `shift_px` (the field at x - shift): a translated scene."""
    g = torch.Generator().manual_seed(seed)
    freq = torch.rand(channels, 2, generator=g) * 0.15
    phase = torch.rand(channels, generator=g) * 6.28
    features = {}
    for k in range(2, 7):
        s = 2**k
        centres = (torch.arange(image_size // s, dtype=torch.float32) + 0.5) * s - shift_px
        y, x = torch.meshgrid(centres, centres, indexing="ij")
        features[f"p{k}"] = torch.sin(freq[:, 0, None, None] * x + freq[:, 1, None, None] * y + phase[:, None, None])[None]
    return features


def test_translated_person_gets_translated_predictions_and_the_same_losses():
    """Pooled features are aligned with the ROI frame the losses sample: shifting the scene, the person's box and
    its annotated points by 64 px (a whole number of cells at every FPN level) leaves the raw DensePose outputs and
    every loss unchanged; shifting the box alone does not."""
    cfg = densepose_cfg("configs/synth/densepose_rcnn_R_18ish_FPN_cpu.yaml")
    heads = build_roi_heads(cfg, {f"p{k}": ShapeSpec(channels=64, stride=2**k) for k in range(2, 7)})
    size, shift = 256, 64.0
    here, there = _smooth_feature_field(64, 0.0, size), _smooth_feature_field(64, shift, size)
    (person,) = blob_dataset(1, size=(96, 96))  # the person's targets, in the 96 px image it was drawn in
    (t,) = list(person["instances"].gt_densepose)
    box = person["instances"].gt_boxes.tensor + 20.0
    t = DensePoseTargets(x=t.x + 20, y=t.y + 20, i=t.i, u=t.u, v=t.v, coarse_masks=t.coarse_masks,
                         mask_box=t.mask_box + 20)
    moved = DensePoseTargets(x=t.x + shift, y=t.y + shift, i=t.i, u=t.u, v=t.v, coarse_masks=t.coarse_masks,
                             mask_box=t.mask_box + shift)

    def proposals(b, targets):
        p = Instances((size, size), proposal_boxes=Boxes(b), gt_boxes=Boxes(b), gt_classes=torch.zeros(1, dtype=torch.long))
        p.gt_densepose = DensePoseList([targets])
        return [p]

    def detections(b):
        return [Instances((size, size), pred_boxes=Boxes(b), pred_classes=torch.zeros(1, dtype=torch.long),
                          scores=torch.ones(1))]

    with torch.no_grad():
        heads.eval()
        raw = heads.forward_with_given_boxes(here, detections(box))[0].pred_densepose.outputs
        raw_moved = heads.forward_with_given_boxes(there, detections(box + shift))[0].pred_densepose.outputs
        raw_box_only = heads.forward_with_given_boxes(here, detections(box + shift))[0].pred_densepose.outputs
        heads.train()
        losses = heads._forward_densepose(here, proposals(box, t))
        losses_moved = heads._forward_densepose(there, proposals(box + shift, moved))
        losses_box_only = heads._forward_densepose(here, proposals(box + shift, moved))
    for name in ("coarse_segm", "fine_segm", "u", "v"):
        torch.testing.assert_close(getattr(raw_moved, name), getattr(raw, name), atol=1e-5, rtol=0)
    assert (raw_box_only.fine_segm - raw.fine_segm).abs().max() > 1e-2
    assert sorted(losses) == ["loss_densepose_I", "loss_densepose_S", "loss_densepose_U", "loss_densepose_V"]
    for name, value in losses.items():
        torch.testing.assert_close(losses_moved[name], value, atol=1e-5, rtol=1e-5, msg=name)
    assert any(abs(losses_box_only[n].item() - v.item()) > 1e-3 for n, v in losses.items())
