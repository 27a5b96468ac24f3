"""DensePose-COCO datasets in detectron2's DatasetCatalog / MetadataCatalog.

    register_densepose_coco(name, json_file, image_root, surface=SurfaceSource("smpl"))   # any DensePose-COCO file

Builtin names, rooted at $DENSEPOSE_DATA (default: ./datasets, relative to the working directory, as
detectron2's $DETECTRON2_DATASETS), with the body surface their U/V are in (metadata `densepose_surface`,
dataset_surface.py):

    densepose_synth_train   $DENSEPOSE_DATA/densepose_synth/train/{annotations.json,images/}        anny
    densepose_synth_val     $DENSEPOSE_DATA/densepose_synth/val/{annotations.json,images/}          anny
    densepose_coco_2014_{train,minival,minival_100,valminusminival}                                   smpl
                            $DENSEPOSE_DATA/coco/annotations/densepose_{train,minival,valminusminival}2014.json
                            (and densepose_minival2014_100.json, the reference's 100-image subset), with images
                            in $DENSEPOSE_DATA/coco/{train,val}2014/ (the reference's layout and file names)
    densepose_coco_2014_test
                            $DENSEPOSE_DATA/coco/annotations/densepose_coco_2014_test.json (the published image
                            list, no annotations); each image under $DENSEPOSE_DATA/coco/<folder>/ named by its
                            COCO file name (COCO_test2015_000000000001.jpg -> coco/test2015/)
    (smpl: the SMPL-based DensePose geometry files in $DENSEPOSE_SMPL_DIR, read when first needed)

Registration touches no file: the loader runs when the dataset is first requested. It reads the JSON,
runs the validator's checks (validate.check_densepose_coco; a bad file raises DensePoseFormatError listing every
problem), checks each image file against the JSON (image_file_problems, headers only), logs what training will
ignore (validate.densepose_coco_warnings), then builds detectron2 dataset dicts with `load_coco_json`, keeping per annotation its `id` and the
raw DensePose fields dp_x, dp_y, dp_I, dp_U, dp_V, dp_masks as in the JSON. A missing synthetic split raises
FileNotFoundError with the exact command that generates it.
"""
from __future__ import annotations

import json
import logging
import os
import re
from typing import Dict, List, Optional

from detectron2.data import DatasetCatalog, MetadataCatalog
from PIL import Image, UnidentifiedImageError
from detectron2.data.datasets import load_coco_json
from detectron2.data.datasets.builtin_meta import (
    COCO_PERSON_KEYPOINT_FLIP_MAP,
    COCO_PERSON_KEYPOINT_NAMES,
    KEYPOINT_CONNECTION_RULES,
)

from densepose_ext.surface.source import SurfaceSource
from densepose_ext.synth.dataset_format import SYNTH_SURFACE

from .dataset_surface import METADATA_KEY as SURFACE_METADATA_KEY
from .validate import DP_POINT_FIELDS, DensePoseFormatError, Problem, check_densepose_coco, densepose_coco_warnings

logger = logging.getLogger(__name__)

DATA_ROOT_ENV = "DENSEPOSE_DATA"
DEFAULT_DATA_ROOT = "datasets"
DENSEPOSE_ANNOTATION_KEYS = ("id",) + DP_POINT_FIELDS + ("dp_masks",)

# name -> (split directory under densepose_synth/, --num-images, --seed) of the suggested generation command.
# Different seeds keep the validation people out of the training set.
_SYNTH_SPLITS = {
    "densepose_synth_train": ("train", 2000, 0),
    "densepose_synth_val": ("val", 200, 1),
}
# The body surfaces of the builtin datasets: DensePose-Synth is rendered on anny (SYNTH_SURFACE, owned by
# synth/dataset_format.py, which generation renders on); DensePose-COCO was annotated on the SMPL-based charts
# ($DENSEPOSE_SMPL_DIR).
COCO_SURFACE = SurfaceSource("smpl")
# name -> (annotation file, image directory), relative to the data root; the layout of the reference project.
_COCO_SPLITS = {
    "densepose_coco_2014_train": ("coco/annotations/densepose_train2014.json", "coco/train2014"),
    "densepose_coco_2014_minival": ("coco/annotations/densepose_minival2014.json", "coco/val2014"),
    "densepose_coco_2014_minival_100": ("coco/annotations/densepose_minival2014_100.json", "coco/val2014"),
    "densepose_coco_2014_valminusminival": (
        "coco/annotations/densepose_valminusminival2014.json", "coco/val2014"
    ),
}
# The published test list (images only). The reference registers no test split; its file keeps the published name,
# and its images may come from several COCO folders, so each image's folder comes from its file name.
_COCO_TEST_SPLIT = ("densepose_coco_2014_test", "coco/annotations/densepose_coco_2014_test.json", "coco")
_COCO_FOLDER_IN_FILE_NAME = re.compile(r"^COCO_([a-z]+\d{4})_\d+\.\w+$")


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
    json_file: str,
    image_root: str,
    dataset_name: Optional[str] = None,
    how_to_create: Optional[str] = None,
    image_list: bool = False,
) -> List[dict]:
    """Validated detectron2 dataset dicts of a DensePose-COCO file.

    Args:
        json_file: DensePose-COCO annotation file.
        image_root: directory the images' `file_name`s are relative to.
        dataset_name: when given, detectron2 records the category mapping in its metadata.
        how_to_create: appended to the error when `json_file` does not exist (e.g. the generation command).
        image_list: the file lists images only (the published test split, no `annotations`): each image's
            folder under `image_root` is the one its COCO file name names (`coco_image_path`).
    Raises:
        FileNotFoundError: `json_file` is missing. DensePoseFormatError: the file breaks the format.
    """
    if not os.path.isfile(json_file):
        hint = f"\n{how_to_create}" if how_to_create else ""
        raise FileNotFoundError(f"DensePose annotation file {json_file} does not exist.{hint}")
    with open(json_file) as f:
        data = json.load(f)
    if image_list:
        data.setdefault("annotations", [])
    check_densepose_coco(data, json_file)
    for warning in densepose_coco_warnings(data, json_file):
        logger.warning(warning)
    if not image_list:
        problems = image_file_problems(data["images"], image_root)
        if problems:
            raise DensePoseFormatError(f"{json_file} (images under {image_root})", problems)
    dicts = load_coco_json(json_file, image_root, dataset_name, extra_annotation_keys=list(DENSEPOSE_ANNOTATION_KEYS))
    if image_list:
        for d in dicts:
            d["file_name"] = coco_image_path(image_root, os.path.basename(d["file_name"]), json_file)
    return dicts


def _image_problem(path: str, root: str, width: int, height: int) -> Optional[tuple]:
    """(expected, found) when the image file at `path` cannot be what the JSON says, else None."""
    if not os.path.realpath(path).startswith(os.path.realpath(root) + os.sep):
        return f"a file inside the image root {root}", f"a path leading outside it ({os.path.realpath(path)})"
    if not os.path.isfile(path):
        return "an existing image file", "a folder" if os.path.isdir(path) else f"no such file ({path})"
    if os.path.getsize(path) == 0:
        return "an image", f"an empty file ({path})"
    try:
        with Image.open(path) as header:
            size = header.size
    except (UnidentifiedImageError, Image.DecompressionBombError) as e:
        return "an image", f"{path}: {e}"
    if size != (width, height):
        return f"the JSON's size {width}x{height}", f"a {size[0]}x{size[1]} image ({path})"
    return None


def image_file_problems(images: List[dict], image_root: str) -> List[Problem]:
    """Problems of the image files a (validated) file's `images` name: leading outside `image_root` (`../`),
    missing, empty, not an image, or of another size than the JSON's width x height. Reads image headers only."""
    problems = []
    for img in images:
        found = _image_problem(os.path.join(image_root, img["file_name"]), image_root, img["width"], img["height"])
        if found is not None:
            problems.append(Problem(img["id"], None, "file_name", *found))
    return problems


def coco_image_path(coco_root: str, file_name: str, source: str) -> str:
    """`coco_root`/<folder>/`file_name` for a COCO 2014-era file name (COCO_<folder>_<12 digits>.jpg)."""
    match = _COCO_FOLDER_IN_FILE_NAME.match(file_name)
    if match is None:
        raise ValueError(f"{source}: images file_name: expected a COCO name 'COCO_<folder>_<id>.jpg' "
                         f"(e.g. COCO_test2015_000000000001.jpg), got {file_name!r}")
    return os.path.join(coco_root, match.group(1), file_name)


def _register(
    name: str,
    json_file: str,
    image_root: str,
    how_to_create: Optional[str],
    surface: Optional[SurfaceSource],
    image_list: bool = False,
) -> None:
    DatasetCatalog.register(
        name, lambda: load_densepose_coco_json(json_file, image_root, name, how_to_create, image_list)
    )
    meta = dict(json_file=json_file, image_root=image_root, **densepose_metadata())
    if surface is not None:
        meta[SURFACE_METADATA_KEY] = surface
    MetadataCatalog.get(name).set(**meta)


def register_densepose_coco(
    name: str, json_file: str, image_root: str, surface: Optional[SurfaceSource] = None
) -> None:
    """Registers a DensePose-COCO file (`json_file`, images under `image_root`) as dataset `name`.

    Like detectron2's `register_coco_instances`; the metadata adds keypoint names and flip map, evaluator_type
    "densepose" and, when given, the body surface the file's U/V are in (`densepose_surface`; without it the
    config key DATASETS.DENSEPOSE_SURFACE must name one). Nothing is read until the dataset is requested.
    """
    _register(name, json_file, image_root, how_to_create=None, surface=surface)


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
        _register(
            name, os.path.join(split_dir, "annotations.json"), os.path.join(split_dir, "images"), how_to_create,
            SYNTH_SURFACE,
        )
    register_densepose_coco_2014(root)


DENSEPOSE_COCO_2014_NAMES = tuple(_COCO_SPLITS) + (_COCO_TEST_SPLIT[0],)


def register_densepose_coco_2014(root: str) -> None:
    """Registers densepose_coco_2014_{train,valminusminival,minival,minival_100,test} (DENSEPOSE_COCO_2014_NAMES)
    at `root` in the reference's layout, on the SMPL surface."""
    for name, (json_rel, images_rel) in _COCO_SPLITS.items():
        _register(name, os.path.join(root, json_rel), os.path.join(root, images_rel),
                  _coco_how_to_create(name, root, json_rel, images_rel), COCO_SURFACE)
    name, json_rel, images_rel = _COCO_TEST_SPLIT
    _register(name, os.path.join(root, json_rel), os.path.join(root, images_rel),
              _coco_how_to_create(name, root, json_rel, images_rel), COCO_SURFACE, image_list=True)


def _coco_how_to_create(name: str, root: str, json_rel: str, images_rel: str) -> str:
    return (
        f"{name} needs the DensePose-COCO annotations and the COCO 2014 images, which this project cannot "
        f"download: place them at {os.path.join(root, json_rel)} and {os.path.join(root, images_rel)}/, "
        f"or set ${DATA_ROOT_ENV} to the directory that holds coco/ (now: {root}); see docs/DATA.md."
    )


register_builtin_densepose_datasets()
