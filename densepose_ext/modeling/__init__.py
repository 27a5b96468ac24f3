"""DensePose R-CNN modules; importing this registers DensePoseROIHeads (ROI_HEADS_REGISTRY) and
build_basic_resnet_fpn_backbone (BACKBONE_REGISTRY)."""
from .backbone import build_basic_resnet_fpn_backbone
from .head import DensePoseConvHead
from .inference import densepose_chart_inference
from .losses import densepose_chart_losses
from .predictor import DensePoseChartOutput, DensePoseChartPredictor
from .roi_heads import DensePoseROIHeads

__all__ = [
    "build_basic_resnet_fpn_backbone",
    "DensePoseChartOutput",
    "DensePoseChartPredictor",
    "DensePoseConvHead",
    "DensePoseROIHeads",
    "densepose_chart_inference",
    "densepose_chart_losses",
]
