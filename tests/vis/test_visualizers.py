"""Visualizers: colours drawn where they should be, background untouched, contours at known places."""
import cv2
import numpy as np
import pytest

from densepose_ext.inference_io.detections import ImageDetections
from densepose_ext.vis import build_visualizer, composite_iuv
from densepose_ext.vis.iuv_image import FullImageIUV
from densepose_ext.vis.legend import attach_legend
from densepose_ext.vis.palette import colorize_unit_interval, part_colors
from densepose_ext.vis.visualizers import ContourVisualizer


def _one_person():
    """A 20x10 person in a 24x30 gray image: left half part 2, right half part 23; U ramps along x
    (0.025 .. 0.975 over 20 columns), V constant 0.5."""
    labels = np.full((10, 20), 2, np.uint8)
    labels[:, 10:] = 23
    u = np.tile((np.arange(20, dtype=np.float32) + 0.5) / 20, (10, 1))
    uv = np.stack([u, np.full_like(u, 0.5)])
    det = ImageDetections((24, 30), np.array([[5, 7, 25, 17]], np.float32), np.array([0.8], np.float32),
                          (labels,), (uv,))
    return np.full((24, 30, 3), 128, np.uint8), det, composite_iuv(det)


def test_unknown_or_empty_names_are_rejected_with_the_known_list():
    with pytest.raises(ValueError, match="dp_segm.*got 'dp_segm,nope'"):
        build_visualizer("dp_segm,nope")
    with pytest.raises(ValueError, match="bbox"):
        build_visualizer(" , ")


@pytest.mark.parametrize("name", ["dp_segm", "dp_u", "dp_v", "dp_iuv", "dp_contour"])
def test_dense_visualizers_leave_background_untouched(name):
    image, det, iuv = _one_person()
    out = build_visualizer(name).draw(image, det, iuv)
    assert out.shape == image.shape and out.dtype == np.uint8
    np.testing.assert_array_equal(out[iuv.labels == 0][:, :], image[iuv.labels == 0])
    np.testing.assert_array_equal(image, 128)  # input not modified


def test_segm_colours_are_the_part_colours_blended():
    image, det, iuv = _one_person()
    out = build_visualizer("dp_segm").draw(image, det, iuv).astype(np.float32)
    for part, x in ((2, 6), (23, 20)):
        expected = 0.3 * 128 + 0.7 * part_colors()[part].astype(np.float32)
        np.testing.assert_allclose(out[10, x], expected, atol=0.51)
    assert len({tuple(c) for c in part_colors()[1:]}) == 24  # every part its own colour


def test_u_and_v_show_their_own_channel():
    image, det, iuv = _one_person()
    out_u = build_visualizer("dp_u").draw(image, det, iuv)
    out_v = build_visualizer("dp_v").draw(image, det, iuv)
    # V is constant, so every person pixel has the same colour; U ramps, so colours change along x
    person = iuv.labels > 0
    assert len(np.unique(out_v[person], axis=0)) == 1
    assert len(np.unique(out_u[10, 5:25], axis=0)) > 10
    expected = 0.3 * 128 + 0.7 * colorize_unit_interval(iuv.uv[0])[10, 24].astype(np.float32)
    np.testing.assert_allclose(out_u[10, 24], expected, atol=0.51)


def test_iuv_visualizer_encodes_i_u_v_as_colours():
    image, det, iuv = _one_person()
    out = build_visualizer("dp_iuv").draw(image, det, iuv)
    # pixel (10, 20) is box column 15: I = 23, U = 0.775, V = 0.5 ; BGR = (V, U, I * 10)
    np.testing.assert_array_equal(out[10, 20], [128, round(0.775 * 255), 230])


def test_contour_lines_at_level_changes_and_part_boundary():
    image, det, iuv = _one_person()
    u_lines, v_lines, boundaries = ContourVisualizer(levels=10).line_masks(iuv)
    # U level floor(U * 10) changes every 2 box columns: between image columns 6|7, 8|9, ..., but the
    # change at 14|15 coincides with the part boundary, which is drawn instead
    assert sorted(set(np.flatnonzero(u_lines.any(axis=0)))) == [6, 8, 10, 12, 16, 18, 20, 22]
    assert not v_lines.any()
    boundary_columns = set(np.flatnonzero(boundaries[10]))
    assert boundary_columns == {5, 14, 15, 24}  # first/last person column, both sides of part 2|23
    out = ContourVisualizer().draw(image, det, iuv)
    np.testing.assert_array_equal(out[10, 14], ContourVisualizer.boundary_color)
    np.testing.assert_array_equal(out[10, 6], ContourVisualizer.u_color)


def test_bbox_draws_on_the_box_outline_only():
    image, det, iuv = _one_person()
    out = build_visualizer("bbox").draw(image, det, iuv)
    np.testing.assert_array_equal(out[12, 5], (0, 255, 0))
    np.testing.assert_array_equal(out[12, 25], (0, 255, 0))
    np.testing.assert_array_equal(out[12, 15], 128)


def test_combination_draws_in_order_and_legend_goes_to_the_right():
    image, det, iuv = _one_person()
    vis = build_visualizer("dp_segm,bbox")
    drawn = vis.draw(image, det, iuv)
    np.testing.assert_array_equal(drawn, build_visualizer("bbox").draw(
        build_visualizer("dp_segm").draw(image, det, iuv), det, iuv))
    with_legend = vis.render(image, det, iuv, legend=True)
    assert with_legend.shape[1] > image.shape[1] and with_legend.shape[0] >= image.shape[0]
    np.testing.assert_array_equal(with_legend[:24, :30], drawn)
    np.testing.assert_array_equal(vis.render(image, det, iuv, legend=False), drawn)
    assert attach_legend(image, []) is image


def test_part_colours_share_hue_within_a_body_region_only():
    from densepose_ext.surface.parts import FINE_TO_COARSE

    hsv = cv2.cvtColor(part_colors()[None, 1:], cv2.COLOR_BGR2HSV)[0].astype(int)
    hue = hsv[:, 0]  # OpenCV hue in 0..179
    regions = FINE_TO_COARSE[1:]
    same_region = regions[:, None] == regions[None, :]
    hue_gap = np.abs(hue[:, None] - hue[None, :])
    hue_gap = np.minimum(hue_gap, 180 - hue_gap)
    assert (hue_gap[same_region] <= 1).all()
    assert (hue_gap[~same_region] >= 180 // 14 - 1).all()  # 14 regions spread over the wheel


def test_legend_panels_show_every_part_with_its_colour():
    from densepose_ext.vis.legend import _ROW, _WIDTH, swatch_panel

    colors = part_colors()
    panel = build_visualizer("dp_segm").legends()[0]
    assert panel.shape == (25 * _ROW + _ROW // 2, _WIDTH, 3)  # title + 24 parts
    for part in (1, 13, 24):
        np.testing.assert_array_equal(panel[part * _ROW + 6, 8], colors[part])  # inside the swatch
    assert swatch_panel("t", [((1, 2, 3), "x")]).shape[0] == 2 * _ROW + _ROW // 2


def _full_image_line_masks(iuv, levels):
    """The contour rule of ContourVisualizer's docstring, over every pixel of the image."""
    fg = iuv.labels > 0
    level = np.minimum(np.floor(iuv.uv * levels), levels - 1)
    region = iuv.inds.astype(np.int64) * 100 + iuv.labels
    u_lines, v_lines, boundaries = (np.zeros_like(fg) for _ in range(3))
    height, width = fg.shape
    for r in range(height):
        for c in range(width):
            if not fg[r, c]:
                continue
            for dr, dc in ((0, 1), (1, 0), (0, -1), (-1, 0)):
                rr, cc = r + dr, c + dc
                if not (0 <= rr < height and 0 <= cc < width):
                    continue
                if region[rr, cc] != region[r, c]:
                    boundaries[r, c] = True
                elif (dr, dc) in ((0, 1), (1, 0)):
                    u_lines[r, c] |= level[0, r, c] != level[0, rr, cc]
                    v_lines[r, c] |= level[1, r, c] != level[1, rr, cc]
    return u_lines, v_lines, boundaries


@pytest.mark.parametrize("window", [(slice(3, 9), slice(4, 12)), (slice(0, 14), slice(10, 20)),
                                    (slice(0, 0), slice(0, 0))])
def test_contour_lines_equal_the_rule_over_the_whole_image(window):
    rng = np.random.default_rng(0)
    labels = np.zeros((14, 20), np.uint8)
    labels[window] = rng.integers(0, 4, labels[window].shape)  # people touching the image border in one case
    inds = np.where(labels > 0, rng.integers(1, 3, labels.shape), 0).astype(np.int32)
    uv = np.where(labels > 0, rng.random((2, 14, 20)), 0).astype(np.float32)
    iuv = FullImageIUV(labels=labels, uv=uv, inds=inds)
    for ours, expected in zip(ContourVisualizer(levels=5).line_masks(iuv), _full_image_line_masks(iuv, 5)):
        np.testing.assert_array_equal(ours, expected)
