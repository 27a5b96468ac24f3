"""Baseline densifier: every person cell takes the I/U/V of the nearest annotated point of that person.

What dense labels look like without learning anything: the teacher must beat this to add information beyond
the sparse points. Same crop frame and label format as the teacher (labels.py), so the same evaluation applies.
"""
from __future__ import annotations

from typing import Sequence, Tuple

import numpy as np
import torch

from densepose_ext.structures.targets import DensePoseTargets

from .crops import crop_cell_centres, person_masks_in_boxes
from .labels import stack_person_labels


def nearest_point_labels(targets: DensePoseTargets, crop_size: int) -> Tuple[np.ndarray, np.ndarray]:
    """(S, S) uint8 labels and (2, S, S) float32 uv of one person (crop frame of `targets.mask_box`).

    Cells inside the person mask take the point nearest to their centre (Euclidean distance in image px);
    cells outside the mask, or all cells of a person without points, are 0.
    """
    box = targets.mask_box[None].float()
    inside = person_masks_in_boxes(targets.coarse_masks[None], box, box, crop_size)[0]
    labels = torch.zeros((crop_size, crop_size), dtype=torch.uint8)
    uv = torch.zeros((2, crop_size, crop_size))
    if len(targets) == 0:
        return labels.numpy(), uv.numpy()
    xs, ys = crop_cell_centres(box[0], crop_size)
    rows, cols = inside.nonzero(as_tuple=True)
    cells = torch.stack([xs[cols], ys[rows]], dim=1)  # (M, 2) image px
    nearest = torch.cdist(cells, torch.stack([targets.x, targets.y], dim=1)).argmin(dim=1)  # (M,)
    labels[rows, cols] = targets.i[nearest].to(torch.uint8)
    uv[0, rows, cols], uv[1, rows, cols] = targets.u[nearest], targets.v[nearest]
    return labels.numpy(), uv.numpy()


class NearestPointLabeller:
    """densify.Labeller that labels each person by `nearest_point_labels` (reads no image)."""

    def __init__(self, crop_size: int):
        self.crop_size = crop_size
        self.settings = {"labeller": "nearest-point", "crop_size": crop_size}

    def __call__(self, dataset_dict: dict, people: Sequence[DensePoseTargets]) -> Tuple[np.ndarray, np.ndarray]:
        return stack_person_labels([nearest_point_labels(t, self.crop_size) for t in people])
