"""The training loader checks each image file against the JSON before detectron2 reads it: a missing image (also
with a non-ASCII name), an empty one, one of another size and a file_name leading outside the image root are
refused by image id, file and expectation, as one UserInputError (issue 19)."""
import json
import os

import pytest
from PIL import Image

from densepose_ext.data.datasets import load_densepose_coco_json
from densepose_ext.data.validate import DensePoseFormatError

from .helpers import tiny_densepose_coco, write_dataset


def _load(tmp_path, mutate):
    root = tmp_path / "split"
    path = write_dataset(str(root))
    data = tiny_densepose_coco()
    mutate(data, root)
    with open(path, "w") as f:
        json.dump(data, f)
    return load_densepose_coco_json(path, str(root / "images"))


def _rename(name):
    def mutate(data, root):
        data["images"][1]["file_name"] = name
    return mutate


def _empty(data, root):
    (root / "images" / data["images"][1]["file_name"]).write_bytes(b"")


def _resized(data, root):
    Image.new("RGB", (41, 30)).save(root / "images" / data["images"][1]["file_name"])


def _escaping(data, root):
    Image.new("RGB", (40, 30)).save(root / "outside.png")
    data["images"][1]["file_name"] = "../outside.png"


@pytest.mark.parametrize("mutate,expected,found", [
    (_rename("missing.png"), "an existing image file", "no such file"),
    (_rename("bébé_ü.png"), "an existing image file", "bébé_ü.png"),
    (_empty, "an image", "an empty file"),
    (_resized, "the JSON's size 40x30", "a 41x30 image"),
    (_escaping, "a file inside the image root", "a path leading outside it"),
])
def test_bad_image_files_are_refused_by_image(tmp_path, mutate, expected, found):
    with pytest.raises(DensePoseFormatError) as info:
        _load(tmp_path, mutate)
    message = str(info.value)
    assert "annotations.json" in message and "image 2: file_name: expected " + expected in message
    assert found in message


def test_good_images_load(tmp_path):
    dicts = _load(tmp_path, lambda data, root: None)
    assert [os.path.basename(d["file_name"]) for d in dicts] == ["000001.png", "000002.png"]
