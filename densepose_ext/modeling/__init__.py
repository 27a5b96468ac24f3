"""DensePose R-CNN modules; importing this registers DensePoseROIHeads in ROI_HEADS_REGISTRY."""
from .head import DensePoseConvHead
from .inference import densepose_chart_inference
from .losses import densepose_chart_losses
from .predictor import DensePoseChartOutput, DensePoseChartPredictor
from .roi_heads import DensePoseROIHeads

__all__ = [
    "DensePoseChartOutput",
    "DensePoseChartPredictor",
    "DensePoseConvHead",
    "DensePoseROIHeads",
    "densepose_chart_inference",
    "densepose_chart_losses",
]
