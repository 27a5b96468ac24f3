"""detectron2's DatasetMapper, extended with DensePose ground truth (`instances.gt_densepose`).

Everything detectron2's mapper does stays: reading the image, the augmentations from the config
(ResizeShortestEdge, RandomFlip, optional crop), boxes, keypoints (flipped with the dataset's
keypoint_flip_map), masks, dropping crowd annotations and empty boxes. Added: each annotation's DensePose fields
become `DensePoseTargets` in image px of the transformed image (transforms.py), with the flip mirroring
parts and charts through the training datasets' body surface (their metadata's `densepose_surface`,
dataset_surface.py; datasets on different surfaces are refused); points a crop cut off are dropped.
`gt_densepose` is set on every training `Instances` (entries None for people without DensePose annotation).
"""
from __future__ import annotations

from typing import List, Optional

from detectron2.config import configurable
from detectron2.data import DatasetMapper
from detectron2.data import detection_utils as utils
from fvcore.transforms.transform import Transform

from densepose_ext.structures.targets import DensePoseList
from densepose_ext.utils.cli_errors import UserInputError

from .annotation import densepose_targets_from_annotation
from .dataset_surface import datasets_surface
from .transforms import MirrorMap, transform_densepose_targets
from .validate import DensePoseFormatError, densepose_annotation_problems


class DensePoseDatasetMapper(DatasetMapper):
    """A `DatasetMapper` whose training output also carries `instances.gt_densepose` (a DensePoseList).

    Built like detectron2's mapper: `DensePoseDatasetMapper(cfg, is_train)` or with its keyword arguments
    (`is_train`, `augmentations`, `image_format`, `use_keypoint`, `keypoint_hflip_indices`, ...) plus `surface`:
    the body surface (a BodySurface) the datasets' (I, U, V) are on, which flips mirror through; None where no
    flip can happen (a flip then raises).
    """

    def __call__(self, dataset_dict: dict) -> dict:
        try:
            return super().__call__(dataset_dict)
        except (OSError, SyntaxError, utils.SizeMismatchError) as e:
            # The image changed since the dataset was checked (datasets.py reads headers only): a file removed,
            # truncated or replaced. A UserInputError, so the CLI names it even from a DataLoader worker.
            raise UserInputError(dataset_dict["file_name"], "a readable image of the dataset's size",
                                 f"{type(e).__name__}: {e}") from e

    @configurable
    def __init__(self, *, surface: Optional[MirrorMap] = None, **kwargs):
        super().__init__(**kwargs)
        self.surface = surface

    @classmethod
    def from_config(cls, cfg, is_train: bool = True) -> dict:
        # The reference project rotates images when INPUT.ROTATION_ANGLES has non-zero angles; the box-frame
        # coarse masks cannot follow a rotation (transforms.py), so refuse instead of silently not rotating.
        angles = list(cfg.INPUT.get("ROTATION_ANGLES", [0]))
        if is_train and any(a != 0 for a in angles):
            raise ValueError(
                f"INPUT.ROTATION_ANGLES: expected [0] (rotation augmentation is not supported for DensePose "
                f"targets), got {angles}"
            )
        flips = is_train and cfg.INPUT.RANDOM_FLIP != "none"
        # Loaded here, in the main process: a missing or malformed surface fails before training starts.
        surface = datasets_surface(cfg.DATASETS.TRAIN, cfg).load() if flips else None
        return {**super().from_config(cfg, is_train), "surface": surface}

    def _densepose_targets(
        self, dataset_dict: dict, annos: List[dict], transforms: Transform, image_shape: tuple
    ) -> DensePoseList:
        """DensePoseList[len(annos)] in image px of the transformed image (H, W) = `image_shape`.

        `annos` still hold their untransformed boxes; annotations without DensePose fields give None.
        Raises DensePoseFormatError naming image and annotation ids for malformed DensePose fields.
        """
        image_id = dataset_dict.get("image_id")
        problems = densepose_annotation_problems(annos, [image_id] * len(annos))
        if problems:
            raise DensePoseFormatError(f"dataset dict of {dataset_dict.get('file_name', '<no file_name>')}", problems)
        targets = [densepose_targets_from_annotation(a) for a in annos]
        return DensePoseList(
            [None if t is None else transform_densepose_targets(t, transforms, image_shape, self.surface)
             for t in targets]
        )

    def _transform_annotations(self, dataset_dict: dict, transforms: Transform, image_shape: tuple) -> None:
        # The steps of DatasetMapper._transform_annotations, composed from the same detectron2 utilities, with
        # gt_densepose set before `filter_empty_instances` so the filter keeps it aligned with the boxes (the
        # parent filters inside the method, after which the pairing with annotations is lost).
        annos = [a for a in dataset_dict.pop("annotations") if a.get("iscrowd", 0) == 0]
        # Built from the untransformed box: detectron2 rewrites `bbox` in place below.
        gt_densepose = self._densepose_targets(dataset_dict, annos, transforms, image_shape)
        for anno in annos:
            if not self.use_instance_mask:
                anno.pop("segmentation", None)
            if not self.use_keypoint:
                anno.pop("keypoints", None)
        annos = [
            utils.transform_instance_annotations(
                a, transforms, image_shape, keypoint_hflip_indices=self.keypoint_hflip_indices
            )
            for a in annos
        ]
        instances = utils.annotations_to_instances(annos, image_shape, mask_format=self.instance_mask_format)
        if self.recompute_boxes:
            instances.gt_boxes = instances.gt_masks.get_bounding_boxes()
        instances.gt_densepose = gt_densepose
        dataset_dict["instances"] = utils.filter_empty_instances(instances)
