"""Pointwise evaluation over DensePose-Synth dense truth (dense/<stem>_IUV.png + _INDS.png)."""

import json

import numpy as np
import pytest
import torch
from PIL import Image

from densepose_ext.evaluation.dense_truth import DenseTruth
from densepose_ext.evaluation.evaluate import evaluate_densepose
from densepose_ext.evaluation.ground_truth import DensePoseGroundTruth
from densepose_ext.structures.results import DensePoseResult

from .synthetic import chart_distance, record

H, W = 40, 60
# (x0, y0, x1, y1) integer boxes; person 2 has no dp points (ignore region), person 3 is never detected.
BOXES = {1: (4, 2, 20, 34), 2: (24, 4, 36, 30), 3: (40, 10, 58, 38)}


def write_dataset(root):
    rng = np.random.default_rng(0)
    iuv = np.zeros((H, W, 3), np.uint8)
    inds = np.zeros((H, W), np.uint8)
    annotations = []
    for k, (ann_id, (x0, y0, x1, y1)) in enumerate(BOXES.items(), start=1):
        block = (slice(y0 + 1, y1 - 1), slice(x0 + 1, x1 - 1))  # the body leaves a 1 px border of its box
        inds[block] = k
        iuv[block] = np.stack(
            [
                rng.integers(1, 25, (y1 - y0 - 2, x1 - x0 - 2)),
                rng.integers(0, 256, (y1 - y0 - 2, x1 - x0 - 2)),
                rng.integers(0, 256, (y1 - y0 - 2, x1 - x0 - 2)),
            ],
            -1,
        )
        ann = {
            "id": ann_id,
            "image_id": 7,
            "category_id": 1,
            "iscrowd": 0,
            "bbox": [x0, y0, x1 - x0, y1 - y0],
            "area": float((x1 - x0) * (y1 - y0)),
            "segmentation": {"size": [H, W], "counts": _rle_counts(inds == k)},
        }
        if ann_id != 2:  # sparse points at a few labelled pixels, in box-256
            rows, cols = np.nonzero(inds == k)
            pick = rng.choice(len(rows), 10, replace=False)
            r, c = rows[pick], cols[pick]
            ann.update(
                dp_x=((c + 0.5 - x0) * 256 / (x1 - x0)).tolist(),
                dp_y=((r + 0.5 - y0) * 256 / (y1 - y0)).tolist(),
                dp_I=iuv[r, c, 0].astype(float).tolist(),
                dp_U=(iuv[r, c, 1] / 255).tolist(),
                dp_V=(iuv[r, c, 2] / 255).tolist(),
            )
        annotations.append(ann)
    dataset = {
        "images": [{"id": 7, "file_name": "000006.jpg", "height": H, "width": W}],
        "annotations": annotations,
        "categories": [{"id": 1, "name": "person"}],
    }
    (root / "dense").mkdir()
    # The reference's _IUV.png layout by hand, through an RGB writer: red = V*255, green = U*255, blue = I.
    Image.fromarray(iuv[..., ::-1].copy(), mode="RGB").save(root / "dense" / "000006_IUV.png")
    Image.fromarray(inds).save(root / "dense" / "000006_INDS.png")
    (root / "annotations.json").write_text(json.dumps(dataset))
    return dataset, iuv, inds


def _rle_counts(mask):
    from pycocotools import mask as mask_utils

    return mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))["counts"].decode("ascii")


def perfect_from_dense(iuv, box):
    """The result over integer `box` (XYXY image px) copied from the dense IUV image."""
    x0, y0, x1, y1 = box
    crop = iuv[y0:y1, x0:x1]
    return DensePoseResult(
        torch.from_numpy(crop[..., 0].copy()),
        torch.from_numpy(crop[..., 1:].transpose(2, 0, 1) / 255.0).float(),
    )


def test_dense_pointwise_counts_every_pixel_of_annotated_people(tmp_path):
    dataset, iuv, inds = write_dataset(tmp_path)
    dense = DenseTruth.beside(tmp_path / "annotations.json", dataset)
    assert dense is not None
    records = [record(7, perfect_from_dense(iuv, BOXES[a]), BOXES[a], s) for a, s in ((1, 0.9), (2, 0.8))]
    rep = evaluate_densepose(DensePoseGroundTruth(dataset), records, distance_fn=chart_distance, dense_truth=dense)
    pixels = {k: int((inds == k).sum()) for k in (1, 2, 3)}
    # Person 2 (no dp points) is an ignore region; person 3 is missed: its pixels are never correct.
    assert rep["pointwise_dense"]["num_points"] == pixels[1] + pixels[3]
    assert rep["pointwise_dense"]["AUC10"] == pytest.approx(pixels[1] / (pixels[1] + pixels[3]), abs=1e-6)
    assert rep["pointwise"]["num_points"] == 20 and rep["pointwise"]["AUC10"] == pytest.approx(0.5, abs=1e-6)
    assert rep["GPS"]["AR"] == pytest.approx(50.0)


def test_dense_points_are_pixel_centres_with_chart_values(tmp_path):
    dataset, iuv, inds = write_dataset(tmp_path)
    person3 = DensePoseGroundTruth(dataset).annotated[7][1]
    assert person3["id"] == 3
    pts = DenseTruth(tmp_path, dataset).points(7, [person3])
    r, c = (pts["y"] - 0.5).astype(int), (pts["x"] - 0.5).astype(int)
    assert np.all(inds[r, c] == 3) and len(r) == (inds == 3).sum() and np.all(pts["owner"] == 0)
    np.testing.assert_array_equal(pts["i"], iuv[r, c, 0])
    np.testing.assert_allclose(pts["u"], iuv[r, c, 1] / 255)


def test_stride_keeps_the_pixels_of_a_fixed_grid(tmp_path):
    dataset, _, inds = write_dataset(tmp_path)
    people = DensePoseGroundTruth(dataset).annotated[7]
    full = DenseTruth(tmp_path, dataset).points(7, people)
    strided = DenseTruth(tmp_path, dataset, stride=3).points(7, people)
    on_grid = ((full["x"] - 0.5) % 3 == 0) & ((full["y"] - 0.5) % 3 == 0)
    for key in full:
        np.testing.assert_array_equal(strided[key], full[key][on_grid])
    assert 0 < len(strided["x"]) < len(full["x"]) / 6
    with pytest.raises(ValueError, match="stride.*>= 1.*0"):
        DenseTruth(tmp_path, dataset, stride=0)


def test_missing_dense_data(tmp_path):
    dataset, _, _ = write_dataset(tmp_path)
    assert DenseTruth.beside(tmp_path / "elsewhere" / "annotations.json", dataset) is None
    (tmp_path / "dense" / "000006_IUV.png").unlink()
    with pytest.raises(FileNotFoundError, match="image 000006: expected .*000006_IUV.png"):
        DenseTruth(tmp_path, dataset).points(7, DensePoseGroundTruth(dataset).annotated[7])


def test_cli_uses_dense_truth_beside_the_annotations_unless_off(tmp_path, monkeypatch, capsys):
    import densepose_ext.evaluation.__main__ as cli
    from densepose_ext.evaluation.results_file import write_json

    _, iuv, inds = write_dataset(tmp_path)
    write_json(str(tmp_path / "results.json"), [record(7, perfect_from_dense(iuv, BOXES[1]), BOXES[1], 0.9)])
    monkeypatch.setattr(cli, "surface_distance", lambda *args: chart_distance)
    args = ["--gt", str(tmp_path / "annotations.json"), "--results", str(tmp_path / "results.json"), "--surface", "anny"]
    report = cli.main(args + ["--dense-stride", "1", "--plot", str(tmp_path / "rcp.png")])
    pixels = {k: int((inds == k).sum()) for k in (1, 3)}
    assert report["pointwise_dense"]["AUC10"] == pytest.approx(pixels[1] / (pixels[1] + pixels[3]), abs=1e-6)
    assert "dense-truth pixels" in capsys.readouterr().out
    assert Image.open(tmp_path / "rcp.png").size[1] > 900  # two rows of panels: annotated points and dense pixels
    assert "pointwise_dense" not in cli.main(args + ["--dense", "off"])


def test_a_format_1_folder_is_refused_with_the_migration(tmp_path):
    dataset, iuv, _ = write_dataset(tmp_path)
    people = DensePoseGroundTruth(dataset).annotated[7]
    (tmp_path / "synth_config.json").write_text(json.dumps({"format_version": 1, "seed": 0, "size": [H, W]}))
    # Even where the pixels would pass for the reference's layout, the folder's version decides.
    with pytest.raises(ValueError, match=r"synth_config.json: field 'format_version': expected 2, found 1.*R = I.*"
                                         r"python -m densepose_ext.synth migrate"):
        DenseTruth(tmp_path, dataset).points(7, people)
    (tmp_path / "synth_config.json").write_text(json.dumps({"format_version": 2, "seed": 0, "size": [H, W]}))
    assert len(DenseTruth(tmp_path, dataset).points(7, people)["x"]) > 0
    # A format-1 file (red = I) without the version beside it is refused by its pixels.
    Image.fromarray(iuv, mode="RGB").save(tmp_path / "dense" / "000006_IUV.png")
    with pytest.raises(ValueError, match=r"000006_IUV.png: blue channel \(I\).*R = I"):
        DenseTruth(tmp_path, dataset).points(7, people)
