"""DensePose-COCO data: dataset registration, the format validator, DensePose transforms and the mapper.

Importing this package registers the builtin datasets (datasets.py) and the "densepose" data type of
detectron2's transforms (transforms.py); it reads no files.
"""
from . import transforms  # noqa: F401  (registers Transform.apply_densepose)
from .annotation import box256_to_image, decode_coarse_masks, densepose_targets_from_annotation
from .dataset_mapper import DensePoseDatasetMapper
from .datasets import data_root, load_densepose_coco_json, register_densepose_coco
from .validate import DensePoseFormatError, Problem, check_densepose_coco, validate_densepose_coco

__all__ = [
    "DensePoseDatasetMapper",
    "DensePoseFormatError",
    "Problem",
    "box256_to_image",
    "check_densepose_coco",
    "data_root",
    "decode_coarse_masks",
    "densepose_targets_from_annotation",
    "load_densepose_coco_json",
    "register_densepose_coco",
    "validate_densepose_coco",
]
