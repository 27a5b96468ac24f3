"""Dense-truth oracle densifier: copies DensePose-Synth's exact labels into the teacher's label format."""
import numpy as np
import torch

from densepose_ext.structures.targets import DensePoseTargets
from densepose_ext.surface.source import SurfaceSource
from densepose_ext.synth.generate import generate
from densepose_ext.teacher.accuracy import evaluate_dense_labels
from densepose_ext.teacher.densify import densify_dataset
from densepose_ext.teacher.truth import DenseTruthLabeller, dense_truth_labels


def _person(box, coarse_value=3):
    coarse = torch.full((256, 256), coarse_value, dtype=torch.uint8)
    return DensePoseTargets(x=torch.zeros(0), y=torch.zeros(0), i=torch.zeros(0, dtype=torch.int64),
                            u=torch.zeros(0), v=torch.zeros(0), coarse_masks=coarse, mask_box=torch.tensor(box))


def test_copies_the_owner_pixels_only():
    iuv = np.zeros((20, 30, 3), np.uint8)
    inds = np.zeros((20, 30), np.uint8)
    iuv[:, :10] = (7, 51, 102)    # person 1 on columns 0-9 ...
    inds[:, :10] = 1
    iuv[:, 10:14] = (2, 255, 0)   # ... person 2 overlapping the right edge of its box
    inds[:, 10:14] = 2
    labels, uv = dense_truth_labels(iuv, inds, _person([0.0, 0.0, 12.0, 20.0]), crop_size=6)
    # cell centres at x = 1, 3, 5, 7, 9, 11: the last column lies on person 2 and stays empty
    assert (labels[:, :5] == 7).all() and (labels[:, 5] == 0).all()
    np.testing.assert_allclose(uv[:, :, :5], np.stack([np.full((6, 5), 0.2), np.full((6, 5), 0.4)]), atol=1e-6)
    assert not uv[:, :, 5].any()
    # a box reaching past the image: cells outside it are 0; a person without mask gets nothing
    labels, _ = dense_truth_labels(iuv, inds, _person([-10.0, 0.0, 10.0, 20.0]), crop_size=4)
    assert (labels[:, :2] == 0).all() and (labels[:, 2:] == 7).all()
    labels, _ = dense_truth_labels(iuv, inds, _person([0.0, 0.0, 12.0, 20.0], coarse_value=0), crop_size=4)
    assert not labels.any()


def test_oracle_labels_beat_the_nearest_point_baseline_over_all_person_pixels(tmp_path):
    from densepose_ext.data import load_densepose_coco_json
    from densepose_ext.teacher.nearest import NearestPointLabeller

    root = tmp_path / "synth"
    generate(root, num_images=2, seed=4, size=(120, 160), progress=False)
    dicts = load_densepose_coco_json(str(root / "annotations.json"), str(root / "images"), "oracle_test")
    reports = {}
    for name, labeller in (("oracle", DenseTruthLabeller(64)), ("nearest", NearestPointLabeller(64))):
        index = densify_dataset(labeller, dicts, str(tmp_path / name), dataset_name="oracle_test", progress=False)
        assert len(index["annotations"]) > 0
        # "oracle_test" is not registered: the labels name no surface of their own, the synthetic data is on anny.
        reports[name] = evaluate_dense_labels(str(tmp_path / name), str(root / "annotations.json"),
                                              SurfaceSource("anny"))
    # At the annotated points the oracle reads pixel centres, not the points' sub-pixel positions (~1-2 cm on
    # these ~100 px people), so only AUC30 is near perfect there; over every person pixel it is the better one.
    assert reports["oracle"]["pointwise"]["AUC30"] > 0.9
    dense = {name: r["pointwise_dense"]["AUC10"] for name, r in reports.items()}
    assert dense["oracle"] > dense["nearest"] + 0.1, dense
