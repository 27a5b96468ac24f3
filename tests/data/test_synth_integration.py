"""End to end on real generated data: DensePose-Synth -> validator -> registration -> mapper -> targets.

The synthetic dataset ships an exact dense IUV image per picture (dense/<stem>_IUV.png, the reference's layout:
B = I, G = U*255, R = V*255).
Mapping that IUV image instead of the photo, with nearest-neighbour resizing, puts under every transformed
point the dense truth of its original pixel. So after any resize, the labels under the points equal the
points' own (I, U, V), and after a flip they equal the body-surface mirror of the points' (flipped) labels.
"""
import copy
import os
import subprocess
import sys

import numpy as np
import pytest
from detectron2.data import DatasetCatalog, MetadataCatalog
from detectron2.data import transforms as T
from PIL import Image

from densepose_ext.data.dataset_mapper import DensePoseDatasetMapper
from densepose_ext.data.dataset_surface import dataset_surface
from densepose_ext.data.datasets import SYNTH_SURFACE, register_densepose_coco
from densepose_ext.data.validate import main as validate_main
from densepose_ext.surface import get_surface
from densepose_ext.surface.parts import FINE_PART_MIRROR

NAME = "densepose_test_synth_integration"


@pytest.fixture(scope="module")
def synth_dicts(tmp_path_factory):
    out = tmp_path_factory.mktemp("synth") / "train"
    subprocess.run(
        [sys.executable, "-m", "densepose_ext.synth", "--out", str(out), "--num-images", "4", "--seed", "0",
         "--size", "320x240", "--no-progress"],
        check=True, capture_output=True,
    )
    assert validate_main([str(out / "annotations.json")]) == 0
    register_densepose_coco(NAME, str(out / "annotations.json"), str(out / "images"), SYNTH_SURFACE)
    dicts = DatasetCatalog.get(NAME)
    # Map the dense IUV truth instead of the photo.
    for d in dicts:
        stem = os.path.splitext(os.path.basename(d["file_name"]))[0]
        d["file_name"] = str(out / "dense" / f"{stem}_IUV.png")
    yield dicts
    DatasetCatalog.remove(NAME)
    MetadataCatalog.remove(NAME)


def _mapped_points(dicts, augmentations):
    """(I, U, V) under every target point in the mapped IUV image, and the targets' own (I, U, V)."""
    # "BGR": detectron2 then keeps the file's (B, G, R) channel order, i.e. (I, U*255, V*255).
    mapper = DensePoseDatasetMapper(is_train=True, augmentations=augmentations, image_format="BGR",
                                    surface=dataset_surface(NAME).load())
    under, own = [], []
    for d in dicts:
        out = mapper(copy.deepcopy(d))
        iuv = out["image"].numpy()  # (3, H, W): I, U*255, V*255
        for t in out["instances"].gt_densepose:
            if t is None:
                continue
            cols, rows = t.x.long().numpy(), t.y.long().numpy()
            under.append(iuv[:, rows, cols].T.astype(np.int64))
            own.append(np.stack([t.i.numpy(), t.u.numpy(), t.v.numpy()], axis=1))
    assert under, "the generated images carry no DensePose points"
    return np.concatenate(under), np.concatenate(own)


def test_resized_points_sit_on_their_dense_truth(synth_dicts):
    under, own = _mapped_points(synth_dicts, [T.ResizeShortestEdge(360, max_size=1000, interp=Image.NEAREST)])
    np.testing.assert_array_equal(under[:, 0], own[:, 0])
    np.testing.assert_allclose(under[:, 1:] / 255.0, own[:, 1:], atol=1 / 255 + 1e-6)


def test_flipped_points_carry_the_mirror_of_their_dense_truth(synth_dicts):
    resize = T.ResizeShortestEdge(360, max_size=1000, interp=Image.NEAREST)
    under, own = _mapped_points(synth_dicts, [resize, T.RandomFlip(prob=1.0)])
    # The image pixels keep their labels; the targets were mirrored: mirroring them back gives the pixels.
    assert (FINE_PART_MIRROR[own[:, 0].astype(np.int64)] == under[:, 0]).all()
    i, u, v = get_surface().mirror_iuv(own[:, 0].astype(np.int64), own[:, 1], own[:, 2])
    np.testing.assert_array_equal(i, under[:, 0])
    # U, V: the PNG stores round(255 * value); allow one more step for the surface's mirror of the chart.
    np.testing.assert_allclose(np.stack([u, v], axis=1), under[:, 1:] / 255.0, atol=2 / 255, rtol=0)
