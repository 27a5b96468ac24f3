"""Densified labels on disk: round trip, resume marker, point sampling."""
import json

import numpy as np
import pytest
import torch

from densepose_ext.teacher.labels import DenseLabels, done_image_ids, merge_index, sample_box256_points, write_image_labels

from .helpers import SIZE, hand_labels, write_example


def test_round_trip(tmp_path):
    _, out = write_example(tmp_path)
    labels, uv = hand_labels()
    store = DenseLabels(str(out))
    assert len(store) == 1 and store.crop_size == SIZE and store.dataset == "hand"
    iuv = store.iuv(7)
    assert np.array_equal(iuv[..., 0], labels)
    # U, V are stored as round(255 U): within half a step.
    assert np.abs(iuv[..., 1:].transpose(2, 0, 1) / 255.0 - uv).max() <= 0.5 / 255 + 1e-9
    assert store.iuv(8) is None
    assert store.entries[7]["box"] == [8.0, 4.0, 72.0, 52.0]
    assert not list(out.rglob(".*partial*"))  # atomic writes leave no temporaries


def test_shards_mark_images_done_and_merge(tmp_path):
    labels, uv = hand_labels()
    write_image_labels(tmp_path, 3, {})  # an image without labelled people is done too
    write_image_labels(tmp_path, 2, {12: {"box": [0, 0, 1, 1], "labels": labels, "uv": uv},
                                     5: {"box": [0, 0, 2, 2], "labels": labels, "uv": uv}})
    assert done_image_ids(tmp_path) == {2, 3}
    index = merge_index(tmp_path, SIZE, "x")
    assert list(index["annotations"]) == ["5", "12"]
    assert json.loads((tmp_path / "index.json").read_text()) == index


def test_missing_index_and_wrong_size_name_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="index.json"):
        DenseLabels(str(tmp_path))
    _, out = write_example(tmp_path)
    index = json.loads((out / "index.json").read_text())
    index["crop_size"] = SIZE * 2
    (out / "index.json").write_text(json.dumps(index))
    with pytest.raises(ValueError, match="7.png"):
        DenseLabels(str(out)).iuv(7)


def test_sampled_points_are_labelled_cell_centres():
    labels, uv = hand_labels()
    iuv = np.concatenate([labels[None], np.round(uv * 255)]).transpose(1, 2, 0).astype(np.uint8)
    pts = sample_box256_points(iuv, 10, torch.Generator().manual_seed(0))
    assert all(len(pts[f]) == 10 for f in ("dp_x", "dp_y", "dp_I", "dp_U", "dp_V"))
    col = (np.array(pts["dp_x"]) * SIZE / 256 - 0.5)
    row = (np.array(pts["dp_y"]) * SIZE / 256 - 0.5)
    assert np.allclose(col, np.round(col)) and np.allclose(row, np.round(row))
    col, row = np.round(col).astype(int), np.round(row).astype(int)
    assert np.all(labels[row, col] == 2) and np.all(np.array(pts["dp_I"]) == 2)
    assert np.allclose(pts["dp_U"], iuv[row, col, 1] / 255.0)
    assert len(set(zip(row, col))) == 10  # without replacement
    # Same generator state, same points; more than available gives every labelled cell once.
    assert sample_box256_points(iuv, 10, torch.Generator().manual_seed(0)) == pts
    assert len(sample_box256_points(iuv, 1000)["dp_x"]) == int((labels > 0).sum())
