"""The DensePose teacher (paper Sec. 3.4): an FCN on gray-background person crops, a detectron2 meta-architecture.

Registered in detectron2's META_ARCH_REGISTRY as "DensePoseTeacher", so `train_net.py` trains it from a config
(configs/teacher/*.yaml) with the ordinary DensePose mapper: each training person with a coarse part mask
(`gt_densepose[n].coarse_masks`) is cropped from the transformed image at its box (`mask_box`), resampled to
S x S (crops.py), its background set to gray by the mask, and supervised with the student's losses
(densepose_ext/modeling/losses.py) at its annotated points and coarse mask. Only annotated points count; the
network's predictions outside the person are never used (inference.py masks them).
"""
from __future__ import annotations

from typing import Dict, List, Sequence, Tuple

import torch
from detectron2.config import configurable
from detectron2.modeling import META_ARCH_REGISTRY
from detectron2.structures import ImageList
from torch import nn

from densepose_ext.modeling.losses import densepose_chart_losses
from densepose_ext.modeling.predictor import DensePoseChartOutput, DensePoseChartPredictor
from densepose_ext.structures.targets import DensePoseTargets

from .crops import person_crops, person_masks_in_boxes, stack_boxes
from .fcn import TeacherFCN
from .inference import teacher_chart_labels


def _boxes_and_masks(people: Sequence[DensePoseTargets]) -> Tuple[torch.Tensor, torch.Tensor]:
    """(N, 4) XYXY image px boxes (`mask_box`) and (N, 256, 256) uint8 coarse masks of N people (N may be 0)."""
    if not people:
        return torch.zeros((0, 4)), torch.zeros((0, 256, 256), dtype=torch.uint8)
    return torch.stack([t.mask_box for t in people]), torch.stack([t.coarse_masks for t in people])


@META_ARCH_REGISTRY.register()
class DensePoseTeacher(nn.Module):
    """Person crops (N, 3, S, S) -> DensePoseChartOutput (N, ., S, S) in the crop frame.

    Training `forward` returns the DensePose losses; inference `forward` returns, per image, the dense labels
    of its people that carry a coarse mask: {"labels": (N, S, S) uint8, "uv": (N, 2, S, S), "boxes": (N, 4)}.
    """

    @configurable
    def __init__(
        self,
        *,
        crop_size: int,
        channels: Sequence[int],
        norm: str,
        num_coarse_segm_channels: int,
        num_patches: int,
        pixel_mean: Sequence[float],
        pixel_std: Sequence[float],
        part_weight: float,
        point_regression_weight: float,
        index_weight: float,
    ):
        super().__init__()
        levels = len(channels) - 1
        if crop_size % (2**levels) != 0:
            raise ValueError(
                f"MODEL.DENSEPOSE_TEACHER.CROP_SIZE: expected a multiple of 2^{levels} for {len(channels)} levels "
                f"of CHANNELS, got {crop_size}"
            )
        self.crop_size = crop_size
        self.body = TeacherFCN(channels, norm)
        # Stride-2 deconvolution back to S x S, no further upsampling.
        self.predictor = DensePoseChartPredictor(
            self.body.out_channels,
            num_coarse_segm_channels=num_coarse_segm_channels,
            num_patches=num_patches,
            deconv_kernel=4,
            up_scale=1,
        )
        self.loss_weights = {
            "part_weight": part_weight,
            "point_regression_weight": point_regression_weight,
            "index_weight": index_weight,
        }
        self.register_buffer("pixel_mean", torch.tensor(pixel_mean).view(-1, 1, 1), False)
        self.register_buffer("pixel_std", torch.tensor(pixel_std).view(-1, 1, 1), False)

    @classmethod
    def from_config(cls, cfg) -> dict:
        t, h = cfg.MODEL.DENSEPOSE_TEACHER, cfg.MODEL.ROI_DENSEPOSE_HEAD
        return {
            "crop_size": t.CROP_SIZE,
            "channels": list(t.CHANNELS),
            "norm": t.NORM,
            "num_coarse_segm_channels": h.NUM_COARSE_SEGM_CHANNELS,
            "num_patches": h.NUM_PATCHES,
            "pixel_mean": cfg.MODEL.PIXEL_MEAN,
            "pixel_std": cfg.MODEL.PIXEL_STD,
            "part_weight": h.PART_WEIGHTS,
            "point_regression_weight": h.POINT_REGRESSION_WEIGHTS,
            "index_weight": h.INDEX_WEIGHTS,
        }

    @property
    def device(self) -> torch.device:
        return self.pixel_mean.device

    def normalize(self, images: Sequence[torch.Tensor]) -> torch.Tensor:
        """(C, H_b, W_b) images in the config's pixel format -> (B, C, H, W) normalised, zero-padded batch."""
        return ImageList.from_tensors(
            [(im.to(self.device).float() - self.pixel_mean) / self.pixel_std for im in images]
        ).tensor

    def people_outputs(
        self, images: torch.Tensor, image_index: torch.Tensor, boxes: torch.Tensor, person_masks: torch.Tensor
    ) -> DensePoseChartOutput:
        """Teacher outputs for N people: `images` (B, C, H, W) normalised, `image_index` (N,), `boxes` (N, 4)
        XYXY image px, `person_masks` (N, S, S) bool crop frame -> outputs (N, ., S, S) crop frame."""
        crops = person_crops(images, image_index.to(images.device), boxes.to(images.device), person_masks)
        return self.predictor(self.body(crops))

    def predict_people(
        self, image: torch.Tensor, boxes: torch.Tensor, coarse_masks: torch.Tensor, mask_boxes: torch.Tensor
    ) -> Dict[str, torch.Tensor]:
        """Dense labels of the people of one image.

        Args:
            image: (C, H, W) in the config's pixel format (e.g. BGR uint8), image px.
            boxes: (N, 4) XYXY image px, the crop boxes.
            coarse_masks: (N, 256, 256) uint8 coarse labels over `mask_boxes` (N, 4) XYXY image px.
        Returns:
            {"labels": (N, S, S) uint8 0..24, "uv": (N, 2, S, S) float32} in the crop frame of `boxes`;
            0 outside each person's mask.
        """
        boxes = boxes.to(self.device).float()
        masks = person_masks_in_boxes(coarse_masks.to(self.device), mask_boxes.to(self.device).float(), boxes, self.crop_size)
        index = torch.zeros(len(boxes), dtype=torch.long, device=self.device)
        outputs = self.people_outputs(self.normalize([image]), index, boxes, masks)
        labels, uv = teacher_chart_labels(outputs, masks)
        return {"labels": labels, "uv": uv}

    def forward(self, batched_inputs: List[dict]):
        people = [
            [t for t in x["instances"].gt_densepose if t is not None and t.coarse_masks is not None]
            for x in batched_inputs
        ]
        if not self.training:
            results = []
            for x, p in zip(batched_inputs, people):
                boxes, masks = _boxes_and_masks(p)
                results.append({"boxes": boxes, **self.predict_people(x["image"], boxes, masks, boxes)})
            return results
        return self._losses(batched_inputs, people)

    def _losses(self, batched_inputs: List[dict], people: List[List[DensePoseTargets]]) -> Dict[str, torch.Tensor]:
        targets = [t.to(self.device) for p in people for t in p]
        if not targets:
            # No person with a mask in the batch: zero losses that still reach every parameter (DDP).
            zero = sum(p.sum() for p in self.parameters()) * 0
            return {f"loss_densepose_{k}": zero for k in "IUVS"}
        per_image = [_boxes_and_masks(p) for p in people]
        boxes, index = stack_boxes([b for b, _ in per_image])
        boxes, index = boxes.to(self.device), index.to(self.device)
        masks = person_masks_in_boxes(torch.cat([m for _, m in per_image]).to(self.device), boxes, boxes, self.crop_size)
        images = self.normalize([x["image"] for x in batched_inputs])
        outputs = self.people_outputs(images, index, boxes, masks)
        # The crop frame is the ROI frame of the person box, so the student's losses apply unchanged.
        return densepose_chart_losses(outputs, boxes, targets, **self.loss_weights)
