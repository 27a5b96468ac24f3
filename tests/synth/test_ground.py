import numpy as np

from densepose_ext.synth.camera import look_at
from densepose_ext.synth.ground import ground_hits, paint_ground


def test_ground_hits_known_geometry():
    # camera 1.5 m above the origin looking horizontally along +Y: a pixel k rows below the principal
    # point sees the floor at horizontal distance 1.5 * f / k; rows above the horizon never hit it.
    cam = look_at([0.0, 0.0, 1.5], [0.0, 10.0, 1.5], focal=100.0, size=(40, 60))
    hit, dist = ground_hits(cam)
    rows = np.arange(40) + 0.5 - 20.0
    below = rows > 0
    np.testing.assert_allclose(hit[below, 30, 1], 1.5 * 100.0 / rows[below], rtol=1e-5)
    np.testing.assert_allclose(hit[below, 30, 0], 0.5 / 100.0 * hit[below, 30, 1], rtol=1e-5)  # centre 0.5 px right of axis
    assert np.all(np.isinf(dist[~below]))
    np.testing.assert_allclose(dist[below, 30], np.linalg.norm([hit[below, 30, 0], hit[below, 30, 1], np.full(below.sum(), 1.5)], axis=0), rtol=1e-5)


def test_paint_ground_changes_only_floor_pixels():
    cam = look_at([0.0, 0.0, 1.5], [0.0, 10.0, 1.2], focal=100.0, size=(40, 60))
    for seed in range(10):
        rgb = np.full((40, 60, 3), 0.5, np.float32)
        paint_ground(np.random.default_rng(seed), cam, rgb)
        _, dist = ground_hits(cam)
        assert np.all(rgb[np.isinf(dist)] == 0.5)  # sky untouched
        assert rgb.min() >= 0 and rgb.max() <= 1.2
