"""Test-time augmentation of DensePose R-CNN (TEST.AUG.ENABLED, MIN_SIZES, MAX_SIZE, FLIP), in detectron2's style.

`DensePoseRCNNWithTTA` extends detectron2's `GeneralizedRCNNWithTTA`: boxes are detected on every augmented view
(each MIN_SIZES scale, and its horizontal mirror with FLIP) and merged by NMS, as detectron2 does; then the
DensePose branch runs on the merged boxes in every view, each view's raw S x S outputs are brought back to the
original view, and they are averaged.

Bringing a view back is the inverse of its transforms applied to the data type "densepose_chart_outputs"
(registered here with `Transform.register_type`, as data/transforms.py does for training targets):
- resizes (and other axis-aligned maps): nothing changes. The outputs live in the ROI S x S frame of their box,
  and the box is scaled with the image, so cell (r, c) covers the same part of the person in every scale.
- mirrors: the maps are flipped along the mirrored axis of the ROI frame, and the person seen in a mirror shows
  its other side, so the part channels are swapped (FINE_PART_MIRROR, COARSE_PART_MIRROR with 15 coarse channels)
  and each part's U/V are replaced by those of the mirrored surface point (`surface.mirror_iuv`, the body surface
  of the evaluated datasets, data/dataset_surface.py). UV confidences follow the part swap; the direction
  (kappa_u, kappa_v) of an anisotropic confidence has no mirror rule here, so FLIP refuses it.
- anything else: NotImplementedError naming the transform.

Averaging (`average_chart_outputs`): coarse and fine segmentation as the mean of the views' softmax probabilities,
stored as their logarithm so that `to_results` (arg-max, softmax) reads them as logits; U, V and confidences as
plain means per part channel.
"""
from __future__ import annotations

from dataclasses import fields, replace
from typing import List, NamedTuple, Optional, Sequence

import numpy as np
import torch
from detectron2.data import transforms as T
from detectron2.modeling import GeneralizedRCNNWithTTA
from detectron2.modeling.postprocessing import detector_postprocess
from fvcore.transforms import transform as fvt

from ..data.dataset_surface import CONFIG_KEY, datasets_surface
from ..data.transforms import MirrorMap
from ..surface.parts import COARSE_PART_MIRROR, FINE_PART_MIRROR, NUM_COARSE_PARTS
from .inference import DensePoseChartPredictions
from .predictor import DensePoseChartOutput

DATA_TYPE = "densepose_chart_outputs"


class ChartOutputsOnSurface(NamedTuple):
    """The "densepose_chart_outputs" data type: raw predictor outputs of N boxes (ROI S x S frames) and the body
    surface their U/V are on (None where no mirror happens; a mirror then raises)."""

    outputs: DensePoseChartOutput
    surface: Optional[MirrorMap]


def mirror_chart_outputs(outputs: DensePoseChartOutput, surface: MirrorMap, axis: int = 3) -> DensePoseChartOutput:
    """The outputs of the mirrored view of the same boxes (a mirror is its own inverse, so this also maps a mirrored
    view's outputs back).

    Args:
        outputs: (N, C, S, S) maps in the ROI frame of N boxes.
        surface: the body surface of the U/V (mirror_iuv).
        axis: 3 for a horizontal mirror (columns of the ROI frame), 2 for a vertical one.
    Returns:
        (N, C, S, S) maps, same boxes in the mirrored view: flipped along `axis`, part channels swapped, U/V of each
        part channel mapped through `surface.mirror_iuv`.
    """
    if outputs.kappa_u is not None:
        raise NotImplementedError("TEST.AUG.FLIP with UV_CONFIDENCE.TYPE 'indep_aniso': the confidence direction "
                                  "(kappa_u, kappa_v) has no mirror rule; set TEST.AUG.FLIP False")
    fine_perm = torch.as_tensor(FINE_PART_MIRROR, device=outputs.fine_segm.device)
    flipped = {f.name: getattr(outputs, f.name).flip(dims=[axis]) for f in fields(outputs)
               if getattr(outputs, f.name) is not None}
    # channel q of the mirrored view holds what channel mirror(q) held (the mirror maps are involutions)
    swapped = {name: maps[:, fine_perm] for name, maps in flipped.items() if name != "coarse_segm"}
    coarse = flipped["coarse_segm"]
    if coarse.shape[1] == NUM_COARSE_PARTS + 1:
        coarse = coarse[:, torch.as_tensor(COARSE_PART_MIRROR, device=coarse.device)]
    u, v = _mirror_part_uv(swapped["u"], swapped["v"], surface)
    return replace(outputs, **{**swapped, "coarse_segm": coarse, "u": u, "v": v})


def _mirror_part_uv(u: torch.Tensor, v: torch.Tensor, surface: MirrorMap) -> tuple[torch.Tensor, torch.Tensor]:
    """(N, 25, S, S) U, V whose channel q holds values of part mirror(q) -> values of part q: each (mirror(q), U, V)
    mapped to its mirror point, which lies on part q. Channel 0 (background, unused) is kept."""
    n, channels, height, width = u.shape
    source_part = np.broadcast_to(FINE_PART_MIRROR[1:channels, None], (channels - 1, height * width))
    uu = u[:, 1:].detach().cpu().double().numpy()
    vv = v[:, 1:].detach().cpu().double().numpy()
    part = np.broadcast_to(source_part, (n,) + source_part.shape)
    _, u2, v2 = surface.mirror_iuv(part.ravel(), uu.ravel(), vv.ravel())
    shape = (n, channels - 1, height, width)
    u_out, v_out = u.clone(), v.clone()
    u_out[:, 1:] = torch.as_tensor(np.asarray(u2).reshape(shape), dtype=u.dtype, device=u.device)
    v_out[:, 1:] = torch.as_tensor(np.asarray(v2).reshape(shape), dtype=v.dtype, device=v.device)
    return u_out, v_out


def average_chart_outputs(views: Sequence[DensePoseChartOutput]) -> DensePoseChartOutput:
    """Mean of the outputs of the same N boxes over views (see the module docstring): segmentation as
    log(mean softmax), U, V and confidences as means. Each view (N, C, S, S), same ROI frames."""
    if not views:
        raise ValueError("average_chart_outputs: no views")
    averaged = {}
    for f in fields(views[0]):
        maps = [getattr(view, f.name) for view in views]
        if maps[0] is None:
            continue
        stacked = torch.stack(maps)
        if f.name in ("coarse_segm", "fine_segm"):
            averaged[f.name] = stacked.softmax(dim=2).mean(dim=0).log()
        else:
            averaged[f.name] = stacked.mean(dim=0)
    return replace(views[0], **averaged)


def _unchanged(transform: fvt.Transform, data: ChartOutputsOnSurface) -> ChartOutputsOnSurface:
    return data


def _mirror(axis: int):
    def apply(transform: fvt.Transform, data: ChartOutputsOnSurface) -> ChartOutputsOnSurface:
        if data.surface is None:
            raise ValueError("TEST.AUG.FLIP mirrors DensePose U/V through the body surface of the evaluated datasets, "
                             f"but none was given: set DATASETS.TEST to datasets with a surface or {CONFIG_KEY}")
        return data._replace(outputs=mirror_chart_outputs(data.outputs, data.surface, axis))

    return apply


def _unsupported(transform: fvt.Transform, data: ChartOutputsOnSurface) -> ChartOutputsOnSurface:
    raise NotImplementedError(f"{type(transform).__name__} has no rule for DensePose ROI outputs in test-time "
                              "augmentation (densepose_ext/modeling/test_time_augmentation.py); TEST.AUG supports "
                              "MIN_SIZES, MAX_SIZE and FLIP")


def _register() -> None:
    fvt.Transform.register_type(DATA_TYPE, _unsupported)
    for cls in (fvt.NoOpTransform, fvt.ScaleTransform, fvt.CropTransform, fvt.PadTransform, T.ResizeTransform,
                T.ExtentTransform):
        cls.register_type(DATA_TYPE, _unchanged)
    fvt.HFlipTransform.register_type(DATA_TYPE, _mirror(axis=3))
    fvt.VFlipTransform.register_type(DATA_TYPE, _mirror(axis=2))


_register()


class DensePoseRCNNWithTTA(GeneralizedRCNNWithTTA):
    """detectron2's GeneralizedRCNNWithTTA with the DensePose branch averaged over the views (module docstring).

    Called like the model: a list of dataset dicts ("image" CHW in the model's format, "height", "width") ->
    [{"instances": Instances}] in the frame of (height, width), `pred_densepose` a DensePoseChartPredictions.
    """

    def __init__(self, cfg, model, surface: Optional[MirrorMap], tta_mapper=None, batch_size: int = 3):
        """
        Args:
            cfg: the model's config (TEST.AUG.* choose the views, see detectron2's DatasetMapperTTA).
            model: a GeneralizedRCNN with DensePoseROIHeads, eval mode.
            surface: the body surface of the predicted U/V; needed (not None) when TEST.AUG.FLIP.
        """
        super().__init__(cfg, model, tta_mapper, batch_size)
        if cfg.TEST.AUG.FLIP and surface is None:
            raise ValueError("TEST.AUG.FLIP is True but no body surface was given to mirror U/V with")
        self.surface = surface

    def _inference_one_image(self, input):
        if not getattr(self.model.roi_heads, "densepose_on", False):
            return super()._inference_one_image(input)
        orig_shape = (input["height"], input["width"])
        augmented_inputs, tfms = self._get_augmented_inputs(input)
        with self._turn_off_roi_heads(["mask_on", "keypoint_on", "densepose_on"]):
            boxes, scores, classes = self._get_augmented_boxes(augmented_inputs, tfms)
        merged = self._merge_detections(boxes, scores, classes, orig_shape)
        augmented_instances = self._rescale_detected_boxes(augmented_inputs, merged, tfms)
        outputs = self._batch_inference(augmented_inputs, augmented_instances)
        merged.pred_densepose = self._reduce_pred_densepose(outputs, tfms)
        if self.cfg.MODEL.MASK_ON:
            merged.pred_masks = self._reduce_pred_masks(outputs, tfms)
        return {"instances": detector_postprocess(merged, *orig_shape)}

    def _reduce_pred_densepose(self, outputs: List, tfms: List[fvt.TransformList]) -> DensePoseChartPredictions:
        """Each view's `pred_densepose` brought back to the original view (inverse transforms), then averaged."""
        views = [tfm.inverse().apply_densepose_chart_outputs(
            ChartOutputsOnSurface(out.pred_densepose.outputs, self.surface)).outputs for out, tfm in zip(outputs, tfms)]
        return DensePoseChartPredictions(average_chart_outputs(views), outputs[0].pred_densepose.rule)


def build_densepose_tta(cfg, model) -> DensePoseRCNNWithTTA:
    """`model` wrapped for TEST.AUG test-time augmentation; with TEST.AUG.FLIP, U/V are mirrored on the body surface
    of DATASETS.TEST (data/dataset_surface.py: their registration, else DATASETS.DENSEPOSE_SURFACE)."""
    surface = None
    if cfg.TEST.AUG.FLIP:
        try:
            surface = datasets_surface(cfg.DATASETS.TEST, cfg).load()
        except ValueError as e:
            raise ValueError(f"TEST.AUG.FLIP needs the body surface of the predictions to mirror U/V: {e}") from e
    return DensePoseRCNNWithTTA(cfg, model, surface)
