"""Teacher -> densify -> student on a handful of DensePose-Synth images (small sizes; about a minute)."""
import copy

import numpy as np
import pytest
import torch
from detectron2.checkpoint import DetectionCheckpointer
from detectron2.data import DatasetCatalog, MetadataCatalog
from detectron2.modeling import build_model
from detectron2.utils.events import EventStorage

from densepose_ext.data import DensePoseDatasetMapper, register_densepose_coco
from densepose_ext.data.annotation import decode_coarse_masks
from densepose_ext.surface.source import SurfaceSource
from densepose_ext.synth.generate import generate
from densepose_ext.teacher.__main__ import main as teacher_cli
from densepose_ext.teacher.accuracy import evaluate_dense_labels
from densepose_ext.teacher.crops import person_masks_in_boxes
from densepose_ext.teacher.densify import DensifyResumeError, TeacherLabeller, densify_dataset
from densepose_ext.teacher.labels import DenseLabels
from densepose_ext.teacher.student_mapper import DenseLabelsDatasetMapper, build_densepose_train_mapper
from densepose_ext.teacher.truth import DenseTruthLabeller
from tests.modeling.tiny import densepose_cfg, tiny_cfg

NAME = "densepose_teacher_e2e_tiny"


@pytest.fixture(scope="module")
def synth(tmp_path_factory):
    root = tmp_path_factory.mktemp("synth")
    generate(root, num_images=4, seed=3, size=(120, 160), progress=False)
    register_densepose_coco(NAME, str(root / "annotations.json"), str(root / "images"), SurfaceSource("anny"))
    yield root, DatasetCatalog.get(NAME)
    DatasetCatalog.remove(NAME)
    MetadataCatalog.remove(NAME)


def _teacher_cfg():
    cfg = densepose_cfg("configs/teacher/densepose_teacher_synth_cpu.yaml")
    cfg.MODEL.DENSEPOSE_TEACHER.CROP_SIZE = 32
    cfg.MODEL.DENSEPOSE_TEACHER.CHANNELS = [32, 32, 32]
    return cfg


def _train(model, batches, steps, lr):
    """Plain SGD over the batches; returns the total loss of each step."""
    optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    model.train()
    history = []
    for step in range(steps):
        with EventStorage(step):  # R-CNN training logs to detectron2's event storage
            losses = model(batches[step % len(batches)])
        total = sum(losses.values())
        assert torch.isfinite(total), losses
        optimizer.zero_grad()
        total.backward()
        optimizer.step()
        history.append(total.item())
    return history


def _losses(model, batch):
    """Training losses of `model` on `batch` without a step, the ROI sampling fixed by the seed."""
    torch.manual_seed(5)
    model.train()
    with torch.no_grad(), EventStorage(0):
        return {k: v.item() for k, v in model(batch).items()}


def test_teacher_densify_student(synth, tmp_path):
    root, dicts = synth
    cfg = _teacher_cfg()
    torch.manual_seed(0)
    teacher = build_model(cfg)
    mapper = DensePoseDatasetMapper(cfg, True)
    batch = [mapper(copy.deepcopy(d)) for d in dicts]
    history = _train(teacher, [batch], steps=12, lr=0.01)
    assert np.mean(history[-3:]) < history[0]  # it learns from the sparse points

    out = tmp_path / "labels"
    index = densify_dataset(TeacherLabeller(teacher, cfg.INPUT.FORMAT), dicts, str(out), dataset_name=NAME,
                            progress=False)
    with_masks = {a["id"]: a for d in dicts for a in d["annotations"] if "dp_masks" in a}
    assert sorted(int(k) for k in index["annotations"]) == sorted(with_masks)
    labels = DenseLabels(str(out))
    for ann_id, anno in with_masks.items():
        # Labelled exactly on the person mask of the crop; nothing outside the person.
        box = torch.tensor(labels.entries[ann_id]["box"])[None]
        mask = person_masks_in_boxes(decode_coarse_masks(anno["dp_masks"])[None], box, box, 32)[0].numpy()
        assert np.array_equal(labels.iuv(ann_id)[..., 0] > 0, mask)

    # Resume: nothing left to do, same index; another teacher setting is refused.
    stamp = (out / "index.json").stat().st_mtime_ns
    label_files = sorted(p.stat().st_mtime_ns for p in (out / "labels").iterdir())
    assert densify_dataset(TeacherLabeller(teacher, cfg.INPUT.FORMAT), dicts, str(out), dataset_name=NAME,
                           progress=False) == index
    assert sorted(p.stat().st_mtime_ns for p in (out / "labels").iterdir()) == label_files
    assert (out / "index.json").stat().st_mtime_ns >= stamp
    with pytest.raises(DensifyResumeError, match="densified with"):
        densify_dataset(TeacherLabeller(teacher, cfg.INPUT.FORMAT), dicts, str(out), dataset_name="other",
                        progress=False)

    # The command line writes the same labels from a checkpoint of the same teacher.
    DetectionCheckpointer(teacher, save_dir=str(tmp_path)).save("teacher")
    teacher_cli(["densify", "--config", "configs/teacher/densepose_teacher_synth_cpu.yaml",
                 "--weights", str(tmp_path / "teacher.pth"), "--dataset", NAME, "--out", str(tmp_path / "cli"),
                 "--no-progress", "MODEL.DENSEPOSE_TEACHER.CROP_SIZE", "32",
                 "MODEL.DENSEPOSE_TEACHER.CHANNELS", "[32, 32, 32]"])
    cli_labels = DenseLabels(str(tmp_path / "cli"))
    assert cli_labels.entries == labels.entries
    assert all(np.array_equal(cli_labels.iuv(i), labels.iuv(i)) for i in with_masks)

    # Teacher accuracy against the dense truth: every person pixel is scored.
    report = evaluate_dense_labels(str(out), str(root / "annotations.json"))
    dense = report["pointwise_dense"]
    assert dense["num_points"] > 10 * report["pointwise"]["num_points"] > 0
    assert 0.0 <= dense["AUC10"] <= dense["AUC30"] <= 1.0
    # The same pipeline (densify -> label files -> evaluation) on the oracle labeller, which copies the dense truth
    # into the crops, must score near the truth: only the 32-cell crop resolution separates them. A crop frame,
    # U/V order or person assignment gone wrong anywhere in it drops these far below.
    densify_dataset(DenseTruthLabeller(32), dicts, str(tmp_path / "oracle"), dataset_name=NAME, progress=False)
    oracle = evaluate_dense_labels(str(tmp_path / "oracle"), str(root / "annotations.json"))["pointwise_dense"]
    assert oracle["num_points"] == dense["num_points"]  # the same person pixels are scored
    assert oracle["AUC10"] > 0.6 and oracle["AUC30"] > 0.75, oracle
    assert dense["AUC10"] < oracle["AUC10"] - 0.3  # a 12-step teacher is far from the truth (~0.01 here)
    summary = teacher_cli(["evaluate", "--labels", str(out), "--annotations", str(root / "annotations.json")])
    assert summary["pointwise_dense"]["AUC30"] == dense["AUC30"]

    # Student: the config's mapper supervises with sparse + dense points, and the R-CNN trains on them.
    student_cfg = tiny_cfg()
    student_cfg.INPUT.MIN_SIZE_TRAIN = (120,)
    student_cfg.DENSEPOSE_TEACHER.DENSE_LABELS_DIR = str(out)
    student_cfg.DENSEPOSE_TEACHER.POINTS_PER_PERSON = 50
    student_mapper = build_densepose_train_mapper(student_cfg)
    assert isinstance(student_mapper, DenseLabelsDatasetMapper)
    student_batch = [student_mapper(copy.deepcopy(d)) for d in dicts]
    for d, mapped in zip(dicts, student_batch):
        sparse = {a["id"]: len(a.get("dp_x", [])) for a in d["annotations"]}
        counts = sorted(len(t) for t in mapped["instances"].gt_densepose if t is not None)
        expected = sorted(
            sparse[i] + min(50, int((labels.iuv(i)[..., 0] > 0).sum())) if i in with_masks else sparse[i]
            for i in sparse if i in with_masks or sparse[i]
        )
        assert counts == expected
    torch.manual_seed(0)
    student = build_model(student_cfg)
    torch.manual_seed(0)
    student = build_model(student_cfg)
    initial = copy.deepcopy(student.roi_heads.densepose_predictor.state_dict())
    before = _losses(student, student_batch)
    _train(student, [student_batch], steps=4, lr=0.002)
    after = _losses(student, student_batch)
    # It learns the teacher's dense labels: the DensePose losses on the same batch (same ROI sampling) drop.
    for name in ("loss_densepose_U", "loss_densepose_V", "loss_densepose_S"):
        assert after[name] < 0.9 * before[name], (name, before[name], after[name])
    assert after["loss_densepose_I"] < before["loss_densepose_I"]
    changed = student.roi_heads.densepose_predictor.state_dict()
    assert all(not torch.equal(changed[k], v) for k, v in initial.items() if v.is_floating_point())
