import json
import os
import subprocess
import sys

import pytest
from detectron2.data import DatasetCatalog, MetadataCatalog
from detectron2.data import detection_utils as utils
from detectron2.structures import BoxMode

from densepose_ext.data.datasets import register_densepose_coco
from densepose_ext.data.validate import DensePoseFormatError

from .helpers import tiny_densepose_coco, write_dataset


@pytest.fixture
def registered(tmp_path):
    """Registers the tiny dataset (and removes it afterwards); returns (name, json_file, image_root)."""
    names = []

    def register(data=None, name="densepose_test_tiny"):
        json_file = write_dataset(str(tmp_path), data)
        register_densepose_coco(name, json_file, str(tmp_path / "images"))
        names.append(name)
        return name, json_file, str(tmp_path / "images")

    yield register
    for name in names:
        DatasetCatalog.remove(name)
        MetadataCatalog.remove(name)


def test_registered_file_loads_as_detectron2_dicts_with_raw_densepose_fields(registered):
    name, json_file, image_root = registered()
    dicts = DatasetCatalog.get(name)
    assert [d["image_id"] for d in dicts] == [1, 2]
    first = dicts[0]
    assert first["file_name"] == os.path.join(image_root, "000001.png")
    assert (first["width"], first["height"]) == (80, 60)
    by_id = {a["id"]: a for a in first["annotations"]}
    assert sorted(by_id) == [11, 12, 13]
    source = tiny_densepose_coco()["annotations"][0]
    person = by_id[11]
    for field in ("dp_x", "dp_y", "dp_I", "dp_U", "dp_V", "dp_masks", "bbox"):
        assert person[field] == source[field]
    assert person["bbox_mode"] == BoxMode.XYWH_ABS and person["category_id"] == 0
    assert "dp_x" not in by_id[12]
    # detectron2's convention, kept: COCO keypoints are pixel indices, +0.5 gives continuous image px.
    assert person["keypoints"][3:6] == [source["keypoints"][3] + 0.5, source["keypoints"][4] + 0.5, 2]


def test_metadata_serves_keypoint_flip_and_evaluator(registered):
    name, json_file, image_root = registered()
    meta = MetadataCatalog.get(name)
    assert meta.evaluator_type == "densepose"
    assert meta.json_file == json_file and meta.image_root == image_root
    assert meta.thing_classes == ["person"]
    # What detectron2 reads to flip keypoints: left_eye (1) <-> right_eye (2), nose (0) stays.
    indices = utils.create_keypoint_hflip_indices([name])
    assert list(indices[:3]) == [0, 2, 1] and sorted(indices) == list(range(17))


def test_loader_runs_the_validator(registered):
    data = tiny_densepose_coco()
    data["annotations"][3]["dp_U"][1] = 2.0
    name, json_file, _ = registered(data)
    with pytest.raises(DensePoseFormatError, match=r"annotation 21: dp_U: expected values in \[0, 1\]") as info:
        DatasetCatalog.get(name)
    assert json_file in str(info.value)


def test_registering_reads_nothing(tmp_path):
    missing = tmp_path / "nowhere" / "annotations.json"
    register_densepose_coco("densepose_test_missing", str(missing), str(tmp_path / "nowhere"))
    try:
        with pytest.raises(FileNotFoundError, match="annotations.json does not exist"):
            DatasetCatalog.get("densepose_test_missing")
    finally:
        DatasetCatalog.remove("densepose_test_missing")
        MetadataCatalog.remove("densepose_test_missing")


def test_missing_synthetic_split_names_the_command_that_creates_it(tmp_path):
    # A fresh interpreter, so that the builtins are registered under this test's $DENSEPOSE_DATA.
    root = tmp_path / "data"
    script = (
        "import densepose_ext.data, os, sys\n"
        "from detectron2.data import DatasetCatalog, MetadataCatalog\n"
        "print(MetadataCatalog.get('densepose_synth_val').json_file)\n"
        "try:\n"
        "    DatasetCatalog.get('densepose_synth_val')\n"
        "except FileNotFoundError as e:\n"
        "    print(e)\n"
    )
    env = dict(os.environ, DENSEPOSE_DATA=str(root))
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True).stdout
    split = os.path.join(str(root), "densepose_synth", "val")
    assert os.path.join(split, "annotations.json") in out
    assert f"python -m densepose_ext.synth --out {split} --num-images 200 --seed 1" in out
    assert not root.exists()  # neither registration nor the failed load created anything


def test_coco_builtins_point_at_the_reference_layout():
    meta = MetadataCatalog.get("densepose_coco_2014_minival")
    assert meta.json_file.endswith(os.path.join("coco", "annotations", "densepose_minival2014.json"))
    assert meta.image_root.endswith(os.path.join("coco", "val2014"))
    assert "densepose_coco_2014_train" in DatasetCatalog.list()


def test_tiny_dataset_is_valid_json_for_pycocotools(tmp_path):
    # The fixture itself must be a well-formed COCO file, or the tests above prove little.
    from pycocotools.coco import COCO

    json_file = write_dataset(str(tmp_path))
    coco = COCO(json_file)
    assert sorted(coco.getAnnIds()) == [11, 12, 13, 21]
    with open(json_file) as f:
        assert json.load(f)["annotations"][0]["dp_masks"][0]["size"] == [256, 256]
