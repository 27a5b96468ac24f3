"""DensePose-COCO datasets in detectron2's DatasetCatalog / MetadataCatalog.

    register_densepose_coco(name, json_file, image_root)   # any DensePose-COCO file, like register_coco_instances

Builtin names, rooted at $DENSEPOSE_DATA (default: ./datasets, relative to the working directory, as
detectron2's $DETECTRON2_DATASETS):

    densepose_synth_train   $DENSEPOSE_DATA/densepose_synth/train/{annotations.json,images/}
    densepose_synth_val     $DENSEPOSE_DATA/densepose_synth/val/{annotations.json,images/}
    densepose_coco_2014_{train,minival,minival_100,valminusminival}
                            $DENSEPOSE_DATA/coco/annotations/densepose_{train,minival,valminusminival}2014.json
                            (and densepose_minival2014_100.json, the reference's 100-image subset), with images
                            in $DENSEPOSE_DATA/coco/{train,val}2014/ (user-supplied files)

Registration touches no file: the loader runs when the dataset is first requested. It reads the JSON,
runs the validator's checks (validate.check_densepose_coco; a bad file raises DensePoseFormatError listing every
problem), then builds detectron2 dataset dicts with `load_coco_json`, keeping per annotation its `id` and the
raw DensePose fields dp_x, dp_y, dp_I, dp_U, dp_V, dp_masks as in the JSON. A missing synthetic split raises
FileNotFoundError with the exact command that generates it.
"""
from __future__ import annotations

import json
import os
from typing import Dict, List, Optional

from detectron2.data import DatasetCatalog, MetadataCatalog
from detectron2.data.datasets import load_coco_json
from detectron2.data.datasets.builtin_meta import (
    COCO_PERSON_KEYPOINT_FLIP_MAP,
    COCO_PERSON_KEYPOINT_NAMES,
    KEYPOINT_CONNECTION_RULES,
)

from .validate import DP_POINT_FIELDS, check_densepose_coco

DATA_ROOT_ENV = "DENSEPOSE_DATA"
DEFAULT_DATA_ROOT = "datasets"
DENSEPOSE_ANNOTATION_KEYS = ("id",) + DP_POINT_FIELDS + ("dp_masks",)

# name -> (split directory under densepose_synth/, --num-images, --seed) of the suggested generation command.
# Different seeds keep the validation people out of the training set.
_SYNTH_SPLITS = {
    "densepose_synth_train": ("train", 2000, 0),
    "densepose_synth_val": ("val", 200, 1),
}
# name -> (annotation file, image directory), relative to the data root; the layout of the reference project.
_COCO_SPLITS = {
    "densepose_coco_2014_train": ("coco/annotations/densepose_train2014.json", "coco/train2014"),
    "densepose_coco_2014_minival": ("coco/annotations/densepose_minival2014.json", "coco/val2014"),
    "densepose_coco_2014_minival_100": ("coco/annotations/densepose_minival2014_100.json", "coco/val2014"),
    "densepose_coco_2014_valminusminival": (
        "coco/annotations/densepose_valminusminival2014.json", "coco/val2014"
    ),
}


def data_root() -> str:
    """The data directory: $DENSEPOSE_DATA, or ./datasets when it is unset."""
    return os.path.expanduser(os.environ.get(DATA_ROOT_ENV, DEFAULT_DATA_ROOT))


def densepose_metadata() -> Dict[str, object]:
    """Metadata shared by every DensePose-COCO dataset: one class (person) with the 17 COCO keypoints.

    `keypoint_flip_map` is what detectron2's keypoint flip reads (`create_keypoint_hflip_indices`).
    """
    return {
        "thing_classes": ["person"],
        "keypoint_names": COCO_PERSON_KEYPOINT_NAMES,
        "keypoint_flip_map": COCO_PERSON_KEYPOINT_FLIP_MAP,
        "keypoint_connection_rules": KEYPOINT_CONNECTION_RULES,
        "evaluator_type": "densepose",
    }


def load_densepose_coco_json(
    json_file: str, image_root: str, dataset_name: Optional[str] = None, how_to_create: Optional[str] = None
) -> List[dict]:
    """Validated detectron2 dataset dicts of a DensePose-COCO file.

    Args:
        json_file: DensePose-COCO annotation file.
        image_root: directory the images' `file_name`s are relative to.
        dataset_name: when given, detectron2 records the category mapping in its metadata.
        how_to_create: appended to the error when `json_file` does not exist (e.g. the generation command).
    Raises:
        FileNotFoundError: `json_file` is missing. DensePoseFormatError: the file breaks the format.
    """
    if not os.path.isfile(json_file):
        hint = f"\n{how_to_create}" if how_to_create else ""
        raise FileNotFoundError(f"DensePose annotation file {json_file} does not exist.{hint}")
    with open(json_file) as f:
        check_densepose_coco(json.load(f), json_file)
    return load_coco_json(json_file, image_root, dataset_name, extra_annotation_keys=list(DENSEPOSE_ANNOTATION_KEYS))


def _register(name: str, json_file: str, image_root: str, how_to_create: Optional[str]) -> None:
    DatasetCatalog.register(name, lambda: load_densepose_coco_json(json_file, image_root, name, how_to_create))
    MetadataCatalog.get(name).set(json_file=json_file, image_root=image_root, **densepose_metadata())


def register_densepose_coco(name: str, json_file: str, image_root: str) -> None:
    """Registers a DensePose-COCO file (`json_file`, images under `image_root`) as dataset `name`.

    Like detectron2's `register_coco_instances`; the metadata adds keypoint names and flip map, and
    evaluator_type "densepose". Nothing is read until the dataset is requested.
    """
    _register(name, json_file, image_root, how_to_create=None)


def synth_generation_command(split_dir: str, num_images: int, seed: int) -> str:
    """The command that writes a DensePose-Synth split into `split_dir` (annotations.json + images/)."""
    return f"python -m densepose_ext.synth --out {split_dir} --num-images {num_images} --seed {seed}"


def register_builtin_densepose_datasets(root: Optional[str] = None) -> None:
    """Registers the builtin names (module docstring) under `root` (default: `data_root()`)."""
    root = data_root() if root is None else root
    for name, (split, num_images, seed) in _SYNTH_SPLITS.items():
        split_dir = os.path.join(root, "densepose_synth", split)
        how_to_create = (
            f"Generate the DensePose-Synth '{split}' split with:\n"
            f"  {synth_generation_command(split_dir, num_images, seed)}\n"
            f"or set ${DATA_ROOT_ENV} to the directory that holds densepose_synth/ (now: {root})."
        )
        _register(name, os.path.join(split_dir, "annotations.json"), os.path.join(split_dir, "images"), how_to_create)
    for name, (json_rel, images_rel) in _COCO_SPLITS.items():
        how_to_create = (
            f"{name} needs the DensePose-COCO annotations and the COCO 2014 images, which this project cannot "
            f"download: place them at {os.path.join(root, json_rel)} and {os.path.join(root, images_rel)}/, "
            f"or set ${DATA_ROOT_ENV} to the directory that holds coco/ (now: {root})."
        )
        _register(name, os.path.join(root, json_rel), os.path.join(root, images_rel), how_to_create)


register_builtin_densepose_datasets()
