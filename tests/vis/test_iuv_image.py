"""Full-image IUV/INDS compositing: against a per-pixel reference, overlaps by score, PNG layout."""
import numpy as np
import pytest

from densepose_ext.inference_io.detections import ImageDetections
from densepose_ext.vis.iuv_image import composite_iuv, iuv_png_arrays

from .helpers import random_detections, reference_composite


@pytest.mark.parametrize("seed", range(6))
def test_composite_matches_per_pixel_reference(seed):
    rng = np.random.default_rng(seed)
    det = random_detections(rng, n=int(rng.integers(1, 6)))
    full = composite_iuv(det)
    labels, uv, inds = reference_composite(det)
    np.testing.assert_array_equal(full.labels, labels)
    np.testing.assert_array_equal(full.inds, inds)
    np.testing.assert_array_equal(full.uv, uv)


def test_empty_detections_give_background():
    full = composite_iuv(ImageDetections.empty((4, 5)))
    assert full.labels.shape == (4, 5) and not full.labels.any() and not full.inds.any()
    assert full.uv.shape == (2, 4, 5) and not full.uv.any()


def _two_overlapping(scores):
    # two 4x4 people on the same pixels of a 6x6 image, part 3 and part 7
    boxes = np.array([[1, 1, 5, 5], [1, 1, 5, 5]], np.float32)
    labels = (np.full((4, 4), 3, np.uint8), np.full((4, 4), 7, np.uint8))
    uv = (np.full((2, 4, 4), 0.25, np.float32), np.full((2, 4, 4), 0.75, np.float32))
    return ImageDetections((6, 6), boxes, np.asarray(scores, np.float32), labels, uv)


@pytest.mark.parametrize("scores,winner", [((0.9, 0.2), 0), ((0.2, 0.9), 1), ((0.5, 0.5), 0)])
def test_overlap_goes_to_higher_score_and_ties_to_lower_index(scores, winner):
    full = composite_iuv(_two_overlapping(scores))
    assert set(np.unique(full.inds[1:5, 1:5])) == {winner + 1}
    assert set(np.unique(full.labels[1:5, 1:5])) == {(3, 7)[winner]}
    assert full.inds[0].sum() == 0 and full.inds[:, 5].sum() == 0


def test_background_cells_never_hide_a_person_behind():
    det = _two_overlapping((0.9, 0.2))
    det.labels[0][:2] = 0  # top half of the confident person is background
    full = composite_iuv(det)
    np.testing.assert_array_equal(full.inds[1:3, 1:5], 2)
    np.testing.assert_array_equal(full.inds[3:5, 1:5], 1)


def test_result_resampled_to_box_size_and_clipped_to_image():
    # a 2x2 result over a 4x4 box hanging off the top-left corner: each cell covers 2x2 pixels
    labels = np.array([[1, 2], [3, 4]], np.uint8)
    det = ImageDetections((3, 3), np.array([[-1, -1, 3, 3]], np.float32), np.ones(1, np.float32),
                          (labels,), (np.zeros((2, 2, 2), np.float32),))
    np.testing.assert_array_equal(composite_iuv(det).labels, [[1, 2, 2], [3, 4, 4], [3, 4, 4]])


def test_png_arrays_layout_and_rounding():
    det = _two_overlapping((0.9, 0.2))
    iuv, inds = iuv_png_arrays(composite_iuv(det))
    assert iuv.dtype == np.uint8 and iuv.shape == (6, 6, 3)
    np.testing.assert_array_equal(iuv[2, 2], [3, 64, 64])  # round(0.25 * 255) = 64
    np.testing.assert_array_equal(iuv[0, 0], [0, 0, 0])
    assert inds.dtype == np.uint8 and inds[2, 2] == 1


def test_inds_widen_to_uint16_past_255_people():
    n = 300
    boxes = np.array([[k % 20, k // 20, k % 20 + 1, k // 20 + 1] for k in range(n)], np.float32)
    det = ImageDetections((15, 20), boxes, np.ones(n, np.float32), tuple(np.ones((1, 1), np.uint8)
                          for _ in range(n)), tuple(np.zeros((2, 1, 1), np.float32) for _ in range(n)))
    _, inds = iuv_png_arrays(composite_iuv(det))
    assert inds.dtype == np.uint16 and inds.max() == n
    np.testing.assert_array_equal(np.sort(inds.ravel()), np.arange(1, n + 1))


def test_detections_validation_names_field():
    with pytest.raises(ValueError, match=r"uv\[0\].*shape \(2, 2, 2\)"):
        ImageDetections((3, 3), np.zeros((1, 4), np.float32), np.ones(1, np.float32),
                        (np.ones((2, 2), np.uint8),), (np.zeros((2, 3, 3), np.float32),))
    with pytest.raises(ValueError, match="labels.*values <= 24"):
        ImageDetections((3, 3), np.zeros((1, 4), np.float32), np.ones(1, np.float32),
                        (np.full((2, 2), 30, np.uint8),), (np.zeros((2, 2, 2), np.float32),))
