"""Outputs -> per-person results in the box frame; results container and its encoding."""
import json

import pytest
import torch

from densepose_ext.modeling.inference import densepose_chart_inference
from densepose_ext.modeling.predictor import DensePoseChartOutput
from densepose_ext.structures.results import DensePoseResult, DensePoseResultList, decode, encode


def _constant_outputs(n, s=4, k=2):
    z = lambda c: torch.zeros(n, c, s, s)  # noqa: E731
    return DensePoseChartOutput(coarse_segm=z(k), fine_segm=z(25), u=z(25), v=z(25))


def test_labels_uv_at_box_resolution():
    out = _constant_outputs(2)
    out.coarse_segm[:, 1] = 1.0  # person everywhere
    out.coarse_segm[1, 1, :, 2:] = -1.0  # ... except the right half of detection 1
    out.fine_segm[:, 9] = 3.0
    out.u[:, 9] = 0.3
    out.v[:, 9] = 1.7  # clamped to 1
    out.u[:, 4] = 0.9  # another part's channel: must not be read
    boxes = torch.tensor([[10.0, 20.0, 17.0, 23.5], [0.0, 0.0, 8.0, 8.0]])
    r0, r1 = densepose_chart_inference(out, boxes)
    assert r0.labels.shape == (4, 7) and r0.uv.shape == (2, 4, 7)  # ceil(3.5) x 7
    assert r0.labels.dtype == torch.uint8 and r0.labels.eq(9).all()
    torch.testing.assert_close(r0.uv[0], torch.full((4, 7), 0.3))
    torch.testing.assert_close(r0.uv[1], torch.ones(4, 7))
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


def test_pixel_is_on_the_person_where_background_is_less_likely_than_not():
    out = _constant_outputs(1, s=2, k=15)
    # left column: background is the single most likely coarse label (arg-max) but has probability
    # e / (e + 14 e^0.5) = 0.1, the 14 parts sharing the rest; right column: background at 0.9
    out.coarse_segm[0, 0, :, 0] = 1.0
    out.coarse_segm[0, 1:, :, 0] = 0.5
    out.coarse_segm[0, 0, :, 1] = 2.0 + torch.log(torch.tensor(14 * 9.0))
    out.coarse_segm[0, 1:, :, 1] = 2.0
    out.fine_segm[0, 0] = 9.0  # the never-trained background channel of the fine parts is not a label
    out.fine_segm[0, 7] = 3.0
    (r,) = densepose_chart_inference(out, torch.tensor([[0.0, 0.0, 2.0, 2.0]]))
    assert r.labels.tolist() == [[7, 0], [7, 0]]


def test_empty_inference():
    assert densepose_chart_inference(_constant_outputs(0), torch.zeros(0, 4)) == []


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
    with pytest.raises(ValueError, match="missing field 'iuv_png'"):
        decode({k: v for k, v in record.items() if k != "iuv_png"})
    with pytest.raises(ValueError, match="'iuv_png' is 3x5, size says 4x5"):
        decode({**record, "size": [5, 4]})
    with pytest.raises(ValueError, match=r"field 'box': expected \[x0, y0, x1, y1\], got \[1.5, 2.0\]"):
        decode({**record, "box": [1.5, 2.0]})


def test_result_list_indexing_matches_a_list():
    results = [_random_result(seed=k) for k in range(4)]
    lst = DensePoseResultList(results)
    assert lst[2] is results[2]
    assert [r is s for r, s in zip(lst[1:3], results[1:3])] == [True, True]
    assert [r is results[k] for r, k in zip(lst[torch.tensor([True, False, False, True])], (0, 3))] == [True] * 2
    assert [r is results[k] for r, k in zip(lst[torch.tensor([3, 1])], (3, 1))] == [True] * 2
    assert len(DensePoseResultList.cat([lst, lst[:1]])) == 5
    with pytest.raises(IndexError):
        lst[torch.tensor([True, False])]
