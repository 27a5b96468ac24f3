"""Teacher outputs -> dense labels: predictions outside the person are ignored."""
import pytest
import torch

from densepose_ext.modeling.predictor import DensePoseChartOutput
from densepose_ext.teacher.inference import teacher_chart_labels


def _outputs(n=2, s=4):
    g = torch.Generator().manual_seed(0)
    fine = torch.randn(n, 25, s, s, generator=g)
    fine[:, 0] = 100.0  # the network says "background" everywhere
    fine[:, 7] += 5.0  # ... and part 7 is the best foreground part
    u = torch.rand(n, 25, s, s, generator=g)
    v = torch.rand(n, 25, s, s, generator=g)
    return DensePoseChartOutput(coarse_segm=torch.zeros(n, 15, s, s), fine_segm=fine, u=u, v=v)


def test_labels_inside_person_only():
    out = _outputs()
    masks = torch.zeros(2, 4, 4, dtype=torch.bool)
    masks[0, 1:3, :] = True
    masks[1, 0, 0] = True
    labels, uv = teacher_chart_labels(out, masks)
    assert labels.dtype == torch.uint8 and uv.shape == (2, 2, 4, 4)
    # Inside: the best foreground part (background is not a candidate); outside: 0, U = V = 0.
    assert torch.all(labels[masks] == 7)
    assert torch.all(labels[~masks] == 0)
    assert torch.all(uv.permute(1, 0, 2, 3)[:, ~masks] == 0)
    torch.testing.assert_close(uv[:, 0][masks], out.u[:, 7][masks].clamp(0, 1))
    torch.testing.assert_close(uv[:, 1][masks], out.v[:, 7][masks].clamp(0, 1))


def test_outside_predictions_do_not_matter():
    a, b = _outputs(), _outputs()
    masks = torch.zeros(2, 4, 4, dtype=torch.bool)
    masks[:, :2] = True
    b.fine_segm[:, :, 2:] = torch.randn(2, 25, 2, 4)
    b.u[:, :, 2:] = 3.0
    for x, y in zip(teacher_chart_labels(a, masks), teacher_chart_labels(b, masks)):
        torch.testing.assert_close(x, y)


def test_mask_shape_mismatch_is_an_error():
    with pytest.raises(ValueError, match="person_masks of shape"):
        teacher_chart_labels(_outputs(), torch.ones(2, 3, 3, dtype=torch.bool))
