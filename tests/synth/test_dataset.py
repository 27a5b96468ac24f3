"""The rendered dataset against its own dense truth, the surface, the camera and the COCO format."""
import json

import cv2
import numpy as np
import pycocotools.mask as mask_utils
import pytest
from pycocotools.coco import COCO

from densepose_ext.surface import get_surface
from densepose_ext.surface.parts import FINE_TO_COARSE
from densepose_ext.synth.body_model import get_body_model
from densepose_ext.synth.camera import Camera
from densepose_ext.synth.sampling import MAX_POINTS_PER_PART
from densepose_ext.synth.scene import pose_person

from .conftest import NUM_IMAGES, SIZE


def _dense(synth_dir, image):
    stem = image["file_name"].rsplit(".", 1)[0]
    # The reference's layout, read raw: cv2 gives (B, G, R) = (I, U*255, V*255).
    iuv = cv2.imread(str(synth_dir / "dense" / f"{stem}_IUV.png"), cv2.IMREAD_UNCHANGED)
    inds = cv2.imread(str(synth_dir / "dense" / f"{stem}_INDS.png"), cv2.IMREAD_UNCHANGED)
    meta = json.loads((synth_dir / "meta" / f"{stem}.json").read_text())
    return iuv, inds, meta


def _by_image(coco):
    out = {im["id"]: [] for im in coco["images"]}
    for ann in coco["annotations"]:
        out[ann["image_id"]].append(ann)
    return out


def _point_pixels(ann):
    x0, y0, w, h = ann["bbox"]
    px = np.floor(x0 + np.asarray(ann["dp_x"]) * w / 256).astype(int)
    py = np.floor(y0 + np.asarray(ann["dp_y"]) * h / 256).astype(int)
    return px, py


def test_layout_and_pycocotools(synth_dir, synth_coco):
    coco = COCO(str(synth_dir / "annotations.json"))
    assert len(coco.getImgIds()) == NUM_IMAGES
    assert coco.loadCats(1)[0]["name"] == "person" and len(coco.loadCats(1)[0]["keypoints"]) == 17
    with_dp = [a for a in synth_coco["annotations"] if "dp_x" in a]
    assert with_dp, "no annotation carries DensePose points"
    for img in synth_coco["images"]:
        assert (img["height"], img["width"]) == SIZE
        assert cv2.imread(str(synth_dir / "images" / img["file_name"])).shape == (*SIZE, 3)
        for ann in coco.loadAnns(coco.getAnnIds(imgIds=img["id"])):
            assert coco.annToMask(ann).sum() == ann["area"]


def test_validator_accepts_and_rejects_broken_copies(synth_coco):
    validate = pytest.importorskip("densepose_ext.data.validate")
    assert validate.validate_densepose_coco(synth_coco) == []
    ann = next(a for a in synth_coco["annotations"] if "dp_x" in a)
    for field, value in (("dp_U", ann["dp_U"][:-1]), ("dp_I", [30.0] * len(ann["dp_I"]))):
        broken = json.loads(json.dumps(synth_coco))
        next(a for a in broken["annotations"] if a["id"] == ann["id"])[field] = value
        problems = validate.validate_densepose_coco(broken)
        assert problems and all(p.annotation_id == ann["id"] for p in problems), problems
        assert any(field in p.field for p in problems), problems


def test_points_equal_dense_truth(synth_dir, synth_coco):
    for image_id, anns in _by_image(synth_coco).items():
        image = synth_coco["images"][image_id - 1]
        iuv, inds, _ = _dense(synth_dir, image)
        for k, ann in enumerate(anns, start=1):
            mask = mask_utils.decode(ann["segmentation"]).astype(bool)
            np.testing.assert_array_equal(mask, inds == k)  # INDS value k = k-th annotation, JSON order
            if "dp_x" not in ann:
                continue
            px, py = _point_pixels(ann)
            assert np.all(inds[py, px] == k)
            np.testing.assert_array_equal(iuv[py, px, 0], ann["dp_I"])
            # the PNG holds round(U*255) of the exact U in the JSON (which is rounded to 8 decimals)
            np.testing.assert_allclose(iuv[py, px, 1], np.asarray(ann["dp_U"]) * 255, atol=0.5 + 1e-3)
            np.testing.assert_allclose(iuv[py, px, 2], np.asarray(ann["dp_V"]) * 255, atol=0.5 + 1e-3)
            assert len(set(zip(px, py))) == len(px)  # distinct pixels


def test_box_and_coarse_masks_match_truth(synth_dir, synth_coco):
    for image_id, anns in _by_image(synth_coco).items():
        iuv, inds, _ = _dense(synth_dir, synth_coco["images"][image_id - 1])
        for k, ann in enumerate(anns, start=1):
            ys, xs = np.nonzero(inds == k)
            assert ann["bbox"] == [xs.min(), ys.min(), xs.max() - xs.min() + 1, ys.max() - ys.min() + 1]
            if "dp_masks" not in ann:
                continue
            assert len(ann["dp_masks"]) == 14
            labels = np.zeros((256, 256), np.int64)
            for c, rle in enumerate(ann["dp_masks"], start=1):
                if rle:
                    m = mask_utils.decode(rle).astype(bool)
                    assert not np.any(labels[m]), "coarse masks overlap"
                    labels[m] = c
            # the centre of each 256-grid cell, mapped to image px, shows the same coarse part
            x0, y0, w, h = ann["bbox"]
            c = (np.arange(256) + 0.5) / 256
            rows, cols = np.floor(y0 + c * h).astype(int), np.floor(x0 + c * w).astype(int)
            truth = np.where(inds[np.ix_(rows, cols)] == k, FINE_TO_COARSE[iuv[np.ix_(rows, cols)][..., 0]], 0)
            np.testing.assert_array_equal(labels, truth)


def test_point_statistics(synth_coco):
    counts = []
    for ann in synth_coco["annotations"]:
        if "dp_x" not in ann:
            assert ann["num_keypoints"] >= 0 and ann["area"] > 0
            continue
        lengths = {len(ann[f]) for f in ("dp_x", "dp_y", "dp_I", "dp_U", "dp_V")}
        assert len(lengths) == 1
        parts, per_part = np.unique(ann["dp_I"], return_counts=True)
        assert per_part.max() <= MAX_POINTS_PER_PART
        assert set(parts) <= set(range(1, 25))
        counts.append(len(ann["dp_x"]))
    assert 40 <= np.median(counts) <= 170


def test_points_map_back_through_surface_and_camera(synth_dir, synth_coco):
    """(I,U,V) -> surface point -> posed body (re-posed from meta) -> camera lands on the point's pixel."""
    surface, model = get_surface(), get_body_model()
    errors = []
    for image_id, anns in _by_image(synth_coco).items():
        _, _, meta = _dense(synth_dir, synth_coco["images"][image_id - 1])
        camera = Camera.from_json(meta["camera"])
        people = {p["annotation"]: p for p in meta["people"]}
        for k, ann in enumerate(anns, start=1):
            if "dp_x" not in ann:
                continue
            verts, _ = pose_person(model, **people[k])
            face, bary = surface.iuv_to_surface(np.asarray(ann["dp_I"], dtype=np.int64),
                                                np.asarray(ann["dp_U"]), np.asarray(ann["dp_V"]))
            xyz = np.einsum("nk,nkd->nd", bary, verts[surface.faces[face]])
            proj = camera.project(xyz)[:, :2]
            x0, y0, w, h = ann["bbox"]
            target = np.stack([x0 + np.asarray(ann["dp_x"]) * w / 256, y0 + np.asarray(ann["dp_y"]) * h / 256], 1)
            errors.append(np.linalg.norm(proj - target, axis=1))
    errors = np.concatenate(errors)
    assert len(errors) > 100
    assert np.all(errors <= 1.0), f"max {errors.max():.2f} px, {np.mean(errors > 1):.1%} of points above 1 px"


def test_meta_reposes_keypoints(synth_dir, synth_coco):
    model = get_body_model()
    for image_id, anns in _by_image(synth_coco).items():
        _, _, meta = _dense(synth_dir, synth_coco["images"][image_id - 1])
        camera = Camera.from_json(meta["camera"])
        for p in meta["people"]:
            if not p["annotation"]:
                continue
            kp = np.asarray(anns[p["annotation"] - 1]["keypoints"], dtype=np.float64).reshape(17, 3)
            labelled = kp[:, 2] > 0
            proj = camera.project(pose_person(model, **p)[1])[:, :2]
            np.testing.assert_allclose(proj[labelled], kp[labelled, :2], atol=0.01)
