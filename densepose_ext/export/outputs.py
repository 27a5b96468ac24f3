"""The exported model's outputs: a fixed tuple of tensors, and the small postprocessing back to Instances.

An exported file (export/trace.py) maps one preprocessed image to the tensors of OUTPUT_NAMES, then the
DensePose maps present in the model (`DensePoseChartOutput.maps()` order):

    boxes        (N, 4) float32 XYXY px of the *input* image (resized, as the model saw it; no rescaling)
    scores       (N,)   float32
    classes      (N,)   int64
    coarse_segm  (N, K, S, S) logits, K = 2 or 15, ROI S x S frame of the box
    fine_segm    (N, 25, S, S) logits; u, v (N, 25, S, S) per-part chart coordinates
    [sigma_2, kappa_u, kappa_v]  (N, 25, S, S) with UV confidence

The per-person results (labels, U, V in each box's frame, sized after the box in the original image) are not
in the graph: their sizes depend on the box values, which a traced graph would freeze. `detections_from_outputs`
does that postprocessing with the same functions as the eager model (detectron2's `detector_postprocess`, then
`pred_densepose.to_results(pred_boxes.tensor)` of modeling/inference.py), so results agree by construction.
"""
from __future__ import annotations

from typing import Dict, Sequence, Tuple

import torch
from detectron2.modeling.postprocessing import detector_postprocess
from detectron2.structures import Boxes, Instances

from ..modeling.inference import ChartInferenceRule, DensePoseChartPredictions
from ..modeling.predictor import DensePoseChartOutput

DETECTION_NAMES = ("boxes", "scores", "classes")


def output_names(instances: Instances) -> Tuple[str, ...]:
    """Names of `flatten_detections(instances)`, in order: DETECTION_NAMES, then the DensePose maps present."""
    return DETECTION_NAMES + tuple(instances.pred_densepose.outputs.maps())


def flatten_detections(instances: Instances) -> Tuple[torch.Tensor, ...]:
    """Raw (not postprocessed) Instances of one image -> the tensors of `output_names(instances)`."""
    maps = instances.pred_densepose.outputs.maps()
    return (instances.pred_boxes.tensor, instances.scores, instances.pred_classes, *maps.values())


def detections_from_outputs(
    outputs: Sequence[torch.Tensor],
    names: Sequence[str],
    input_size: Tuple[int, int],
    output_size: Tuple[int, int],
    rule: ChartInferenceRule,
) -> Instances:
    """The exported model's outputs -> Instances in the frame of the original image, as the eager model returns.

    Args:
        outputs: tensors in the order of `names` (see the module docstring).
        input_size: (H, W) of the image given to the exported model (after the test-time resize).
        output_size: (H, W) of the original image; boxes are rescaled to it and empty boxes dropped, as by
            detectron2's postprocess.
        rule: the labelling rule of the model's config (MODEL.ROI_DENSEPOSE_HEAD.INFERENCE).
    Returns:
        Instances with pred_boxes, scores, pred_classes and pred_densepose (DensePoseChartPredictions; call
        `pred_densepose.to_results(pred_boxes.tensor)` for per-person labels and U/V).
    """
    if len(outputs) != len(names):
        raise ValueError(f"exported model: {len(outputs)} outputs for {len(names)} names {list(names)}")
    by_name: Dict[str, torch.Tensor] = dict(zip(names, (torch.as_tensor(t) for t in outputs)))
    missing = [n for n in DETECTION_NAMES + ("coarse_segm", "fine_segm", "u", "v") if n not in by_name]
    if missing:
        raise ValueError(f"exported model: outputs {list(names)} lack {missing}")
    maps = {name: t.float() for name, t in by_name.items() if name not in DETECTION_NAMES}
    instances = Instances(
        tuple(input_size),
        pred_boxes=Boxes(by_name["boxes"].float()),
        scores=by_name["scores"].float(),
        pred_classes=by_name["classes"].long(),
        pred_densepose=DensePoseChartPredictions(DensePoseChartOutput(**maps), rule),
    )
    return detector_postprocess(instances, *output_size)
