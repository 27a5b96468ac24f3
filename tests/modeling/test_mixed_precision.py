"""AutocastBackbone: the backbone in bfloat16/float16, its features handed on in float32 (apply_net --amp)."""
import pytest
import torch
from detectron2.layers import ShapeSpec
from detectron2.modeling import build_backbone

from densepose_ext.modeling.mixed_precision import AMP_DTYPES, AutocastBackbone

from .tiny import densepose_cfg


def _backbone():
    torch.manual_seed(0)
    return build_backbone(densepose_cfg("configs/synth/densepose_rcnn_R_18ish_FPN_cpu.yaml"), ShapeSpec(channels=3))


def test_features_are_computed_in_bfloat16_and_handed_on_in_float32():
    backbone = _backbone().eval()
    wrapped = AutocastBackbone(backbone, AMP_DTYPES["bf16"])
    seen = []
    backbone.bottom_up.res2.register_forward_hook(lambda module, inputs, output: seen.append(output.dtype))
    image = torch.randn(1, 3, 64, 96)
    with torch.no_grad():
        reference, mixed = backbone(image), wrapped(image)
    assert seen == [torch.float32, torch.bfloat16]  # the wrapped run computes in bfloat16
    assert mixed.keys() == reference.keys()
    for name, feature in mixed.items():
        assert feature.dtype == torch.float32 and feature.shape == reference[name].shape
        error = (feature - reference[name]).abs().mean()
        # bfloat16 keeps ~3 significant digits; ~20 layers of random weights compound it to 2-3.5 % here
        assert 0 < error <= 0.06 * reference[name].abs().mean(), name
    assert wrapped.size_divisibility == backbone.size_divisibility == 32
    assert wrapped.output_shape() == backbone.output_shape()
    assert all(p.dtype == torch.float32 for p in wrapped.parameters())


def test_only_half_precision_dtypes_are_accepted():
    with pytest.raises(ValueError, match="AutocastBackbone: expected one of"):
        AutocastBackbone(_backbone(), torch.float64)
