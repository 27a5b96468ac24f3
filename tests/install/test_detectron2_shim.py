"""The pure-Python detectron2._C: deformable convolution through torchvision, clear errors elsewhere."""
import pytest
import torch
from torchvision.ops import deform_conv2d

from detectron2 import _C
from detectron2.layers import DeformConv, ModulatedDeformConv, nms_rotated
from detectron2.structures import RotatedBoxes, pairwise_iou_rotated


def _inputs(seed=0, groups=1, offset_groups=1):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(2, 4, 7, 6, generator=g, dtype=torch.float64)
    w = torch.randn(6, 4 // groups, 3, 3, generator=g, dtype=torch.float64)
    offset = torch.randn(2, 2 * 9 * offset_groups, 7, 6, generator=g, dtype=torch.float64)
    mask = torch.rand(2, 9 * offset_groups, 7, 6, generator=g, dtype=torch.float64)
    return x, w, offset, mask


@pytest.mark.parametrize("groups", [1, 2])
def test_deform_conv_forward_matches_torchvision(groups):
    x, w, offset, _ = _inputs(groups=groups)
    out = x.new_empty(2, 6, 7, 6)
    _C.deform_conv_forward(x, w, offset, out, x.new_empty(0), x.new_empty(0), 3, 3, 1, 1, 1, 1, 1, 1,
                           groups, 1, 64)
    torch.testing.assert_close(out, deform_conv2d(x, offset, w, padding=1))


def test_modulated_deform_conv_forward_matches_torchvision():
    x, w, offset, mask = _inputs()
    bias = torch.randn(6, dtype=torch.float64)
    out = x.new_empty(2, 6, 4, 3)
    _C.modulated_deform_conv_forward(x, w, bias, x.new_empty(0), offset[..., ::2, ::2], mask[..., ::2, ::2],
                                     out, x.new_empty(0), 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, True)
    expected = deform_conv2d(x, offset[..., ::2, ::2], w, bias, stride=2, padding=1, mask=mask[..., ::2, ::2])
    torch.testing.assert_close(out, expected)


def test_deform_conv_layer_trains_on_cpu_with_torchvision_gradients():
    x, w, offset, _ = _inputs(seed=1)
    layer = DeformConv(4, 6, kernel_size=3, padding=1, bias=False).double()
    layer.weight.data.copy_(w)
    xa, oa = x.clone().requires_grad_(), offset.clone().requires_grad_()
    layer(xa, oa).square().sum().backward()
    xb, ob, wb = x.clone().requires_grad_(), offset.clone().requires_grad_(), w.clone().requires_grad_()
    deform_conv2d(xb, ob, wb, padding=1).square().sum().backward()
    torch.testing.assert_close(xa.grad, xb.grad)
    torch.testing.assert_close(oa.grad, ob.grad)
    torch.testing.assert_close(layer.weight.grad, wb.grad)


def test_modulated_deform_conv_layer_gradients_match_torchvision():
    x, w, offset, mask = _inputs(seed=2)
    layer = ModulatedDeformConv(4, 6, kernel_size=3, padding=1, bias=True).double()
    layer.weight.data.copy_(w)
    inputs_a = [t.clone().requires_grad_() for t in (x, offset, mask)]
    layer(*inputs_a).square().sum().backward()
    inputs_b = [t.clone().requires_grad_() for t in (x, offset, mask)]
    wb, bb = w.clone().requires_grad_(), layer.bias.detach().clone().requires_grad_()
    deform_conv2d(inputs_b[0], inputs_b[1], wb, bb, padding=1, mask=inputs_b[2]).square().sum().backward()
    for a, b in zip(inputs_a, inputs_b):
        torch.testing.assert_close(a.grad, b.grad)
    torch.testing.assert_close(layer.weight.grad, wb.grad)
    torch.testing.assert_close(layer.bias.grad, bb.grad)


def test_rotated_ops_raise_a_clear_error():
    boxes = torch.tensor([[5.0, 5.0, 4.0, 2.0, 30.0]])
    with pytest.raises(NotImplementedError, match=r"built without its C\+\+/CUDA extension.*nms_rotated"):
        nms_rotated(boxes, torch.ones(1), 0.5)
    with pytest.raises(NotImplementedError, match=r"box_iou_rotated.*install a detectron2 built from source"):
        pairwise_iou_rotated(RotatedBoxes(boxes), RotatedBoxes(boxes))


def test_fast_coco_eval_points_to_the_python_implementation():
    with pytest.raises(NotImplementedError, match="use_fast_impl=False"):
        _C.COCOevalEvaluateImages()
