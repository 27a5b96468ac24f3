"""DensePose losses: point sampling, mask resampling and the weighted loss terms on tiny inputs."""
import math

import pytest
import torch

from densepose_ext.modeling.losses import (
    densepose_chart_losses,
    points_to_roi_grid,
    resample_masks_to_rois,
    sample_at_points,
    zero_densepose_losses,
)
from densepose_ext.modeling.predictor import DensePoseChartOutput
from densepose_ext.structures.targets import DensePoseTargets

torch.set_num_threads(1)


def slow_sample(maps, roi_index, gx, gy):
    """Per-point loop reference: bilinear interpolation between cell centres, clamped at the edges."""
    n, c, s, _ = maps.shape
    out = torch.zeros(len(gx), c, dtype=maps.dtype)
    for p in range(len(gx)):
        fx = min(max(float(gx[p]) - 0.5, 0.0), s - 1)
        fy = min(max(float(gy[p]) - 0.5, 0.0), s - 1)
        x0, y0 = int(math.floor(fx)), int(math.floor(fy))
        x1, y1 = min(x0 + 1, s - 1), min(y0 + 1, s - 1)
        ax, ay = fx - x0, fy - y0
        m = maps[int(roi_index[p])]
        out[p] = (
            m[:, y0, x0] * (1 - ax) * (1 - ay)
            + m[:, y0, x1] * ax * (1 - ay)
            + m[:, y1, x0] * (1 - ax) * ay
            + m[:, y1, x1] * ax * ay
        )
    return out


def test_sample_5x5_hand_computed():
    # Cell (r, c) holds 5r + c at ROI position (c + 0.5, r + 0.5).
    maps = torch.arange(25.0).reshape(1, 1, 5, 5)
    gx = torch.tensor([0.5, 1.25, 2.5, 4.5, 0.1, 3.0])
    gy = torch.tensor([0.5, 2.0, 2.5, 4.5, 4.9, 0.5])
    got = sample_at_points(maps, torch.zeros(6, dtype=torch.long), gx, gy)[:, 0]
    expected = torch.tensor(
        [
            0.0,  # centre of cell (0, 0)
            5 * 1.5 + 0.75,  # between rows 1, 2 and columns 0, 1 (bilinear of a linear ramp)
            12.0,  # centre of cell (2, 2)
            24.0,  # centre of the last cell
            20.0,  # beyond half a cell from the bottom-left corner: clamped to cell (4, 0)
            2.5,  # halfway between cells (0, 2) and (0, 3)
        ]
    )
    torch.testing.assert_close(got, expected)


def test_sample_matches_slow_reference_and_picks_roi():
    g = torch.Generator().manual_seed(0)
    maps = torch.randn(3, 4, 7, 7, generator=g)
    roi_index = torch.randint(0, 3, (50,), generator=g)
    gx = torch.rand(50, generator=g) * 7
    gy = torch.rand(50, generator=g) * 7
    torch.testing.assert_close(sample_at_points(maps, roi_index, gx, gy), slow_sample(maps, roi_index, gx, gy))
    assert sample_at_points(maps, roi_index[:0], gx[:0], gy[:0]).shape == (0, 4)


def test_sample_gradcheck():
    maps = torch.randn(2, 3, 4, 4, dtype=torch.float64, requires_grad=True)
    roi_index = torch.tensor([0, 1, 1])
    gx = torch.tensor([0.7, 2.3, 3.9], dtype=torch.float64)
    gy = torch.tensor([1.1, 0.2, 3.3], dtype=torch.float64)
    assert torch.autograd.gradcheck(lambda m: sample_at_points(m, roi_index, gx, gy), (maps,))


def test_points_to_roi_grid():
    boxes = torch.tensor([[10.0, 20.0, 30.0, 60.0]]).expand(4, 4)
    x = torch.tensor([10.0, 20.0, 30.0, 9.9])
    y = torch.tensor([20.0, 40.0, 59.0, 30.0])
    gx, gy, inside = points_to_roi_grid(x, y, boxes, 8)
    torch.testing.assert_close(gx, torch.tensor([0.0, 4.0, 8.0, -0.04]))
    torch.testing.assert_close(gy, torch.tensor([0.0, 4.0, 7.8, 2.0]))
    assert inside.tolist() == [True, True, False, False]  # right edge excluded, left of box excluded


def test_resample_masks_identity_and_sub_box():
    g = torch.Generator().manual_seed(1)
    mask = torch.randint(0, 15, (1, 256, 256), generator=g, dtype=torch.uint8)
    box = torch.tensor([[5.0, 7.0, 133.0, 263.0]])
    # Same frame, same resolution: the mask itself.
    assert torch.equal(resample_masks_to_rois(mask, box, box, 256), mask.long())
    # ROI = the top-left quadrant of the mask box (64 x 128 px) at 128x128: ROI cell centres fall on
    # the centres of mask pixels (mask pixels are 0.5 x 1 px here), so the quadrant comes back exactly.
    quadrant = torch.tensor([[5.0, 7.0, 69.0, 135.0]])
    torch.testing.assert_close(resample_masks_to_rois(mask, box, quadrant, 128)[0], mask[0, :128, :128].long())


def test_resample_masks_outside_is_background():
    mask = torch.full((1, 256, 256), 3, dtype=torch.uint8)
    mask_box = torch.tensor([[0.0, 0.0, 100.0, 100.0]])
    roi = torch.tensor([[50.0, 0.0, 150.0, 100.0]])  # right half of the ROI lies outside the mask
    got = resample_masks_to_rois(mask, mask_box, roi, 4)[0]
    assert got[:, :2].eq(3).all() and got[:, 2:].eq(0).all()


def _outputs(n, s=8, k=15, fill=0.0, requires_grad=False):
    def t(c):
        return torch.full((n, c, s, s), fill, requires_grad=requires_grad)

    return DensePoseChartOutput(coarse_segm=t(k), fine_segm=t(25), u=t(25), v=t(25))


def _targets(x, y, i, u, v, mask=None, mask_box=(0.0, 0.0, 16.0, 16.0)):
    return DensePoseTargets(
        x=torch.tensor(x), y=torch.tensor(y), i=torch.tensor(i), u=torch.tensor(u), v=torch.tensor(v),
        coarse_masks=mask, mask_box=torch.tensor(mask_box),
    )


WEIGHTS = {"part_weight": 2.0, "point_regression_weight": 0.5, "index_weight": 3.0}


def test_losses_hand_derived_on_uniform_outputs():
    # All-zero logits: CE = log(#classes). Zero U, V: smooth-L1 = 0.5 * t^2 for |t| < 1, summed.
    # (Uniform outputs cannot tell where a point or a mask cell is read: see the ramp test below.)
    mask = torch.zeros(256, 256, dtype=torch.uint8)
    mask[:, 128:] = 7
    targets = [
        _targets([2.0, 12.0, 20.0], [3.0, 9.0, 5.0], [3, 24, 5], [0.2, 0.4, 0.9], [0.6, 1.0, 0.1], mask),
    ]
    boxes = torch.tensor([[0.0, 0.0, 16.0, 16.0]])  # the third point (x = 20) lies outside
    losses = densepose_chart_losses(_outputs(1), boxes, targets, **WEIGHTS)
    torch.testing.assert_close(losses["loss_densepose_I"], torch.tensor(2.0 * math.log(25)))
    torch.testing.assert_close(losses["loss_densepose_U"], torch.tensor(0.5 * 0.5 * (0.2**2 + 0.4**2)))
    torch.testing.assert_close(losses["loss_densepose_V"], torch.tensor(0.5 * 0.5 * (0.6**2 + 1.0**2)))
    torch.testing.assert_close(losses["loss_densepose_S"], torch.tensor(3.0 * math.log(15)))


def test_losses_hand_derived_on_ramp_outputs_read_each_point_and_mask_cell_in_place():
    """Outputs linear in the ROI position (value of cell (r, c) at its centre (c + 1/2, r + 1/2)), so bilinear
    sampling at ROI position (gx, gy) gives the line's value there: fine logit k = 0.1 k gx - 0.05 k gy, U of part
    k = 0.01 k + 0.1 gx, V of part k = 0.02 k + 0.1 gy, coarse logit 7 = c (others 0). A point read half a cell
    off, with x and y swapped, or from another part's channel, and a mask resampled shifted or mirrored, each
    change a loss."""
    s = 8
    box = (0.0, 0.0, 16.0, 16.0)  # image px -> ROI cells: / 2
    col = torch.arange(s, dtype=torch.float32) + 0.5
    k = torch.arange(25, dtype=torch.float32)[:, None, None]
    gx_map, gy_map = col[None, None, :].expand(1, s, s), col[None, :, None].expand(1, s, s)
    out = _outputs(1, s=s)
    out.fine_segm[0] = 0.1 * k * gx_map - 0.05 * k * gy_map
    out.u[0] = 0.01 * k + 0.1 * gx_map
    out.v[0] = 0.02 * k + 0.1 * gy_map
    out.coarse_segm[0, 7] = col[None, :].expand(s, s) - 0.5  # = column index c
    mask = torch.zeros(256, 256, dtype=torch.uint8)
    mask[:, 128:] = 7  # the box's right half: columns 4..7 of the 8x8 grid
    xs, ys, parts, us, vs = [2.0, 12.0, 20.0], [3.0, 9.0, 5.0], [3, 24, 5], [0.2, 0.4, 0.9], [0.6, 1.0, 0.1]
    losses = densepose_chart_losses(out, torch.tensor([box]), [_targets(xs, ys, parts, us, vs, mask, box)], **WEIGHTS)

    ce_i, sl_u, sl_v = [], [], []
    for x, y, i, u, v in zip(xs[:2], ys[:2], parts[:2], us[:2], vs[:2]):  # the third point lies outside the box
        gx, gy = x / 2, y / 2
        logits = [0.1 * j * gx - 0.05 * j * gy for j in range(25)]
        ce_i.append(math.log(sum(math.exp(z) for z in logits)) - logits[i])
        for errors, d in ((sl_u, 0.01 * i + 0.1 * gx - u), (sl_v, 0.02 * i + 0.1 * gy - v)):
            errors.append(0.5 * d * d if abs(d) < 1 else abs(d) - 0.5)
    ce_s = []
    for c in range(s):  # every row alike: label 0 left of the middle, 7 right of it; logit 7 = c, 14 others 0
        log_z = math.log(14 + math.exp(c))
        ce_s.append(log_z - (c if c >= 4 else 0.0))
    torch.testing.assert_close(losses["loss_densepose_I"], torch.tensor(2.0 * sum(ce_i) / 2))
    torch.testing.assert_close(losses["loss_densepose_U"], torch.tensor(0.5 * sum(sl_u)))
    torch.testing.assert_close(losses["loss_densepose_V"], torch.tensor(0.5 * sum(sl_v)))
    torch.testing.assert_close(losses["loss_densepose_S"], torch.tensor(3.0 * sum(ce_s) / s))


def test_losses_perfect_prediction_is_zero_and_uv_uses_gt_part_channel():
    boxes = torch.tensor([[0.0, 0.0, 8.0, 8.0]])
    out = _outputs(1, s=8, k=2)
    # Part 3 everywhere, confidently; U of part 3 is 0.25, V of part 3 is 0.75; other channels wrong.
    out.fine_segm[:, 3] = 100.0
    out.u[:] = 5.0
    out.v[:] = 5.0
    out.u[:, 3] = 0.25
    out.v[:, 3] = 0.75
    out.coarse_segm[:, 1] = 100.0  # person everywhere
    mask = torch.full((256, 256), 1, dtype=torch.uint8)
    t = [_targets([1.0, 4.5, 7.9], [1.0, 2.0, 7.0], [3, 3, 3], [0.25] * 3, [0.75] * 3, mask, (0.0, 0.0, 8.0, 8.0))]
    losses = densepose_chart_losses(out, boxes, t, **WEIGHTS)
    for name, value in losses.items():
        assert value.item() == pytest.approx(0.0, abs=1e-6), name


def test_two_channel_coarse_segm_uses_person_vs_background():
    boxes = torch.tensor([[0.0, 0.0, 4.0, 4.0]])
    mask = torch.zeros(256, 256, dtype=torch.uint8)
    mask[:, :128] = 14  # left half: head (coarse 14) -> person
    out = _outputs(1, s=4, k=2)
    out.coarse_segm[:, 1, :, :2] = 50.0
    out.coarse_segm[:, 0, :, 2:] = 50.0
    t = [DensePoseTargets(
        x=torch.zeros(0), y=torch.zeros(0), i=torch.zeros(0, dtype=torch.long), u=torch.zeros(0),
        v=torch.zeros(0), coarse_masks=mask, mask_box=torch.tensor([0.0, 0.0, 4.0, 4.0]),
    )]
    assert densepose_chart_losses(out, boxes, t, **WEIGHTS)["loss_densepose_S"].item() < 1e-6


def test_no_supervision_gives_zero_losses_connected_to_every_output():
    out = _outputs(2, requires_grad=True)
    boxes = torch.tensor([[0.0, 0.0, 8.0, 8.0], [1.0, 1.0, 5.0, 5.0]])
    for losses in (
        densepose_chart_losses(out, boxes, [None, None], **WEIGHTS),
        zero_densepose_losses(out),
        densepose_chart_losses(_outputs(0, requires_grad=True), boxes[:0], [], **WEIGHTS),
    ):
        total = sum(losses.values())
        assert total.item() == 0.0
        assert total.requires_grad
    sum(densepose_chart_losses(out, boxes, [None, None], **WEIGHTS).values()).backward()
    for t in (out.coarse_segm, out.fine_segm, out.u, out.v):
        assert t.grad is not None and t.grad.abs().sum() == 0


def test_losses_reject_misaligned_inputs():
    with pytest.raises(ValueError, match="2 outputs, 1 proposal boxes and 2 targets"):
        densepose_chart_losses(_outputs(2), torch.zeros(1, 4), [None, None], **WEIGHTS)


def test_loss_gradient_reaches_sampled_cells_only():
    out = _outputs(1, s=4, k=2, requires_grad=True)
    t = [_targets([1.5], [2.5], [7], [0.3], [0.6])]  # ROI cell (2, 1) centre exactly
    losses = densepose_chart_losses(out, torch.tensor([[0.0, 0.0, 4.0, 4.0]]), t, **WEIGHTS)
    losses["loss_densepose_U"].backward()
    grad = out.u.grad[0]
    assert grad[7, 2, 1] != 0 and grad.abs().sum() == grad[7, 2, 1].abs()
