"""DensePose evaluation: GPS / GPSm / mask IoU AP and AR (COCO protocol), RCP and AUC10 / AUC30 (paper Sec. 2.3).

Pure functions (kappa, gps, sampling, masks, pointwise, cocoeval, evaluate) do the work; DensePoseCOCOEvaluator
wraps them for detectron2 and ``python -m densepose_ext.evaluation`` for a saved results file.
"""

from densepose_ext.evaluation.evaluate import evaluate_densepose
from densepose_ext.evaluation.evaluator import DensePoseCOCOEvaluator
from densepose_ext.evaluation.ground_truth import DensePoseGroundTruth
from densepose_ext.evaluation.kappa import GLOBAL_KAPPA, KAPPA_MODES

__all__ = ["DensePoseCOCOEvaluator", "DensePoseGroundTruth", "evaluate_densepose", "GLOBAL_KAPPA", "KAPPA_MODES"]
