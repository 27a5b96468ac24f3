import numpy as np
import pytest

from densepose_ext.synth.raster import rasterize, rasterize_reference


def _random_scene(rng, n_tris=12, size=(20, 24)):
    h, w = size
    screen = np.stack([rng.uniform(-4, w + 4, 3 * n_tris), rng.uniform(-4, h + 4, 3 * n_tris),
                       rng.uniform(1.0, 5.0, 3 * n_tris)], 1)
    return screen, np.arange(3 * n_tris).reshape(-1, 3)


@pytest.mark.parametrize("seed", range(5))
def test_matches_reference(seed):
    screen, faces = _random_scene(np.random.default_rng(seed))
    fast = rasterize(screen, faces, (20, 24))
    ref = rasterize_reference(screen, faces, (20, 24))
    np.testing.assert_array_equal(fast[0], ref[0])
    np.testing.assert_allclose(fast[1], ref[1], atol=1e-5)
    np.testing.assert_array_equal(fast[2], ref[2])


def test_known_pixels_and_nearest_wins():
    # right triangle with legs 4 px: covers pixel centres (x+.5, y+.5) with x + y <= 3 (10 pixels; centres on
    # the hypotenuse count as inside)...
    far = np.array([[0, 0, 2.0], [4, 0, 2.0], [0, 4, 2.0]])
    # ...and a nearer copy shifted one pixel to the right, which must win where both cover a pixel.
    near = far + [1, 0, -1.0]
    face, bary, depth = rasterize(np.concatenate([far, near]), np.array([[0, 1, 2], [3, 4, 5]]), (6, 6))
    expect_far = np.add.outer(np.arange(6), np.arange(6)) <= 3  # [y, x]
    expect_near = np.zeros((6, 6), bool)
    expect_near[:, 1:] = expect_far[:, :-1]
    np.testing.assert_array_equal(face == 1, expect_near)
    np.testing.assert_array_equal(face == 0, expect_far & ~expect_near)
    np.testing.assert_array_equal(face == -1, ~(expect_far | expect_near))
    assert np.all(depth[face == 1] == 1.0) and np.all(np.isinf(depth[face == -1]))
    np.testing.assert_allclose(bary[face >= 0].sum(-1), 1.0, atol=1e-6)


def test_barycentrics_are_perspective_correct():
    # A slanted triangle in camera space: the 3D point interpolated with the returned barycentrics must lie
    # on the ray through the pixel centre (which screen-space interpolation would miss).
    f, c = 50.0, 16.0
    cam = np.array([[-1.0, -1.0, 2.0], [1.5, -0.5, 6.0], [-0.5, 1.5, 3.0]])
    screen = np.stack([f * cam[:, 0] / cam[:, 2] + c, f * cam[:, 1] / cam[:, 2] + c, cam[:, 2]], 1)
    face, bary, depth = rasterize(screen, np.array([[0, 1, 2]]), (32, 32))
    ys, xs = np.nonzero(face == 0)
    assert len(ys) > 20
    pts = bary[ys, xs].astype(np.float64) @ cam
    np.testing.assert_allclose(f * pts[:, 0] / pts[:, 2] + c, xs + 0.5, atol=1e-3)
    np.testing.assert_allclose(f * pts[:, 1] / pts[:, 2] + c, ys + 0.5, atol=1e-3)
    np.testing.assert_allclose(pts[:, 2], depth[ys, xs], rtol=1e-5)


def test_empty_and_behind_camera():
    face, bary, depth = rasterize(np.zeros((0, 3)), np.zeros((0, 3), dtype=np.int64), (4, 5))
    assert face.shape == (4, 5) and np.all(face == -1) and np.all(np.isinf(depth))
    behind = np.array([[0, 0, -1.0], [4, 0, 1.0], [0, 4, 1.0]])
    assert np.all(rasterize(behind, np.array([[0, 1, 2]]), (4, 4))[0] == -1)


def test_bad_shapes_raise():
    with pytest.raises(ValueError, match="screen"):
        rasterize(np.zeros((3, 2)), np.zeros((1, 3), dtype=np.int64), (4, 4))
    with pytest.raises(ValueError, match="faces"):
        rasterize(np.zeros((3, 3)), np.zeros((1, 4), dtype=np.int64), (4, 4))
