"""A dataset's body surface is its metadata; the mapper's flip and the evaluator take it from there."""
import copy

import numpy as np
import pytest
from detectron2.data import DatasetCatalog, MetadataCatalog
from detectron2.data import transforms as T

from densepose_ext.data.dataset_mapper import DensePoseDatasetMapper
from densepose_ext.data.dataset_surface import dataset_surface, datasets_surface
from densepose_ext.data.datasets import register_densepose_coco
from densepose_ext.evaluation import DensePoseCOCOEvaluator
from densepose_ext.surface import get_surface
from densepose_ext.surface.parts import FINE_PART_MIRROR
from densepose_ext.surface.source import SurfaceSource
from tests.modeling.tiny import densepose_cfg

from .helpers import tiny_densepose_coco, write_dataset
from .smpl_doll import write_doll

BUILTIN = {
    "densepose_synth_train": SurfaceSource("anny"), "densepose_synth_val": SurfaceSource("anny"),
    **{f"densepose_coco_2014_{split}": SurfaceSource("smpl")
       for split in ("train", "valminusminival", "minival", "minival_100", "test")},
}


@pytest.fixture
def registered(tmp_path):
    """register(name, surface) -> name: the tiny dataset under `name`, removed afterwards."""
    json_file = write_dataset(str(tmp_path))
    names = []

    def register(name, surface=None):
        register_densepose_coco(name, json_file, str(tmp_path / "images"), surface)
        names.append(name)
        return name

    yield register
    for name in names:
        DatasetCatalog.remove(name)
        MetadataCatalog.remove(name)


@pytest.fixture
def smpl_doll_dir(tmp_path, monkeypatch):
    directory = write_doll(tmp_path / "smpl")
    monkeypatch.setenv("DENSEPOSE_SMPL_DIR", str(directory))
    return directory


def test_builtin_datasets_carry_their_surface():
    for name, surface in BUILTIN.items():
        assert MetadataCatalog.get(name).densepose_surface == surface, name
        assert dataset_surface(name) == surface


def test_a_user_dataset_takes_the_config_key_and_without_one_is_refused(registered):
    name = registered("densepose_test_no_surface")
    cfg = densepose_cfg()
    with pytest.raises(ValueError, match=r"no body surface: its metadata has no 'densepose_surface' and "
                                         r"DATASETS.DENSEPOSE_SURFACE is empty"):
        dataset_surface(name, cfg)
    cfg.DATASETS.DENSEPOSE_SURFACE, cfg.DATASETS.DENSEPOSE_SURFACE_DIR = "smpl", "/somewhere"
    assert dataset_surface(name, cfg) == SurfaceSource("smpl", "/somewhere")
    cfg.DATASETS.DENSEPOSE_SURFACE = "smpl_v2"
    with pytest.raises(ValueError, match=r"DATASETS.DENSEPOSE_SURFACE: expected one of \('anny', 'smpl'\)"):
        dataset_surface(name, cfg)


def test_the_config_cannot_reinterpret_a_registered_surface():
    cfg = densepose_cfg()
    cfg.DATASETS.DENSEPOSE_SURFACE = "anny"
    registered_on = r"densepose_coco_2014_train' is registered on the smpl \(\$DENSEPOSE_SMPL_DIR\) surface"
    with pytest.raises(ValueError, match=registered_on + ", the config names anny"):
        dataset_surface("densepose_coco_2014_train", cfg)


def test_training_on_two_surfaces_is_refused_clearly():
    cfg = densepose_cfg()
    cfg.DATASETS.TRAIN = ("densepose_synth_train", "densepose_coco_2014_train")
    with pytest.raises(ValueError, match=r"datasets on different body surfaces in one run \(densepose_synth_train: "
                                         r"anny \(committed asset\), densepose_coco_2014_train: smpl"):
        DensePoseDatasetMapper(cfg, is_train=True)
    assert datasets_surface(["densepose_coco_2014_train", "densepose_coco_2014_valminusminival"], cfg) == \
        SurfaceSource("smpl")


def test_the_mapper_flips_through_the_datasets_smpl_surface(registered, smpl_doll_dir):
    name = registered("densepose_test_on_smpl", SurfaceSource("smpl"))
    cfg = densepose_cfg()
    cfg.DATASETS.TRAIN = (name,)
    mapper = DensePoseDatasetMapper(cfg, is_train=True)
    assert mapper.surface is get_surface("smpl", data_dir=str(smpl_doll_dir))
    mapper.augmentations = T.AugmentationList([T.HFlipTransform(80)])  # image 1 is 80 px wide
    flipped = next(iter(mapper(copy.deepcopy(DatasetCatalog.get(name)[0]))["instances"].gt_densepose))
    source = tiny_densepose_coco()["annotations"][0]
    i, u = np.array(source["dp_I"], dtype=np.int64), np.array(source["dp_U"])
    assert flipped.i.tolist() == FINE_PART_MIRROR[i].tolist()
    # The doll's table: U' = 1 - int(255 U) / 255; anny keeps U of limbs (parts 3, 15 here) unchanged.
    expected_u = 1.0 - np.floor(np.float32(u) * np.float32(255)) / 255.0
    np.testing.assert_allclose(flipped.u.numpy(), expected_u, atol=1e-6)
    anny_u = get_surface().mirror_iuv(i, u, np.array(source["dp_V"]))[1]
    assert np.abs(anny_u - expected_u).max() > 0.2


def test_no_flip_needs_no_surface():
    cfg = densepose_cfg()
    cfg.INPUT.RANDOM_FLIP = "none"
    assert DensePoseDatasetMapper(cfg, is_train=True).surface is None  # DATASETS.TRAIN is empty here
    assert DensePoseDatasetMapper(cfg, is_train=False).surface is None


def _doll_distance(evaluator) -> float:
    """The evaluator's distance on the doll's part 1 (a 0.1 m square, chart vertices at U, V in {0, 0.5, 1}) from
    (U, V) = (0.2, 0) to (1, 0): 0.1 m by the reference's convention (0.2 snaps to the chart vertex at U = 0), 0.08 m
    exactly."""
    one = np.ones(1, dtype=np.int64)
    return float(evaluator._distance_fn(one, np.array([0.2]), np.zeros(1), one, np.ones(1), np.zeros(1))[0])


def test_the_evaluator_from_config_measures_on_the_datasets_surface(registered, smpl_doll_dir):
    cfg = densepose_cfg()
    smpl_name = registered("densepose_test_eval_smpl", SurfaceSource("smpl"))
    # SMPL-based datasets: the reference's protocol by default, its chart-vertex distances from the SMPL files.
    evaluator = DensePoseCOCOEvaluator(cfg, smpl_name)
    assert evaluator._geodesic == "chart-vertex" and _doll_distance(evaluator) == pytest.approx(0.1, abs=1e-6)
    cfg.DENSEPOSE_EVALUATION.GEODESIC = "exact"
    exact = DensePoseCOCOEvaluator(cfg, smpl_name)
    assert exact._geodesic == "exact" and _doll_distance(exact) == pytest.approx(0.08, abs=1e-6)
    assert exact._distance_fn.__self__ is get_surface("smpl", data_dir=str(smpl_doll_dir))
    cfg.DENSEPOSE_EVALUATION.GEODESIC = ""
    anny_name = registered("densepose_test_eval_anny", SurfaceSource("anny"))
    anny = DensePoseCOCOEvaluator(cfg, anny_name)
    assert anny._distance_fn.__self__ is get_surface() and anny._geodesic == "exact"
    cfg.DENSEPOSE_EVALUATION.GEODESIC = "chart-vertex"
    with pytest.raises(ValueError, match=r"DENSEPOSE_EVALUATION.GEODESIC: 'chart-vertex' needs the reference's "
                                         r"precomputed distances .* the anny surface has none"):
        DensePoseCOCOEvaluator(cfg, anny_name)
    cfg.DENSEPOSE_EVALUATION.GEODESIC = "geodesic"
    with pytest.raises(ValueError, match=r"DENSEPOSE_EVALUATION.GEODESIC: expected one of \('chart-vertex', "
                                         r"'exact'\), got 'geodesic'"):
        DensePoseCOCOEvaluator(cfg, smpl_name)
    cfg.DENSEPOSE_EVALUATION.GEODESIC = ""
    plain = registered("densepose_test_eval_plain")
    with pytest.raises(ValueError, match="no body surface"):
        DensePoseCOCOEvaluator(cfg, plain)
    cfg.DATASETS.DENSEPOSE_SURFACE = "smpl"
    assert DensePoseCOCOEvaluator(cfg, plain)._geodesic == "chart-vertex"
    # Without a config: the same choice from the dataset's surface.
    assert DensePoseCOCOEvaluator(smpl_name, evaluate_boxes=False)._geodesic == "chart-vertex"
    assert _doll_distance(DensePoseCOCOEvaluator(smpl_name, geodesic="exact")) == pytest.approx(0.08, abs=1e-6)
