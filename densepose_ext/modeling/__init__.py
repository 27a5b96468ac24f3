"""DensePose R-CNN modules; importing this registers DensePoseROIHeads (ROI_HEADS_REGISTRY),
build_basic_resnet_fpn_backbone (BACKBONE_REGISTRY), the DensePose heads (ROI_DENSEPOSE_HEAD_REGISTRY:
DensePoseV1ConvXHead, DensePoseDeepLabHead) and predictors (DENSEPOSE_PREDICTOR_REGISTRY:
DensePoseChartPredictor, DensePoseChartWithConfidencePredictor)."""
from .backbone import build_basic_resnet_fpn_backbone
from .confidence_predictor import DensePoseChartWithConfidencePredictor
from .deeplab_head import DensePoseDeepLabHead
from .head import ROI_DENSEPOSE_HEAD_REGISTRY, DensePoseV1ConvXHead, build_densepose_head
from .inference import densepose_chart_inference
from .losses import densepose_chart_losses
from .predictor import (
    DENSEPOSE_PREDICTOR_REGISTRY,
    DensePoseChartOutput,
    DensePoseChartPredictor,
    build_densepose_predictor,
)
from .roi_heads import DensePoseROIHeads

__all__ = [
    "build_basic_resnet_fpn_backbone",
    "build_densepose_head",
    "build_densepose_predictor",
    "DENSEPOSE_PREDICTOR_REGISTRY",
    "DensePoseChartOutput",
    "DensePoseChartPredictor",
    "DensePoseChartWithConfidencePredictor",
    "DensePoseDeepLabHead",
    "DensePoseROIHeads",
    "DensePoseV1ConvXHead",
    "densepose_chart_inference",
    "densepose_chart_losses",
    "ROI_DENSEPOSE_HEAD_REGISTRY",
]
