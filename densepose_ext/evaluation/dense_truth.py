"""Dense ground truth of DensePose-Synth (docs/FORMAT_synth.md), for pointwise evaluation over every pixel.

Next to ``annotations.json``, ``dense/<stem>_IUV.png`` holds per pixel I, round(255 U), round(255 V) (the
reference's ``_IUV.png`` layout, read by vis/iuv_image.read_iuv_png; folders of format 1 are refused, see
synth/dataset_format.py) and ``dense/<stem>_INDS.png`` the 1-based index of the pixel's annotation among its
image's annotations in JSON order (0 = background), where ``<stem>`` is the image's file name without extension.

Every pixel of every person is a lot of geodesics (~15 us each): ``stride`` keeps one pixel in stride x stride
(a fixed grid anchored at pixel (0, 0)), an unbiased sample of the dense RCP.
"""

from __future__ import annotations

import os
from collections import defaultdict
from pathlib import Path
from typing import Any, Optional

import numpy as np
from PIL import Image

from densepose_ext.synth.dataset_format import DENSE_DIR, check_dense_format, dense_paths
from densepose_ext.vis.iuv_image import read_iuv_png


def read_dense_truth(root: str | os.PathLike, stem: str) -> tuple[np.ndarray, np.ndarray]:
    """(H, W, 3) uint8 IUV (channel 0 = I, 1 = 255 U, 2 = 255 V) and (H, W) uint8 INDS of image `stem` of the
    dataset rooted at `root`."""
    check_dense_format(root)
    iuv_path, inds_path = dense_paths(root, stem)
    for path in (iuv_path, inds_path):
        if not path.is_file():
            raise FileNotFoundError(f"dense truth of image {stem}: expected {path}, which does not exist")
    iuv, inds = read_iuv_png(iuv_path), np.asarray(Image.open(inds_path))
    if iuv.shape[:2] != inds.shape:
        raise ValueError(f"dense truth of image {stem}: expected an IUV image the size of INDS {inds.shape}, "
                         f"got {iuv.shape}")
    return iuv, inds


class DenseTruth:
    """Per-pixel (I, U, V) of the people of a DensePose-Synth dataset rooted at ``root``."""

    def __init__(self, root: str | os.PathLike, dataset: dict[str, Any], stride: int = 1) -> None:
        if stride < 1:
            raise ValueError(f"dense truth stride: expected an integer >= 1, got {stride}")
        self.root = Path(root)
        self.stride = stride
        self._stems = {img["id"]: Path(img["file_name"]).stem for img in dataset["images"]}
        # INDS value of each annotation, by its position in the file (ground_truth's eval_id = position + 1).
        per_image: dict[int, int] = defaultdict(int)
        self._inds_value: dict[int, int] = {}
        for k, ann in enumerate(dataset["annotations"]):
            per_image[ann["image_id"]] += 1
            self._inds_value[k + 1] = per_image[ann["image_id"]]

    @classmethod
    def beside(
        cls, annotations_file: str | os.PathLike, dataset: dict[str, Any], stride: int = 1
    ) -> Optional["DenseTruth"]:
        """The dense truth in ``dense/`` next to the annotation file, or None when the dataset has none."""
        root = Path(annotations_file).parent
        return cls(root, dataset, stride) if (root / DENSE_DIR).is_dir() else None

    def points(self, image_id: int, anns: list[dict]) -> dict[str, np.ndarray]:
        """Every labelled pixel (on the stride grid) of the given people of an image, as ground-truth points.

        Args:
            anns: people of the image as DensePoseGroundTruth lists them (with ``eval_id``).
        Returns:
            dict of (N,) arrays like ground_truth.annotation_points: x, y (pixel centres, image px),
            i (1..24), u, v (chart), owner (index into ``anns``).
        """
        iuv, inds = read_dense_truth(self.root, self._stems[image_id])
        values = [self._inds_value[a["eval_id"]] for a in anns]
        owner_of_value = np.full(max([int(inds.max())] + values) + 1, -1)
        owner_of_value[values] = np.arange(len(anns))
        owner = owner_of_value[inds]
        keep = (owner >= 0) & (iuv[..., 0] > 0)
        rows, cols = np.nonzero(keep[:: self.stride, :: self.stride])
        rows, cols = rows * self.stride, cols * self.stride
        return {
            "x": cols + 0.5,
            "y": rows + 0.5,
            "i": iuv[rows, cols, 0].astype(np.int64),
            "u": iuv[rows, cols, 1] / 255.0,
            "v": iuv[rows, cols, 2] / 255.0,
            "owner": owner[rows, cols].astype(np.int64),
        }
