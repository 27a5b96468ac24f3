"""Outputs -> per-person results in the box frame; results container and its encoding."""
import json

import numpy as np
import pytest
import torch

from detectron2.structures import Boxes, Instances

from densepose_ext.modeling.inference import ChartInferenceRule, DensePoseChartPredictions, densepose_chart_inference
from densepose_ext.modeling.predictor import DensePoseChartOutput
from densepose_ext.structures.results import DensePoseResult, DensePoseResultList, box_resolution, decode, encode


def _constant_outputs(n, s=4, k=2):
    z = lambda c: torch.zeros(n, c, s, s)  # noqa: E731
    return DensePoseChartOutput(coarse_segm=z(k), fine_segm=z(25), u=z(25), v=z(25))


OURS = ChartInferenceRule(foreground="background_below_half", clamp_uv=True)


def test_result_size_is_the_truncated_float32_box_size():
    assert box_resolution([10.0, 20.0, 17.0, 23.5]) == (3, 7)  # int(3.5) = 3, not ceil
    assert box_resolution([0.0, 0.0, 0.4, 0.9]) == (1, 1)  # 0 -> 1
    # float32 92.1 - 0.1 rounds to 92.0; in float64 the same float32 corners give 91.9999985 (-> 91)
    assert box_resolution([0.1, 0.0, 92.1, 1.0]) == (1, 92)


def test_reference_rule_labels_uv_unclamped():
    out = _constant_outputs(2)
    out.coarse_segm[:, 1] = 1.0  # person everywhere
    out.coarse_segm[1, 1, :, 2:] = -1.0  # ... except the right half of detection 1
    out.fine_segm[:, 9] = 3.0
    out.u[:, 9] = 0.3
    out.v[:, 9] = 1.7  # not clamped by the reference's rule
    out.u[:, 4] = 0.9  # another part's channel: must not be read
    boxes = torch.tensor([[10.0, 20.0, 17.0, 23.5], [0.0, 0.0, 8.0, 8.0]])
    r0, r1 = densepose_chart_inference(out, boxes)
    assert r0.labels.shape == (3, 7) and r0.uv.shape == (2, 3, 7)
    assert r0.labels.dtype == torch.uint8 and r0.labels.eq(9).all()
    torch.testing.assert_close(r0.uv[0], torch.full((3, 7), 0.3))
    torch.testing.assert_close(r0.uv[1], torch.full((3, 7), 1.7))
    (clamped, _) = densepose_chart_inference(out, boxes, OURS)
    torch.testing.assert_close(clamped.uv[1], torch.ones(3, 7))
    # Background from the coarse segmentation: label 0 and U = V = 0 there.
    assert r1.labels[:, :4].eq(9).all() and r1.labels[:, 4:].eq(0).all()
    assert r1.uv[:, :, 4:].eq(0).all()


def test_result_is_equivariant_to_box_scaling():
    # The same ROI output on a box twice as large gives the 2x nearest-upsampled labels when the
    # maps are piecewise constant on 2x2 blocks of the box grid.
    out = _constant_outputs(1, s=2, k=2)
    out.coarse_segm[:, 1] = 1.0
    out.fine_segm[0, :, 0, 0] = torch.nn.functional.one_hot(torch.tensor(1), 25) * 9.0
    out.fine_segm[0, :, 0, 1] = torch.nn.functional.one_hot(torch.tensor(2), 25) * 9.0
    out.fine_segm[0, :, 1, 0] = torch.nn.functional.one_hot(torch.tensor(3), 25) * 9.0
    out.fine_segm[0, :, 1, 1] = torch.nn.functional.one_hot(torch.tensor(4), 25) * 9.0
    (small,) = densepose_chart_inference(out, torch.tensor([[0.0, 0.0, 2.0, 2.0]]))
    (large,) = densepose_chart_inference(out, torch.tensor([[0.0, 0.0, 4.0, 4.0]]))
    assert small.labels.tolist() == [[1, 2], [3, 4]]
    assert torch.equal(large.labels, small.labels.repeat_interleave(2, 0).repeat_interleave(2, 1))


def test_foreground_rules_differ_where_background_wins_the_argmax_but_is_unlikely():
    out = _constant_outputs(1, s=2, k=15)
    # left column: background is the single most likely coarse label (arg-max) but has probability
    # e / (e + 14 e^0.5) = 0.1, the 14 parts sharing the rest; right column: background at 0.9
    out.coarse_segm[0, 0, :, 0] = 1.0
    out.coarse_segm[0, 1:, :, 0] = 0.5
    out.coarse_segm[0, 0, :, 1] = 2.0 + torch.log(torch.tensor(14 * 9.0))
    out.coarse_segm[0, 1:, :, 1] = 2.0
    out.fine_segm[0, 7] = 3.0
    box = torch.tensor([[0.0, 0.0, 2.0, 2.0]])
    (ours,) = densepose_chart_inference(out, box, OURS)
    assert ours.labels.tolist() == [[7, 0], [7, 0]]
    (reference,) = densepose_chart_inference(out, box)
    assert reference.labels.tolist() == [[0, 0], [0, 0]]


def test_fine_background_is_a_label_only_under_the_reference_rule():
    out = _constant_outputs(1, s=2, k=2)
    out.coarse_segm[0, 1] = 5.0  # person everywhere
    out.fine_segm[0, 0] = 9.0  # the fine background channel wins the 25-way arg-max
    out.fine_segm[0, 7] = 3.0
    out.u[0, 0] = 0.7  # background's U channel: never read
    box = torch.tensor([[0.0, 0.0, 2.0, 2.0]])
    (reference,) = densepose_chart_inference(out, box)
    assert reference.labels.eq(0).all() and reference.uv.eq(0).all()
    (ours,) = densepose_chart_inference(out, box, OURS)
    assert ours.labels.eq(7).all()


def test_empty_inference():
    assert densepose_chart_inference(_constant_outputs(0), torch.zeros(0, 4)) == []


def test_rule_rejects_unknown_names():
    with pytest.raises(ValueError, match="foreground: expected one of .*coarse_argmax.*got 'argmax'"):
        ChartInferenceRule(foreground="argmax")


def test_predictions_field_follows_instances_indexing_and_converts_with_the_final_boxes():
    out = _constant_outputs(3)
    for k in range(3):
        out.coarse_segm[k, 1] = 1.0
        out.fine_segm[k, k + 1] = 5.0
    field = DensePoseChartPredictions(out, OURS)
    inst = Instances((50, 60), pred_boxes=Boxes(torch.tensor([[0.0, 0, 4, 4], [0, 0, 8, 2], [1, 1, 3, 9.5]])))
    inst.pred_densepose = field
    kept = inst[torch.tensor([True, False, True])]
    assert len(kept.pred_densepose) == 2 and kept.pred_densepose.rule == OURS
    kept.pred_boxes.scale(2.0, 2.0)  # as detectron2's postprocess rescales to the output image
    r0, r2 = kept.pred_densepose.to_results(kept.pred_boxes.tensor)
    assert r0.labels.shape == (8, 8) and r0.labels.eq(1).all()
    assert r2.labels.shape == (17, 4) and r2.labels.eq(3).all()
    assert len(kept[0].pred_densepose) == 1 and len(Instances.cat([kept, kept]).pred_densepose) == 4
    for index in (1, np.int64(1)):  # an integer of either kind keeps the detection dimension
        assert kept.pred_densepose[index].outputs.fine_segm.shape == (1, 25, 4, 4)
    assert torch.equal(kept.to("cpu").pred_densepose.outputs.fine_segm, kept.pred_densepose.outputs.fine_segm)


def _random_result(h=5, w=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    labels = torch.randint(0, 25, (h, w), generator=g).to(torch.uint8)
    uv = torch.rand(2, h, w, generator=g) * (labels > 0)
    return DensePoseResult(labels, uv)


def test_encode_decode_round_trip_is_json_safe_and_quantised():
    r = _random_result()
    # Any box: the grid is box-relative (here one of another resolution than the grid's).
    record = json.loads(json.dumps(encode(r, torch.tensor([1.5, 2.0, 11.5, 27.0]))))
    assert record["size"] == [5, 3] and record["box"] == [1.5, 2.0, 11.5, 27.0]
    back, box = decode(record)
    assert torch.equal(back.labels, r.labels)
    assert (back.uv - r.uv).abs().max() <= 0.5 / 255 + 1e-6
    assert box.dtype == torch.float32 and box.tolist() == [1.5, 2.0, 11.5, 27.0]


def test_encode_decode_reject_bad_input():
    with pytest.raises(ValueError, match="box: expected 4 values XYXY, got 3"):
        encode(_random_result(), [0.0, 0.0, 4.0])
    record = encode(_random_result(), [1.5, 2.0, 4.5, 7.0])
    with pytest.raises(ValueError, match="no field 'iuv_png'"):
        decode({k: v for k, v in record.items() if k != "iuv_png"})
    with pytest.raises(ValueError, match=r"field 'iuv_png': expected a PNG of the record's size 4x5 \(W x H\), found 3x5"):
        decode({**record, "size": [5, 4]})
    with pytest.raises(ValueError, match=r"field 'box': expected \[x0, y0, x1, y1\] of 4 finite numbers, found \[1.5, 2.0\]"):
        decode({**record, "box": [1.5, 2.0]})


def test_result_list_indexing_matches_a_list():
    results = [_random_result(seed=k) for k in range(4)]
    lst = DensePoseResultList(results)
    assert lst[2] is results[2] and lst[np.int64(2)] is results[2] and lst[-1] is results[3]
    assert [r is s for r, s in zip(lst[1:3], results[1:3])] == [True, True]
    assert [r is results[k] for r, k in zip(lst[torch.tensor([True, False, False, True])], (0, 3))] == [True] * 2
    assert [r is results[k] for r, k in zip(lst[torch.tensor([3, 1])], (3, 1))] == [True] * 2
    assert len(DensePoseResultList.cat([lst, lst[:1]])) == 5
    with pytest.raises(IndexError):
        lst[torch.tensor([True, False])]


def test_channel_argmax_is_argmax_over_the_first_dimension():
    from densepose_ext.modeling.inference import channel_argmax

    torch.manual_seed(0)
    maps = torch.randn(24, 31, 17)
    maps[3, 5, 5] = maps[7, 5, 5] = 50.0  # a tie: the first channel wins
    maps[:, 0, 0] = 1.0  # all equal
    maps[9, 2, 2] = float("nan")  # NaN counts as the largest, as in argmax
    expected = maps.argmax(0)
    assert expected[5, 5] == 3 and expected[0, 0] == 0 and expected[2, 2] == 9
    assert torch.equal(channel_argmax(maps), expected)
    assert torch.equal(channel_argmax(maps[:, 3]), maps[:, 3].argmax(0))  # (C, P) as the batched rule passes
    assert torch.equal(channel_argmax(maps.transpose(1, 2)), maps.transpose(1, 2).argmax(0))  # any strides
