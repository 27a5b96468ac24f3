"""The model the project ships (densepose_ext/model_zoo, docs/MODEL_CARD.md): detectron2 finds it by name, loads
every tensor of it into the network its config builds, and it still does DensePose on held-out synthetic images,
so that a change which silently breaks the model (architecture, preprocessing, inference rule) fails here."""
import json

import numpy as np

import pytest
import torch
from detectron2.checkpoint import DetectionCheckpointer
from detectron2.config import get_cfg
from detectron2.data import DatasetCatalog, MetadataCatalog, build_detection_test_loader
from detectron2.evaluation import inference_on_dataset
from detectron2.modeling import build_model
from detectron2.utils.file_io import PathManager

from densepose_ext.config import add_densepose_config
from densepose_ext.data import DensePoseDatasetMapper, register_densepose_coco
from densepose_ext.data.datasets import SYNTH_SURFACE
from densepose_ext.evaluation import DensePoseCOCOEvaluator
from densepose_ext.model_zoo import SHIPPED_MODELS, expand_model_name, get_checkpoint, get_config_file
from densepose_ext.synth.generate import generate
from tests.scripts import load_script

NAME = "densepose_synth"
# The first images of the validation split the model card reports on (seed 1, 320x240: never trained on).
NUM_IMAGES, SEED, SIZE = 6, 1, (240, 320)
# Stated floor on those images, global kappa: the project's floor for GPS AP and AUC30. The shipped model measured
# GPS AP 32.2, AUC30 0.511, box AP50 90.2 there (2026-12-05), and 20.8 / 0.450 / 79.8 on the whole val split
# (docs/MODEL_CARD.md); the stage-1 model it replaced (15.0 / 0.359 / 76.1 here) fails it.
FLOOR = {"GPS AP": 20.0, "AUC30": 0.40, "box AP50": 70.0}


def shipped_cfg():
    cfg = get_cfg()
    add_densepose_config(cfg)
    cfg.merge_from_file(get_config_file(NAME))
    cfg.MODEL.WEIGHTS = get_checkpoint(NAME)
    cfg.MODEL.DEVICE = "cpu"
    return cfg


@pytest.fixture(scope="module")
def model():
    model = build_model(shipped_cfg())
    model.eval()
    return model


def test_every_shipped_tensor_loads_into_its_config(model):
    checkpointer = DetectionCheckpointer(model)
    local = PathManager.get_local_path(get_checkpoint(NAME))
    incompatible = checkpointer._load_model(checkpointer._load_file(local))
    assert incompatible.missing_keys == []
    assert incompatible.unexpected_keys == []
    assert incompatible.incorrect_shapes == []
    # every parameter came from the file, as float32
    state = torch.load(local, map_location="cpu", weights_only=False)["model"]
    for name, param in model.state_dict().items():
        assert param.dtype == torch.float32 or not param.is_floating_point()
        assert torch.equal(param, state[name].to(param.dtype)), name


def test_names_resolve_and_unknown_names_are_refused():
    assert expand_model_name([NAME, "photo.jpg", "dp_segm"]) == [get_config_file(NAME), get_checkpoint(NAME),
                                                                 "photo.jpg", "dp_segm"]
    assert expand_model_name(["my.yaml", "w.pth", "in/"]) == ["my.yaml", "w.pth", "in/"]
    assert set(SHIPPED_MODELS) == {NAME}
    with pytest.raises(FileNotFoundError, match="densepose_synth_R18ish_FPN.pth"):
        PathManager.get_local_path("densepose_ext://no_such_model.pth")


def test_apply_net_takes_the_model_by_name(tmp_path):
    import cv2

    apply_net = load_script("apply_net.py", "apply_net_shipped_model")
    image = np.full((120, 160, 3), 127, np.uint8)
    cv2.imwrite(str(tmp_path / "grey.png"), image)
    status = apply_net.main(["dump", NAME, str(tmp_path / "grey.png"), "--output", str(tmp_path / "dump"),
                             "--no-progress"])
    assert status == 0
    assert sorted(p.name for p in (tmp_path / "dump").iterdir() if p.suffix == ".npz") == ["grey.npz"]


def test_scores_above_the_floor_on_held_out_images(model, tmp_path):
    data = tmp_path / "val"
    generate(data, NUM_IMAGES, seed=SEED, size=SIZE, workers=1, progress=False)
    name = "shipped_model_floor_val"
    if name in DatasetCatalog.list():
        DatasetCatalog.remove(name)
        MetadataCatalog.remove(name)
    register_densepose_coco(name, str(data / "annotations.json"), str(data / "images"), surface=SYNTH_SURFACE)
    cfg = shipped_cfg()
    DetectionCheckpointer(model).load(cfg.MODEL.WEIGHTS)
    loader = build_detection_test_loader(cfg, name, mapper=DensePoseDatasetMapper(cfg, False))
    evaluator = DensePoseCOCOEvaluator(name, output_dir=str(tmp_path / "eval"), distributed=False,
                                       kappa_mode="global")
    with torch.no_grad():
        boxes = inference_on_dataset(model, loader, evaluator)["bbox"]
    report = json.loads((tmp_path / "eval" / "densepose_report.json").read_text())
    measured = {"GPS AP": report["GPS"]["AP"], "AUC30": report["pointwise"]["AUC30"], "box AP50": boxes["AP50"]}
    for key, floor in FLOOR.items():
        assert measured[key] >= floor, (key, measured)
