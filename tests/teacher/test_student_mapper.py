"""Densified labels load through the student's mapper (image px, all points, both modes)."""
import copy

import numpy as np
import pytest
import torch
from detectron2.config import get_cfg

from densepose_ext.config import add_densepose_config
from densepose_ext.data import DensePoseDatasetMapper
from densepose_ext.teacher.labels import DenseLabels
from densepose_ext.teacher.student_mapper import DenseLabelsDatasetMapper, build_densepose_train_mapper

from .helpers import BOX_XYWH, SIZE, hand_labels, write_example


def _mapper(labels_dir, points, keep):
    return DenseLabelsDatasetMapper(
        is_train=True, augmentations=[], image_format="RGB", dense_labels=DenseLabels(str(labels_dir)),
        points_per_person=points, keep_sparse_points=keep,
    )


def _targets(mapper, dataset_dict):
    torch.manual_seed(0)
    (t,) = list(mapper(copy.deepcopy(dataset_dict))["instances"].gt_densepose)
    return t


def test_dense_points_added_in_image_px(tmp_path):
    dataset_dict, out = write_example(tmp_path)
    t = _targets(_mapper(out, 10, keep=True), dataset_dict)
    assert len(t) == 3 + 10
    sparse = DensePoseDatasetMapper(is_train=True, augmentations=[], image_format="RGB")
    t_sparse = _targets(sparse, dataset_dict)
    torch.testing.assert_close(t.x[:3], t_sparse.x)  # the annotated points come first, unchanged
    # Dense points sit at crop cell centres of the box: x = x0 + (c + 0.5) w / S.
    x0, y0, w, h = BOX_XYWH
    col = (t.x[3:] - x0) * SIZE / w - 0.5
    row = (t.y[3:] - y0) * SIZE / h - 0.5
    torch.testing.assert_close(col, col.round(), atol=1e-4, rtol=0)
    col, row = col.round().long().numpy(), row.round().long().numpy()
    labels, uv = hand_labels()
    assert np.all(t.i[3:].numpy() == labels[row, col])
    np.testing.assert_allclose(t.u[3:].numpy(), uv[0, row, col], atol=0.5 / 255 + 1e-6)
    np.testing.assert_allclose(t.v[3:].numpy(), uv[1, row, col], atol=0.5 / 255 + 1e-6)


def test_replace_mode_and_density(tmp_path):
    dataset_dict, out = write_example(tmp_path)
    assert len(_targets(_mapper(out, 5, keep=False), dataset_dict)) == 5
    # More than the labelled cells: every labelled cell once.
    assert len(_targets(_mapper(out, 500, keep=False), dataset_dict)) == SIZE * SIZE // 2


def test_person_without_labels_keeps_sparse_points(tmp_path):
    dataset_dict, out = write_example(tmp_path)
    dataset_dict["annotations"][0]["id"] = 99
    assert len(_targets(_mapper(out, 10, keep=False), dataset_dict)) == 3


def test_config_selects_mapper(tmp_path):
    _, out = write_example(tmp_path)
    cfg = get_cfg()
    add_densepose_config(cfg)
    cfg.INPUT.MIN_SIZE_TRAIN = (0,)
    cfg.DATASETS.TRAIN = ("densepose_synth_train",)  # the flip's surface is the training datasets' (anny)
    assert type(build_densepose_train_mapper(cfg)) is DensePoseDatasetMapper
    cfg.DENSEPOSE_TEACHER.DENSE_LABELS_DIR = str(out)
    cfg.DENSEPOSE_TEACHER.POINTS_PER_PERSON = 4
    mapper = build_densepose_train_mapper(cfg)
    assert isinstance(mapper, DenseLabelsDatasetMapper) and mapper.points_per_person == 4
    cfg.DENSEPOSE_TEACHER.POINTS_PER_PERSON = 0
    with pytest.raises(ValueError, match="POINTS_PER_PERSON"):
        build_densepose_train_mapper(cfg)
