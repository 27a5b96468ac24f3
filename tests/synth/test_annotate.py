"""Annotations from hand-made dense truth with known answers."""
import numpy as np
import pycocotools.mask as mask_utils

from densepose_ext.synth.annotate import MIN_DP_AREA, annotate, dp_masks, keypoints_visibility
from densepose_ext.synth.camera import Camera
from densepose_ext.synth.render import Rendering

H, W = 60, 80
CAMERA = Camera(rotation=np.eye(3), translation=np.zeros(3), focal=(10.0, 10.0), principal=(0.0, 0.0), size=(H, W))


def _rendering(person, part, depth):
    uv = np.stack([np.linspace(0, 1, W)[None].repeat(H, 0), np.linspace(0, 1, H)[:, None].repeat(W, 1)], -1)
    uv = np.where(person[..., None] >= 0, uv, 0).astype(np.float32)
    return Rendering(image=np.zeros((H, W, 3), np.uint8), person=person.astype(np.int16), part=part.astype(np.uint8),
                     uv=uv, depth=depth.astype(np.float32))


def _world(px, py, z):
    """World point (camera = world here) seen at pixel centre (px, py) at depth z."""
    return [(px + 0.5) * z / 10.0, (py + 0.5) * z / 10.0, z]


def test_keypoint_visibility_known_cases():
    person = np.full((H, W), -1)
    person[10:50, 10:40] = 0           # person 0 at depth 2
    person[10:50, 30:40] = 1           # person 1 in front of part of it
    depth = np.where(person >= 0, 2.0, np.inf)
    depth[person == 1] = 1.0
    r = _rendering(person, np.where(person >= 0, 1, 0), depth)
    kps = np.array([_world(20, 20, 2.1),    # on person 0, just behind its surface: visible
                    _world(35, 20, 2.1),    # behind person 1: occluded
                    _world(20, 20, 2.5),    # 0.5 m behind its own surface: self-occluded
                    _world(90, 20, 2.0),    # right of the image: outside
                    [0.0, 0.0, -1.0]] + [_world(15, 15, 2.0)] * 12)
    kp = np.asarray(keypoints_visibility(CAMERA, kps, 0, r)).reshape(-1, 3)
    assert list(kp[:5, 2]) == [2, 1, 1, 0, 0]
    np.testing.assert_allclose(kp[0, :2], [20.5, 20.5], atol=0.011)
    assert list(kp[3, :2]) == [0, 0]


def test_dp_masks_box_frame():
    mask = np.zeros((H, W), bool)
    mask[10:20, 20:28] = True          # an 8 x 10 box
    part = np.zeros((H, W), np.int64)
    part[10:15, 20:28] = 2             # fine 2 (torso front) -> coarse 1, top half
    part[15:20, 20:28] = 23            # fine 23 (head) -> coarse 14, bottom half
    masks = dp_masks(mask, part, [20.0, 10.0, 8.0, 10.0])
    assert len(masks) == 14 and all(m == [] for m in masks[1:13])
    torso, head = mask_utils.decode(masks[0]), mask_utils.decode(masks[13])
    assert torso.shape == (256, 256) and torso[:128].all() and not torso[128:].any()
    assert head[128:].all() and not head[:128].any()


def test_annotate_order_inds_and_dp_threshold():
    person = np.full((H, W), -1)
    person[5:55, 5:45] = 1             # scene person 1: large (2000 px)
    person[2:6, 60:64] = 2             # scene person 2: tiny (16 px); scene person 0 is not visible
    part = np.where(person >= 0, 2, 0)
    part[30:55, 5:45][person[30:55, 5:45] == 1] = 7
    depth = np.where(person >= 0, 2.0, np.inf)
    r = _rendering(person, part, depth)
    keypoints = [np.array([_world(20, 20, 2.0)] * 17)] * 3
    anns, inds, person_to_ann = annotate(CAMERA, keypoints, r)
    assert person_to_ann == [0, 1, 2]
    np.testing.assert_array_equal(inds, np.where(person >= 0, person, 0))
    large, tiny = anns
    assert large["area"] == 2000 >= MIN_DP_AREA and large["bbox"] == [5.0, 5.0, 40.0, 50.0]
    assert "dp_x" in large and "dp_x" not in tiny and "dp_masks" not in tiny
    assert sorted(set(large["dp_I"])) == [2.0, 7.0]
    assert max(np.unique(large["dp_I"], return_counts=True)[1]) <= 14
    # points sit on pixel centres of the person and carry its chart coordinates
    x = 5 + np.asarray(large["dp_x"]) * 40 / 256
    y = 5 + np.asarray(large["dp_y"]) * 50 / 256
    np.testing.assert_allclose(x % 1, 0.5, atol=1e-3)
    np.testing.assert_allclose(np.asarray(large["dp_U"]), r.uv[y.astype(int), x.astype(int), 0], atol=1e-6)
