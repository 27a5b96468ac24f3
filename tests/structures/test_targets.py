import numpy as np
import pytest
import torch
from detectron2.structures import Boxes, Instances

from densepose_ext.structures.targets import DensePoseList, DensePoseTargets


def _targets(num_points: int, offset: float = 0.0, with_mask: bool = True) -> DensePoseTargets:
    """Targets whose every value encodes `offset`, so entries can be told apart after indexing."""
    p = torch.arange(num_points, dtype=torch.float32)
    return DensePoseTargets(
        x=p + offset, y=p * 2 + offset, i=(torch.arange(num_points) % 24) + 1, u=p / 100, v=p / 200,
        coarse_masks=torch.full((256, 256), int(offset) % 15, dtype=torch.uint8) if with_mask else None,
        mask_box=torch.tensor([offset, offset, offset + 10, offset + 20]),
    )


def _offsets(dp_list: DensePoseList) -> list:
    return [None if t is None else float(t.mask_box[0]) for t in dp_list]


def test_targets_reject_inconsistent_shapes():
    t = _targets(3)
    with pytest.raises(ValueError, match=r"DensePoseTargets\.u: expected shape \(3,\)"):
        DensePoseTargets(x=t.x, y=t.y, i=t.i, u=t.u[:2], v=t.v, coarse_masks=None, mask_box=t.mask_box)
    with pytest.raises(ValueError, match=r"coarse_masks: expected shape \(256, 256\), got \(128, 256\)"):
        DensePoseTargets(x=t.x, y=t.y, i=t.i, u=t.u, v=t.v, coarse_masks=t.coarse_masks[:128], mask_box=t.mask_box)
    with pytest.raises(ValueError, match=r"mask_box: expected shape \(4,\)"):
        DensePoseTargets(x=t.x, y=t.y, i=t.i, u=t.u, v=t.v, coarse_masks=None, mask_box=t.mask_box[:2])


def test_select_points_keeps_point_tuples_together():
    t = _targets(5, offset=3.0)
    kept = t.select_points(torch.tensor([True, False, True, False, True]))
    assert len(kept) == 3
    assert kept.x.tolist() == [3.0, 5.0, 7.0]
    assert kept.y.tolist() == [3.0, 7.0, 11.0]
    assert kept.i.tolist() == [1, 3, 5]
    assert torch.equal(kept.u, torch.tensor([0.0, 0.02, 0.04]))
    assert kept.coarse_masks is t.coarse_masks and kept.mask_box is t.mask_box


def test_list_indexing_matches_python_list_semantics():
    entries = [_targets(2, 0.0), None, _targets(4, 2.0), _targets(1, 3.0)]
    dp = DensePoseList(entries)
    assert len(dp) == 4
    assert _offsets(dp[1]) == [None] and isinstance(dp[1], DensePoseList)
    assert _offsets(dp[-1]) == [3.0]
    assert _offsets(dp[np.int64(2)]) == [2.0]
    assert _offsets(dp[1:3]) == [None, 2.0]
    assert _offsets(dp[torch.tensor([True, False, False, True])]) == [0.0, 3.0]
    assert _offsets(dp[torch.tensor([3, 0, 0])]) == [3.0, 0.0, 0.0]
    assert _offsets(dp[torch.tensor([], dtype=torch.long)]) == []
    assert dp.has_targets.tolist() == [True, False, True, True]
    with pytest.raises(IndexError):
        dp[4]
    with pytest.raises(IndexError, match="boolean index of shape"):
        dp[torch.tensor([True, False])]


def test_list_rejects_wrong_entry_type():
    with pytest.raises(TypeError, match="entry 1: expected DensePoseTargets or None, got dict"):
        DensePoseList([None, {"x": 1}])


def test_list_as_instances_field_follows_indexing_cat_and_to():
    first = Instances((60, 80), gt_boxes=Boxes(torch.zeros(3, 4)))
    first.gt_densepose = DensePoseList([_targets(2, 0.0), None, _targets(3, 2.0)])
    second = Instances((60, 80), gt_boxes=Boxes(torch.ones(2, 4)))
    second.gt_densepose = DensePoseList([None, _targets(1, 4.0)])

    assert _offsets(first[torch.tensor([False, True, True])].gt_densepose) == [None, 2.0]
    assert _offsets(first[2].gt_densepose) == [2.0]
    # What ROI heads do when they copy gt fields onto sampled proposals: index with a long tensor.
    assert _offsets(first[torch.tensor([2, 2, 0])].gt_densepose) == [2.0, 2.0, 0.0]

    both = Instances.cat([first, second])
    assert len(both) == 5
    assert _offsets(both.gt_densepose) == [0.0, None, 2.0, None, 4.0]
    assert both.gt_densepose.has_targets.tolist() == [True, False, True, False, True]

    moved = both.to("cpu")  # Instances.to forwards to DensePoseList.to
    assert _offsets(moved.gt_densepose) == [0.0, None, 2.0, None, 4.0]
    entry = next(iter(moved.gt_densepose[2]))
    assert entry.i.dtype == torch.int64 and entry.coarse_masks.dtype == torch.uint8 and entry.device.type == "cpu"

    with pytest.raises(AssertionError):
        first.gt_densepose = DensePoseList([None])  # Instances checks the length of every field


def test_empty_list_cat_and_has_targets():
    empty = DensePoseList([])
    assert len(DensePoseList.cat([empty, empty])) == 0
    assert empty.has_targets.shape == (0,) and empty.has_targets.dtype == torch.bool


def test_list_survives_pickling_as_dataloader_workers_do():
    import pickle

    dp = DensePoseList([_targets(3, 1.0), None])
    back = pickle.loads(pickle.dumps(dp))
    assert _offsets(back) == [1.0, None]
    original, restored = next(iter(dp)), next(iter(back))
    for name in ("x", "y", "i", "u", "v", "coarse_masks", "mask_box"):
        assert torch.equal(getattr(original, name), getattr(restored, name))
