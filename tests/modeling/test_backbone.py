"""build_basic_resnet_fpn_backbone: BasicBlock ResNets of any width under detectron2's FPN."""
import pytest
import torch
from detectron2.layers import ShapeSpec
from detectron2.modeling import build_backbone

from .tiny import densepose_cfg


def _cfg(depth: int, width: int):
    cfg = densepose_cfg("configs/synth/densepose_rcnn_R_18ish_FPN_cpu.yaml")
    cfg.MODEL.BACKBONE.NAME = "build_basic_resnet_fpn_backbone"
    cfg.MODEL.RESNETS.DEPTH = depth
    cfg.MODEL.RESNETS.STEM_OUT_CHANNELS = width
    cfg.MODEL.RESNETS.RES2_OUT_CHANNELS = width
    return cfg


@pytest.mark.parametrize("depth,blocks", [(18, [2, 2, 2, 2]), (34, [3, 4, 6, 3])])
def test_width_and_depth_follow_the_config(depth, blocks):
    cfg = _cfg(depth, 32)  # GroupNorm(32) needs multiples of 32
    backbone = build_backbone(cfg, ShapeSpec(channels=3))
    bottom_up = backbone.bottom_up
    assert [len(getattr(bottom_up, f"res{i}")) for i in range(2, 6)] == blocks
    assert [bottom_up.output_shape()[f"res{i}"].channels for i in range(2, 6)] == [32, 64, 128, 256]
    features = backbone(torch.rand(1, 3, 64, 96))
    assert {k: tuple(v.shape) for k, v in features.items()} == {
        "p2": (1, 64, 16, 24), "p3": (1, 64, 8, 12), "p4": (1, 64, 4, 6), "p5": (1, 64, 2, 3), "p6": (1, 64, 1, 2)}


def test_width_64_has_the_parameters_of_detectron2s_resnet18():
    ours = build_backbone(_cfg(18, 64), ShapeSpec(channels=3))
    cfg = _cfg(18, 64)
    cfg.MODEL.BACKBONE.NAME = "build_resnet_fpn_backbone"
    theirs = build_backbone(cfg, ShapeSpec(channels=3))
    assert {k: v.shape for k, v in ours.state_dict().items()} == {k: v.shape for k, v in theirs.state_dict().items()}


def test_bottleneck_depths_are_refused_with_the_key():
    with pytest.raises(ValueError, match="MODEL.RESNETS.DEPTH must be one of \\[18, 34\\].*got 50"):
        build_backbone(_cfg(50, 32), ShapeSpec(channels=3))


def test_the_stem_pools_through_onednn_in_cpu_inference_with_atens_results():
    from detectron2.modeling.backbone.resnet import BasicStem

    from densepose_ext.modeling.backbone import CPUFastStem

    torch.manual_seed(0)
    stem = build_backbone(_cfg(18, 32), ShapeSpec(channels=3)).bottom_up.stem
    assert isinstance(stem, CPUFastStem)
    image = torch.randn(2, 3, 70, 94)  # odd pooled sizes: the padding matters at the far border
    with torch.no_grad():
        fast = stem(image)
        reference = BasicStem.forward(stem, image)
    assert torch.equal(fast, reference) and fast.is_contiguous() and fast.layout == torch.strided
    # Training (autograd) and tracing (export) keep ATen's operator.
    traced = torch.jit.trace(stem, image)
    assert "max_pool2d" in str(traced.graph) and "mkldnn" not in str(traced.graph)
    image.requires_grad_(True)
    stem(image).sum().backward()
    assert image.grad is not None and image.grad.abs().sum() > 0
