"""Pure-Python stand-in for detectron2's compiled extension ``detectron2._C``.

tools/install_detectron2.py copies this file into detectron2 as ``detectron2/_C.py`` when it builds detectron2
from the source distribution without C++/CUDA (the registry sdist lacks ``layers/csrc``). detectron2 imports
``_C`` at module level, so the module must exist:

- deformable convolution (plain and modulated) is implemented with ``torchvision.ops.deform_conv2d``, on any
  device, following the calling convention of detectron2's C++ functions (results written into the
  preallocated output/gradient tensors it passes);
- rotated-box kernels and the fast COCO evaluation have no torchvision equivalent: calling them raises
  :class:`MissingKernelError`, which names the operation and how to get it.
"""
from __future__ import annotations

import platform

import torch
from torchvision.ops import deform_conv2d

_HOW_TO_GET_IT = (
    "This detectron2 was built without its C++/CUDA extension (pure-Python detectron2._C installed by "
    "densepose_ext). To use '{op}', install a detectron2 built from source with its extension "
    "(see https://detectron2.readthedocs.io/en/latest/tutorials/install.html), then rerun `make setup`: "
    "the installer keeps any detectron2 that already imports."
)


class MissingKernelError(NotImplementedError):
    """A detectron2 kernel that only exists in the compiled extension was called."""

    def __init__(self, op: str, hint: str = "") -> None:
        super().__init__(_HOW_TO_GET_IT.format(op=op) + (" " + hint if hint else ""))
        self.op = op


def get_compiler_version() -> str:
    return f"none (pure-Python detectron2._C; Python {platform.python_version()})"


def get_cuda_version() -> str:
    return "none (pure-Python detectron2._C)"


def has_cuda() -> bool:
    return False


# ---------------------------------------------------------------------------------------------------------------
# Deformable convolution. torchvision infers weight groups and offset groups from the tensor shapes, which are
# the same ones detectron2 passes explicitly, so those arguments only serve as a consistency check.


def _check_groups(input: torch.Tensor, weight: torch.Tensor, offset: torch.Tensor, group: int,
                  deformable_group: int) -> None:
    kh, kw = weight.shape[2:]
    if input.shape[1] != weight.shape[1] * group:
        raise ValueError(f"deform conv: input has {input.shape[1]} channels, weight expects "
                         f"{weight.shape[1]} x {group} groups")
    if offset.shape[1] != 2 * kh * kw * deformable_group:
        raise ValueError(f"deform conv: offset has {offset.shape[1]} channels, expected "
                         f"2 x {kh} x {kw} x {deformable_group} deformable groups")


def _deform(input, weight, offset, mask, bias, stride, padding, dilation):
    return deform_conv2d(input, offset, weight, bias=bias, stride=stride, padding=padding,
                         dilation=dilation, mask=mask)


def _deform_grads(inputs: dict, grad_output: torch.Tensor, stride, padding, dilation) -> dict:
    """Gradients of the deformable convolution w.r.t. every tensor in ``inputs`` (by autograd)."""
    leaves = {k: (v.detach().requires_grad_() if v is not None else None) for k, v in inputs.items()}
    with torch.enable_grad():
        out = _deform(leaves["input"], leaves["weight"], leaves["offset"], leaves.get("mask"),
                      leaves.get("bias"), stride, padding, dilation)
        names = [k for k, v in leaves.items() if v is not None]
        grads = torch.autograd.grad(out, [leaves[k] for k in names], grad_output)
    return dict(zip(names, grads))


def deform_conv_forward(input, weight, offset, output, columns, ones, kW, kH, dW, dH, padW, padH,
                        dilW, dilH, group, deformable_group, im2col_step):
    _check_groups(input, weight, offset, group, deformable_group)
    output.copy_(_deform(input, weight, offset, None, None, (dH, dW), (padH, padW), (dilH, dilW)))
    return 1


def deform_conv_backward_input(input, offset, grad_output, grad_input, grad_offset, weight, columns,
                               kW, kH, dW, dH, padW, padH, dilW, dilH, group, deformable_group,
                               im2col_step):
    grads = _deform_grads({"input": input, "weight": weight, "offset": offset}, grad_output,
                          (dH, dW), (padH, padW), (dilH, dilW))
    grad_input.copy_(grads["input"])
    grad_offset.copy_(grads["offset"])
    return 1


def deform_conv_backward_filter(input, offset, grad_output, grad_weight, columns, ones, kW, kH, dW, dH,
                                padW, padH, dilW, dilH, group, deformable_group, scale, im2col_step):
    # The C++ signature passes no weight: the filter gradient of a convolution does not depend on the
    # weight values, so any weight of the right shape gives it.
    grads = _deform_grads({"input": input, "weight": torch.zeros_like(grad_weight), "offset": offset},
                          grad_output, (dH, dW), (padH, padW), (dilH, dilW))
    grad_weight.add_(grads["weight"], alpha=scale)
    return 1


def modulated_deform_conv_forward(input, weight, bias, ones, offset, mask, output, columns, kernel_h,
                                  kernel_w, stride_h, stride_w, pad_h, pad_w, dilation_h, dilation_w,
                                  group, deformable_group, with_bias):
    _check_groups(input, weight, offset, group, deformable_group)
    out = _deform(input, weight, offset, mask, bias if with_bias else None, (stride_h, stride_w),
                  (pad_h, pad_w), (dilation_h, dilation_w))
    output.copy_(out)


def modulated_deform_conv_backward(input, weight, bias, ones, offset, mask, columns, grad_input,
                                   grad_weight, grad_bias, grad_offset, grad_mask, grad_output, kernel_h,
                                   kernel_w, stride_h, stride_w, pad_h, pad_w, dilation_h, dilation_w,
                                   group, deformable_group, with_bias):
    inputs = {"input": input, "weight": weight, "offset": offset, "mask": mask,
              "bias": bias if with_bias else None}
    grads = _deform_grads(inputs, grad_output, (stride_h, stride_w), (pad_h, pad_w),
                          (dilation_h, dilation_w))
    for name, target in (("input", grad_input), ("weight", grad_weight), ("offset", grad_offset),
                         ("mask", grad_mask), ("bias", grad_bias)):
        if name in grads:
            target.copy_(grads[name])


# ---------------------------------------------------------------------------------------------------------------
# Kernels with no torchvision equivalent.


def box_iou_rotated(*args, **kwargs):
    raise MissingKernelError("box_iou_rotated (rotated-box IoU)")


def roi_align_rotated_forward(*args, **kwargs):
    raise MissingKernelError("roi_align_rotated (rotated ROIAlign)")


def roi_align_rotated_backward(*args, **kwargs):
    raise MissingKernelError("roi_align_rotated (rotated ROIAlign)")


def nms_rotated(*args, **kwargs):
    raise MissingKernelError("nms_rotated (rotated-box NMS)")


def _fast_coco_eval(*args, **kwargs):
    raise MissingKernelError(
        "COCOeval_opt (fast COCO evaluation)",
        hint="Or pass use_fast_impl=False to COCOEvaluator, which uses pycocotools instead.")


InstanceAnnotation = ImageEvaluation = COCOevalEvaluateImages = COCOevalAccumulate = _fast_coco_eval


def _register_rotated_nms_op() -> None:
    # detectron2.layers.nms calls torch.ops.detectron2.nms_rotated, which the compiled extension registers.
    # Registering a stub makes the failure the clear one above instead of "no such operator".
    if hasattr(torch.ops, "detectron2") and hasattr(torch.ops.detectron2, "nms_rotated"):
        return
    lib = torch.library.Library("detectron2", "DEF")
    lib.define("nms_rotated(Tensor boxes, Tensor scores, float iou_threshold) -> Tensor")
    lib.impl("nms_rotated", nms_rotated, "CompositeExplicitAutograd")
    _LIBRARIES.append(lib)  # the registration lives as long as the Library object


_LIBRARIES: list = []
_register_rotated_nms_op()
