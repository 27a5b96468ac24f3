"""Full-image IUV/INDS compositing: against a per-pixel reference, overlaps by score, PNG layout; the
_IUV.png reader and writer against files in the reference's layout made by hand."""
import io

import numpy as np
import pytest
from PIL import Image

from densepose_ext.inference_io.detections import ImageDetections
from densepose_ext.vis.iuv_image import composite_iuv, iuv_png_arrays, iuv_png_bytes, read_iuv_png

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


def _planes(seed=0, shape=(5, 7)):
    """Part labels I (1..24, some 0) and U*255, V*255 planes, all uint8, with U != V everywhere."""
    rng = np.random.default_rng(seed)
    i = rng.integers(0, 25, shape).astype(np.uint8)
    u = rng.integers(30, 120, shape).astype(np.uint8)
    v = rng.integers(130, 256, shape).astype(np.uint8)
    return i, u, v


def test_reader_takes_the_reference_layout_blue_is_i(tmp_path):
    i, u, v = _planes()
    # The reference's file by hand, through an RGB writer: red = V*255, green = U*255, blue = I.
    Image.fromarray(np.stack([v, u, i], axis=-1), mode="RGB").save(tmp_path / "ref_IUV.png")
    iuv = read_iuv_png(tmp_path / "ref_IUV.png")
    assert iuv.dtype == np.uint8 and iuv.shape == (5, 7, 3)
    np.testing.assert_array_equal(iuv[..., 0], i)
    np.testing.assert_array_equal(iuv[..., 1], u)
    np.testing.assert_array_equal(iuv[..., 2], v)


def test_writer_puts_i_in_blue_and_v_in_red():
    i, u, v = _planes(1)
    rgb = np.asarray(Image.open(io.BytesIO(iuv_png_bytes(np.stack([i, u, v], axis=-1)))))
    assert rgb.shape == (5, 7, 3)
    np.testing.assert_array_equal(rgb[..., 0], v)  # red
    np.testing.assert_array_equal(rgb[..., 1], u)  # green
    np.testing.assert_array_equal(rgb[..., 2], i)  # blue


def test_reader_refuses_r_equals_i_naming_the_file_and_the_migration(tmp_path):
    i, u, v = _planes(2)
    path = tmp_path / "000003_IUV.png"
    Image.fromarray(np.stack([i, u, v], axis=-1), mode="RGB").save(path)  # red = I: DensePose-Synth format 1
    with pytest.raises(ValueError, match=r"000003_IUV\.png: blue channel \(I\): expected part labels 0\.\.24.*"
                                         r"got values up to \d+;.*R = I.*densepose_ext\.synth migrate"):
        read_iuv_png(path)


def test_reader_refuses_files_that_are_no_iuv_image(tmp_path):
    rng = np.random.default_rng(3)
    noise = tmp_path / "noise_IUV.png"
    Image.fromarray(rng.integers(100, 256, (4, 4, 3)).astype(np.uint8), mode="RGB").save(noise)
    with pytest.raises(ValueError, match="noise_IUV.png: blue channel.*neither blue nor red holds part labels"):
        read_iuv_png(noise)
    gray = tmp_path / "gray_IUV.png"
    Image.fromarray(np.zeros((4, 4), np.uint8)).save(gray)
    with pytest.raises(ValueError, match=r"gray_IUV.png: expected an 8-bit 3-channel IUV PNG.*got 1 channel"):
        read_iuv_png(gray)
    rgba = tmp_path / "rgba_IUV.png"
    Image.fromarray(np.zeros((4, 4, 4), np.uint8), mode="RGBA").save(rgba)
    with pytest.raises(ValueError, match="rgba_IUV.png: expected .*got 4 channel"):
        read_iuv_png(rgba)
    with pytest.raises(FileNotFoundError, match="missing_IUV.png"):
        read_iuv_png(tmp_path / "missing_IUV.png")


def test_writer_refuses_labels_beyond_24_and_wrong_arrays():
    iuv = np.zeros((2, 2, 3), np.uint8)
    iuv[0, 0, 0] = 25
    with pytest.raises(ValueError, match=r"channel 0 \(I\): expected part labels 0..24, got up to 25"):
        iuv_png_bytes(iuv)
    with pytest.raises(ValueError, match=r"expected an \(H, W, 3\) uint8 array.*float32"):
        iuv_png_bytes(np.zeros((2, 2, 3), np.float32))
