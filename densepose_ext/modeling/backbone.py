"""ResNet-18/34-style FPN backbones of any width, for CPU recipes that train from scratch.

detectron2's `build_resnet_backbone` fixes the BasicBlock ResNets (depth 18 and 34) at 64 stem and res2
channels. On 2 CPU cores the backbone is most of a training step (0.27 s of the 0.45 s forward of the demo
recipe at 4 x 240x320 with width 64), and its cost grows with the square of the width, so the CPU recipes
use narrower ones. Everything else (blocks, stages, FPN) is detectron2's, and so is the stem but for where its
max pooling runs in CPU inference (`CPUFastStem`).
"""
import torch
from detectron2.layers import ShapeSpec
from detectron2.modeling import BACKBONE_REGISTRY, FPN, Backbone
from detectron2.modeling.backbone.fpn import LastLevelMaxPool
from detectron2.modeling.backbone.resnet import BasicBlock, BasicStem, ResNet
from torch.nn import functional as F

_BLOCKS_PER_STAGE = {18: (2, 2, 2, 2), 34: (3, 4, 6, 3)}


class CPUFastStem(BasicStem):
    """detectron2's BasicStem (conv 7x7/2, norm, ReLU, max pool 3x3/2; same weights and outputs) whose max pooling
    goes through oneDNN when it runs on the CPU without autograd: ATen's kernel for (N, C, H, W) float tensors
    takes 22 ms at one thread on 4 x 32 x 128 x 176 (a batch of the CPU recipe), oneDNN 1.9 ms with the layout
    conversions (bench/bench_cpu_kernels.py). A maximum is exact, so the outputs are equal bit for bit."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu_(self.conv1(x))
        if _onednn_can_pool(x):
            return torch.mkldnn_max_pool2d(x.to_mkldnn(), [3, 3], [2, 2], [1, 1]).to_dense()
        return F.max_pool2d(x, kernel_size=3, stride=2, padding=1)


def _onednn_can_pool(x: torch.Tensor) -> bool:
    """True for float32 CPU inference outside export (a traced graph must hold ATen's operator)."""
    return (x.device.type == "cpu" and x.dtype == torch.float32 and torch.backends.mkldnn.is_available()
            and not (torch.is_grad_enabled() and x.requires_grad)
            and not torch.jit.is_tracing() and not torch.jit.is_scripting())


def build_basic_resnet(cfg, input_shape: ShapeSpec) -> ResNet:
    """ResNet of BasicBlocks; stage i (res2..res5) has RES2_OUT_CHANNELS * 2**i channels.

    Reads MODEL.RESNETS.{DEPTH (18 or 34), STEM_OUT_CHANNELS, RES2_OUT_CHANNELS, NORM, OUT_FEATURES} and
    MODEL.BACKBONE.FREEZE_AT, with the same meaning as detectron2's builder.
    """
    r = cfg.MODEL.RESNETS
    if r.DEPTH not in _BLOCKS_PER_STAGE:
        raise ValueError(f"MODEL.RESNETS.DEPTH must be one of {sorted(_BLOCKS_PER_STAGE)} for "
                         f"build_basic_resnet_fpn_backbone, got {r.DEPTH}")
    stem = CPUFastStem(in_channels=input_shape.channels, out_channels=r.STEM_OUT_CHANNELS, norm=r.NORM)
    stages, in_channels = [], r.STEM_OUT_CHANNELS
    for i, num_blocks in enumerate(_BLOCKS_PER_STAGE[r.DEPTH]):
        out_channels = r.RES2_OUT_CHANNELS * 2**i
        stages.append(ResNet.make_stage(BasicBlock, num_blocks, stride_per_block=[1 if i == 0 else 2] +
                                        [1] * (num_blocks - 1), in_channels=in_channels,
                                        out_channels=out_channels, norm=r.NORM))
        in_channels = out_channels
    return ResNet(stem, stages, out_features=r.OUT_FEATURES).freeze(cfg.MODEL.BACKBONE.FREEZE_AT)


@BACKBONE_REGISTRY.register()
def build_basic_resnet_fpn_backbone(cfg, input_shape: ShapeSpec) -> Backbone:
    """`build_resnet_fpn_backbone` with a `build_basic_resnet` bottom-up path (any width)."""
    return FPN(
        bottom_up=build_basic_resnet(cfg, input_shape),
        in_features=cfg.MODEL.FPN.IN_FEATURES,
        out_channels=cfg.MODEL.FPN.OUT_CHANNELS,
        norm=cfg.MODEL.FPN.NORM,
        top_block=LastLevelMaxPool(),
        fuse_type=cfg.MODEL.FPN.FUSE_TYPE,
    )
