"""Oracle densifier: every person cell takes DensePose-Synth's exact dense truth (what a perfect teacher inpaints).

It bounds what distillation can give on DensePose-Synth: a student trained on these labels sees dense supervision
with no teacher error. Same crop frame and label format as the teacher (labels.py), so densify, the student
mapper and the evaluation treat it like any other labeller. Only datasets with a dense truth (the synthetic
ones, docs/FORMAT_synth.md) can be labelled this way.
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence, Tuple

import numpy as np

from densepose_ext.evaluation.dense_truth import read_dense_truth
from densepose_ext.structures.targets import DensePoseTargets

from .crops import crop_cell_centres, person_masks_in_boxes
from .labels import stack_person_labels


def dense_truth_labels(
    iuv: np.ndarray, inds: np.ndarray, targets: DensePoseTargets, crop_size: int
) -> Tuple[np.ndarray, np.ndarray]:
    """(S, S) uint8 labels and (2, S, S) float32 uv of one person, crop frame of `targets.mask_box`.

    Args:
        iuv: (H, W, 3) uint8 dense truth (I, round(255 U), round(255 V)); inds: (H, W) annotation index per pixel.
    Each cell reads the pixel under its centre. The person is the annotation index that covers most cells of its
    coarse mask; cells of other people, of the background, or outside the image are 0.
    """
    box = targets.mask_box[None].float()
    inside = person_masks_in_boxes(targets.coarse_masks[None], box, box, crop_size)[0].numpy()
    xs, ys = crop_cell_centres(box[0].double(), crop_size)
    cols, rows = xs.floor().long().numpy(), ys.floor().long().numpy()
    valid = ((rows >= 0) & (rows < inds.shape[0]))[:, None] & ((cols >= 0) & (cols < inds.shape[1]))[None, :]
    r, c = np.clip(rows, 0, inds.shape[0] - 1), np.clip(cols, 0, inds.shape[1] - 1)
    cell_inds = np.where(valid, inds[r[:, None], c[None, :]], 0)
    cell_iuv = iuv[r[:, None], c[None, :]]
    labels = np.zeros((crop_size, crop_size), np.uint8)
    uv = np.zeros((2, crop_size, crop_size), np.float32)
    owners = cell_inds[inside & (cell_inds > 0)]
    if owners.size == 0:
        return labels, uv
    keep = (cell_inds == np.bincount(owners).argmax()) & (cell_iuv[..., 0] > 0)
    labels[keep] = cell_iuv[..., 0][keep]
    uv[:, keep] = cell_iuv[..., 1:][keep].T / np.float32(255)
    return labels, uv


class DenseTruthLabeller:
    """densify.Labeller that copies the dataset's dense truth (`dense/<stem>_{IUV,INDS}.png` beside `images/`)."""

    def __init__(self, crop_size: int):
        self.crop_size = crop_size
        self.settings = {"labeller": "dense-truth", "crop_size": crop_size}

    def __call__(self, dataset_dict: dict, people: Sequence[DensePoseTargets]) -> Tuple[np.ndarray, np.ndarray]:
        image = Path(dataset_dict["file_name"])
        iuv, inds = read_dense_truth(image.parent.parent, image.stem)
        return stack_person_labels([dense_truth_labels(iuv, inds, t, self.crop_size) for t in people])
