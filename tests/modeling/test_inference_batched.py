"""The batched conversion (densepose_chart_inference) against the per-box slow reference it replaced."""
import pytest
import torch

from densepose_ext.modeling.inference import (ChartInferenceRule, densepose_chart_inference,
                                              densepose_chart_inference_per_box)
from densepose_ext.modeling.predictor import DensePoseChartOutput

RULES = [ChartInferenceRule(), ChartInferenceRule("background_below_half", clamp_uv=True)]
DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


def _outputs(n, s=14, k=2, confidences=False, seed=0, device="cpu"):
    g = torch.Generator().manual_seed(seed)
    r = lambda c: (torch.randn(n, c, s, s, generator=g) * 3).to(device)  # noqa: E731
    extra = dict(sigma_2=r(25), kappa_u=r(25), kappa_v=r(25)) if confidences else {}
    return DensePoseChartOutput(coarse_segm=r(k), fine_segm=r(25), u=r(25) * 0.3 + 0.5, v=r(25) * 0.3 + 0.5, **extra)


def _assert_same(fast, slow):
    assert len(fast) == len(slow)
    for a, b in zip(fast, slow):
        assert a.labels.dtype == b.labels.dtype == torch.uint8 and a.labels.shape == b.labels.shape
        assert torch.equal(a.labels.cpu(), b.labels.cpu())
        assert a.uv.dtype == torch.float32 and a.uv.shape == b.uv.shape
        torch.testing.assert_close(a.uv.cpu(), b.uv.cpu(), rtol=0, atol=1e-6)
        assert a.confidences.keys() == b.confidences.keys()
        for name in a.confidences:
            torch.testing.assert_close(a.confidences[name].cpu(), b.confidences[name].cpu(), rtol=0, atol=1e-5)


BOXES = {
    "single": [[10.0, 20.0, 60.0, 130.0]],
    # fractional corners, boxes smaller and larger than S (down- and upsampling), extents below 1 (-> 1 x 1),
    # a box at the image's top-left border and one ending at a 640 x 480 image's bottom-right border
    "many": [[0.0, 0.0, 37.5, 91.25], [100.3, 40.7, 103.1, 44.9], [5.5, 6.5, 5.9, 6.6], [12.0, 3.0, 250.0, 470.0],
             [602.25, 200.0, 640.0, 480.0], [1.0, 2.0, 15.0, 16.0], [33.3, 44.4, 88.8, 99.9]],
}


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("rule", RULES, ids=["reference_rule", "ours_clamped"])
@pytest.mark.parametrize("case", sorted(BOXES))
@pytest.mark.parametrize("coarse", [2, 15])
def test_batched_equals_per_box_reference(case, rule, coarse, device):
    boxes = torch.tensor(BOXES[case], device=device)
    outputs = _outputs(len(boxes), k=coarse, confidences=coarse == 2, seed=len(boxes) + coarse, device=device)
    fast = densepose_chart_inference(outputs, boxes, rule)
    assert all(r.labels.device.type == device for r in fast)
    _assert_same(fast, densepose_chart_inference_per_box(outputs, boxes, rule))


@pytest.mark.parametrize("s", [7, 28, 112])
def test_batched_equals_reference_over_many_random_boxes(s):
    g = torch.Generator().manual_seed(s)
    corners = torch.rand(40, 2, generator=g) * 300
    extent = torch.rand(40, 2, generator=g) * 250 + 0.2
    boxes = torch.cat([corners, corners + extent], 1)
    outputs = _outputs(40, s=s, k=15, seed=s)
    for rule in RULES:
        _assert_same(densepose_chart_inference(outputs, boxes, rule),
                     densepose_chart_inference_per_box(outputs, boxes, rule))


def test_labels_near_ties_are_the_references():
    # Constant fine logits tie everywhere (the reference's arg-max takes the first channel); a tie guard
    # takes such boxes' labels from F.interpolate, and U, V follow them.
    boxes = torch.tensor(BOXES["many"])
    for rule in RULES:
        tied = _outputs(len(boxes), k=15)
        tied.fine_segm[:, :3] = 1.0
        tied.fine_segm[:, 3:] = 0.0
        tied.fine_segm[:2, 5] = 1.0 + 1e-7  # within rounding: a tie for the guard
        _assert_same(densepose_chart_inference(tied, boxes, rule), densepose_chart_inference_per_box(tied, boxes, rule))


def test_empty_and_mismatch():
    assert densepose_chart_inference(_outputs(0), torch.zeros(0, 4)) == []
    with pytest.raises(ValueError, match="2 outputs for 3 boxes"):
        densepose_chart_inference(_outputs(2), torch.zeros(3, 4))
